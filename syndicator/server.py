"""The HTTP side of ``serve`` and ``run``: Starlette on uvicorn.

    /             the published folder: feed content types, strong ETag + Last-Modified,
                  304 on If-None-Match / If-Modified-Since, gzip, Cache-Control from the
                  shortest feed interval; anything outside the folder is a 404
    /healthz      200 "ok" while the service is healthy, 503 and the reason otherwise
    /status       the status document as a page for people
    /status.json  the status document (`syndicator status --json`)
    /metrics      Prometheus text format (metrics.py)

``serve`` is this server alone; ``run`` adds the scheduler (service.py) and hands in its own
health check and status. Everything a request needs comes in through ``Site``: no globals.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import hashlib
import logging
import signal
import socket
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from syndicator.config import DEFAULT_INTERVAL, Config
from syndicator.metrics import Metrics
from syndicator.status import status_document
from syndicator.store import Store

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".ics": "text/calendar; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
OTHER_TYPE = "application/octet-stream"
GZIP_MIN_SIZE = 256  # smaller bodies gain nothing from gzip
CACHED_FILES = 512  # published files kept hashed (and gzipped) in memory
SHUTDOWN_GRACE = 3  # seconds open connections get to finish when the server stops

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("syndicator", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True, slots=True)
class Site:
    """What the server serves, as callables so a reloaded configuration is seen at once."""

    config: Callable[[], Config]
    status: Callable[[], Awaitable[dict[str, Any]]]  # the status document
    health: Callable[[], str | None]  # None when healthy, else why not
    metrics: Metrics


def static_site(config: Config) -> Site:
    """What ``serve`` serves: the files and the stored status, no scheduler."""

    def read_status() -> dict[str, Any]:
        with Store(config.storage.database, create=False) as store:
            return status_document(config, store)

    async def status() -> dict[str, Any]:
        return await asyncio.to_thread(read_status)

    return Site(config=lambda: config, status=status, health=lambda: None, metrics=Metrics())


def create_app(site: Site) -> Starlette:
    files = _FileCache()

    async def healthz(request: Request) -> Response:
        problem = site.health()
        if problem is None:
            return PlainTextResponse("ok\n", headers=_NO_STORE)
        return PlainTextResponse(f"unhealthy: {problem}\n", status_code=503, headers=_NO_STORE)

    async def status_json(request: Request) -> Response:
        return JSONResponse(await site.status(), headers=_NO_STORE)

    async def status_page(request: Request) -> Response:
        page = _TEMPLATES.get_template("status.html").render(doc=await site.status())
        return HTMLResponse(page, headers=_NO_STORE)

    async def metrics(request: Request) -> Response:
        body = site.metrics.exposition(await site.status())
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers=_NO_STORE)

    async def published(request: Request) -> Response:
        config = site.config()
        target = published_target(config.storage.output_dir, request.url.path)
        if target is None:
            return _not_found()
        try:
            file = await asyncio.to_thread(files.get, target)
        except OSError:  # gone between the check and the read (a publish renamed it)
            return _not_found()
        return _file_response(request, file, cache_seconds(config))

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/status", status_page),
            Route("/status.json", status_json),
            Route("/metrics", metrics),
            Route("/{path:path}", published),
        ]
    )


_NO_STORE = {"Cache-Control": "no-store"}


def _not_found() -> Response:
    return PlainTextResponse("not found\n", status_code=404)


def cache_seconds(config: Config) -> int:
    """Readers need not ask again sooner than the shortest interval of an enabled feed."""
    intervals = [feed.interval for feed in config.enabled_feeds] or [DEFAULT_INTERVAL]
    return max(1, int(min(intervals) / timedelta(seconds=1)))


def published_target(root: Path, url_path: str) -> Path | None:
    """The file in ``root`` that ``url_path`` names, or None when it names nothing we serve.

    ``url_path`` is already percent-decoded, so ``/%2e%2e/feeds.yaml`` arrives as
    ``/../feeds.yaml``. Refused: ``.`` and ``..`` segments, empty segments (``//x``),
    hidden names (publish's temp files start with a dot), backslashes, NUL, and anything
    that resolves outside ``root`` (a symlink out of the folder). ``/`` and folders
    serve their ``index.html``.
    """
    if "\\" in url_path or "\x00" in url_path or not url_path.startswith("/"):
        return None
    relative = url_path[1:]
    if relative == "" or relative.endswith("/"):
        relative += "index.html"
    parts = relative.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    try:
        base = root.resolve(strict=True)
        target = base.joinpath(*PurePosixPath(*parts).parts).resolve(strict=True)
    except (OSError, ValueError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


# --- files ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _File:
    body: bytes
    etag: str  # strong: a hash of the bytes
    modified_at: int  # Unix time, whole seconds (HTTP dates have no more)
    content_type: str
    gzipped: bytes | None  # None when not worth it


class _FileCache:
    """Published files with their hash and gzip, redone only when the file changes on disk.

    Keyed by path and checked against (mtime, size, inode) on every request: publish
    replaces files by rename, which always gives a new inode.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: OrderedDict[Path, tuple[tuple[int, int, int], _File]] = OrderedDict()

    def get(self, path: Path) -> _File:
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            cached = self._files.get(path)
            if cached is not None and cached[0] == key:
                self._files.move_to_end(path)
                return cached[1]
        file = _load(path, stat.st_mtime)
        with self._lock:
            self._files[path] = (key, file)
            self._files.move_to_end(path)
            while len(self._files) > CACHED_FILES:
                self._files.popitem(last=False)
        return file


def _load(path: Path, mtime: float) -> _File:
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:32]
    gzipped = gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_SIZE else None
    return _File(
        body=body,
        etag=f'"{digest}"',
        modified_at=int(mtime),
        content_type=CONTENT_TYPES.get(path.suffix.lower(), OTHER_TYPE),
        gzipped=gzipped,
    )


def _file_response(request: Request, file: _File, max_age: int) -> Response:
    use_gzip = file.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding"))
    # A strong ETag names one representation: the gzipped bytes get their own.
    etag = file.etag[:-1] + '-gzip"' if use_gzip else file.etag
    headers = {
        "ETag": etag,
        "Last-Modified": email.utils.formatdate(file.modified_at, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(request, file):
        return Response(status_code=304, headers=headers)
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
        return Response(file.gzipped, headers=headers, media_type=file.content_type)
    return Response(file.body, headers=headers, media_type=file.content_type)


def _not_modified(request: Request, file: _File) -> bool:
    """RFC 9110 13.1.2 / 13.2.2: If-None-Match wins; If-Modified-Since only without it.

    If-None-Match uses the weak comparison, and either representation's tag matches: they
    are the same bytes once decoded.
    """
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        mine = {file.etag, file.etag[:-1] + '-gzip"'}
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or bool(mine & tags)
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        since_time = email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    if since_time.tzinfo is None:
        return False
    return file.modified_at <= since_time.timestamp()


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding value allows gzip (``gzip;q=0`` refuses it)."""
    if not header:
        return False
    wildcard: float | None = None
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip().lower()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        name = name.strip().lower()
        if name in ("gzip", "x-gzip"):
            return quality > 0
        if name == "*":
            wildcard = quality
    return wildcard is not None and wildcard > 0


# --- listening ------------------------------------------------------------------------------


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port), bound before serving so the
    URL is known first (``demo`` writes it into its feeds.yaml)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the caller decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """The app served on an already bound socket, inside the caller's event loop."""

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,  # the command line configured logging (uvicorn's lines at DEBUG)
            access_log=log.isEnabledFor(logging.DEBUG),
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            server_header=False,
        )
        self._server = _Server(config)
        self._sock = sock

    async def serve(self) -> None:
        await self._server.serve(sockets=[self._sock])

    def stop(self) -> None:
        self._server.should_exit = True


async def serve_until_signalled(server: HttpServer) -> None:
    """Serve until SIGTERM or SIGINT, then close the socket and return."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stopper(server, sig))
    try:
        await server.serve()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _stopper(server: HttpServer, sig: signal.Signals) -> Callable[[], None]:
    def stop() -> None:
        log.info("received %s, stopping the server", sig.name)
        server.stop()

    return stop
