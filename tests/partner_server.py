"""A real HTTP server that plays partner feeds in tests.

It listens on 127.0.0.1 on an ephemeral port, in a daemon thread, and serves whatever the
test put on each path, including the ways real partners misbehave: slow bodies, gzip,
redirects, error statuses, Retry-After. It answers conditional requests with 304 and logs
every request so tests can assert what the client sent::

    with PartnerServer() as server:
        server.set("/rss", RSS_BYTES, content_type="application/rss+xml")
        server.redirect("/old", "/rss", status=301)
        ...  # fetch server.url("/rss"), e.g. run `syndicator fetch` in a subprocess
        sent = server.requests_for("/rss")[-1].headers  # lower-cased names
        assert sent["if-none-match"] == server.etag_for(RSS_BYTES)

Routes can be changed while serving. Import it as ``from partner_server import PartnerServer``:
pytest puts tests/ on sys.path (it has no __init__.py), and mypy knows the file by that name.
"""

from __future__ import annotations

import email.utils
import enum
import gzip as gzip_module
import hashlib
import logging
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal, NamedTuple, Self, cast

__all__ = ["AUTO", "DEFAULT_LAST_MODIFIED", "LoggedRequest", "PartnerServer"]

log = logging.getLogger(__name__)

DEFAULT_LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


class _Auto(enum.Enum):
    AUTO = "auto"


AUTO: Literal[_Auto.AUTO] = _Auto.AUTO
"""Default for ``PartnerServer.set(etag=...)``: the quoted sha1 of the body."""


class LoggedRequest(NamedTuple):
    """One request as received: method, path (with query string), headers (lower-cased names)."""

    method: str
    path: str
    headers: dict[str, str]
    received_at: float = 0.0  # time.monotonic() when the request line was read


@dataclass(frozen=True, slots=True)
class _Route:
    body: bytes  # as sent on the wire (already gzipped when gzip=True)
    content_type: str
    status: int
    headers: tuple[tuple[str, str], ...]
    etag: str | None
    last_modified: str | None
    delay: float
    delay_per_chunk: float
    chunk_size: int
    chunked: bool


class PartnerServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 serving per-path routes set by the test.

    Use it as a context manager, or call ``start()`` and ``stop()``. Thread-safe: routes may
    be set and the log read from the test thread while requests are being served.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._log: list[LoggedRequest] = []
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------

    def _handler_class(self) -> type[_Handler]:
        """The request handler; a subclass that answers differently returns its own."""
        return _Handler

    def start(self) -> Self:
        """Bind the port and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._stopping.clear()
        httpd = _HTTPServer(self._address, self._handler_class())
        httpd.partner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port; slow responses in progress are cut short."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses ------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (only while started)."""
        if self._httpd is None:
            raise RuntimeError("PartnerServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` without a trailing slash."""
        return f"http://{self._address[0]}:{self.port}"

    def url(self, path: str) -> str:
        """The full URL of ``path`` (which starts with "/")."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        return self.base_url + path

    # --- routes ---------------------------------------------------------------------

    def set(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        headers: dict[str, str] | None = None,
        status: int = 200,
        etag: str | Literal[_Auto.AUTO] | None = AUTO,
        last_modified: str | None = DEFAULT_LAST_MODIFIED,
        delay: float = 0.0,
        delay_per_chunk: float = 0.0,
        chunk_size: int = 1024,
        gzip: bool = False,
        chunked: bool = False,
    ) -> None:
        """Serve ``body`` at ``path`` (exact match; a query string is tried first, then ignored).

        - ``headers``: extra response headers, e.g. ``{"Retry-After": "120"}``,
          ``{"Location": "/new"}`` or ``{"Content-Encoding": "gzip"}`` for a body you
          compressed yourself.
        - ``status``: any status; 200 responses answer If-None-Match / If-Modified-Since
          with 304 using ``etag`` (default: quoted sha1 of ``body``; None sends no ETag)
          and ``last_modified`` (None sends no Last-Modified).
        - ``delay``: seconds before the status line.
        - ``delay_per_chunk``: seconds before each ``chunk_size``-byte write of the body,
          for slow-body and deadline tests.
        - ``gzip``: compress ``body`` and send ``Content-Encoding: gzip``.
        - ``chunked``: ``Transfer-Encoding: chunked`` instead of Content-Length.
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        extra = dict(headers or {})
        wire_body = body
        if gzip:
            wire_body = gzip_module.compress(body, compresslevel=6, mtime=0)
            extra["Content-Encoding"] = "gzip"
        route = _Route(
            body=wire_body,
            content_type=content_type,
            status=status,
            headers=tuple(extra.items()),
            etag=self.etag_for(body) if etag is AUTO else etag,
            last_modified=last_modified,
            delay=delay,
            delay_per_chunk=delay_per_chunk,
            chunk_size=chunk_size,
            chunked=chunked,
        )
        with self._lock:
            self._routes[path] = route

    def redirect(self, path: str, location: str, *, status: int = 302) -> None:
        """Answer ``path`` with ``status`` (301, 302, 303, 307, 308) and ``Location: location``.

        ``location`` may be relative ("/feed", "../feed") or absolute.
        """
        self.set(
            path,
            b"",
            content_type="text/plain; charset=utf-8",
            headers={"Location": location},
            status=status,
            etag=None,
            last_modified=None,
        )

    def remove(self, path: str) -> None:
        """Forget ``path``: it answers 404 again."""
        with self._lock:
            self._routes.pop(path, None)

    @staticmethod
    def etag_for(body: bytes) -> str:
        """The ETag ``set`` gives ``body`` by default: the quoted sha1 hex digest."""
        return '"' + hashlib.sha1(body).hexdigest() + '"'

    # --- request log ----------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of every request received so far, in arrival order."""
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str) -> list[LoggedRequest]:
        """The requests whose path (query string ignored) is ``path``."""
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._log.clear()

    # --- used by the handler --------------------------------------------------------

    def _record(self, request: LoggedRequest) -> None:
        with self._lock:
            self._log.append(request)

    def _route(self, path: str) -> _Route | None:
        with self._lock:
            return self._routes.get(path) or self._routes.get(path.split("?", 1)[0])

    def _sleep(self, seconds: float) -> bool:
        """Sleep; False when the server is stopping (the caller should give up)."""
        return seconds <= 0 or not self._stopping.wait(seconds)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for clients that keep a connection open
    partner: PartnerServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up mid-response are expected (deadlines, size caps): stay quiet.
        # Anything else is a bug in this helper: log it where pytest shows it.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        log.exception("PartnerServer: error while handling a request from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PartnerServer/1.0"
    timeout = 30  # seconds an idle keep-alive connection (or a stalled write) may last

    def log_message(self, format: str, *args: object) -> None:
        """Silence http.server's stderr access log."""

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        partner = cast(_HTTPServer, self.server).partner
        headers = {name.lower(): value for name, value in self.headers.items()}
        partner._record(LoggedRequest(self.command, self.path, headers, time.monotonic()))
        route = partner._route(self.path)
        try:
            if route is None:
                self._send(404, b"not found\n", "text/plain; charset=utf-8", (), send_body)
                return
            if not partner._sleep(route.delay):
                self.close_connection = True
                return
            if route.status == 200 and _not_modified(route, headers):
                self.send_response(304)
                self._validators(route)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send_route(partner, route, send_body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client gave up: fine

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra: tuple[tuple[str, str], ...],
        send_body: bool,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _send_route(self, partner: PartnerServer, route: _Route, send_body: bool) -> None:
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        if route.status == 200:
            self._validators(route)
        for name, value in route.headers:
            self.send_header(name, value)
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if not send_body:
            return
        body = route.body
        slow = route.delay_per_chunk > 0
        if not slow and not route.chunked:
            self.wfile.write(body)
            return
        for start in range(0, len(body), route.chunk_size):
            if slow and not partner._sleep(route.delay_per_chunk):
                self.close_connection = True
                return
            piece = body[start : start + route.chunk_size]
            if route.chunked:
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                self.wfile.write(piece)
        if route.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _validators(self, route: _Route) -> None:
        if route.etag is not None:
            self.send_header("ETag", route.etag)
        if route.last_modified is not None:
            self.send_header("Last-Modified", route.last_modified)


def _not_modified(route: _Route, headers: dict[str, str]) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since only without it."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if route.etag is None:
            return False
        tags = {_weak_strip(tag) for tag in if_none_match.split(",")}
        return "*" in tags or _weak_strip(route.etag) in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None or route.last_modified is None:
        return False
    since = _http_date(if_modified_since)
    modified = _http_date(route.last_modified)
    return since is not None and modified is not None and modified <= since


def _weak_strip(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def _http_date(value: str) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
