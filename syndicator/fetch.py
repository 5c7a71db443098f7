"""Partner feeds over HTTP: one pass of conditional GETs, every outcome a typed result.

``fetch_all(requests)`` fetches every feed concurrently and returns one ``FetchResult`` per
request, in request order; it never raises for a feed's failure. Each fetch::

    check URL scheme | resolve host, refuse private addresses | GET (conditional)
      | 301/302/303/307/308: follow ourselves, at most MAX_REDIRECTS, re-checking each hop
      | 304: not_modified | 2xx: stream, decode, stop past max_size, hash
      | 4xx/5xx, network, TLS, deadline: failed, with an operator sentence

httpx traps handled here (STACK-NOTES.md; each has a test in tests/test_fetch.py):

- httpx's ``timeout`` is per phase, so a partner dribbling one byte per second never times
  out: the whole fetch, redirects included, runs under ``asyncio.timeout``;
- a size cap counted before decoding does not bound gzip bodies, and ``aiter_bytes`` decodes
  a whole network read at once (64 KiB of gzip can become 64 MiB): we read raw bytes and
  decode them ourselves in bounded pieces, counting decoded bytes;
- httpx follows redirects to any address: we follow them ourselves, checking scheme and
  resolved address on every hop;
- one client with a big pool is CPU-bound at high concurrency (encode/httpx#3215): one
  client per ``POOL_PER_CLIENT`` connections, feeds assigned to a client by host so
  keep-alive connections are still shared; the default concurrency uses one client.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import ipaddress
import logging
import math
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Literal, TypeVar
from urllib.parse import urlsplit

import httpx

__all__ = [
    "ACCEPT",
    "MAX_REDIRECTS",
    "FetchRequest",
    "FetchResult",
    "fetch_all",
    "fetch_one",
    "is_public_address",
]

log = logging.getLogger(__name__)

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)
# Only codings we decode ourselves with a bounded output size (see _Decoder).
ACCEPT_ENCODING = "gzip, deflate"
MAX_REDIRECTS = 5
POOL_PER_CLIENT = 20

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_PIECE = 64 * 1024  # largest decoded piece produced at once

Outcome = Literal["ok", "not_modified", "failed"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_E = TypeVar("_E", bound=BaseException)


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """What to fetch, and what we remember from the last time."""

    feed_id: str
    url: str
    timeout: float  # seconds: total deadline for the whole fetch incl. redirects
    max_size: int  # max decoded body bytes
    allow_private_networks: bool
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # sha256 hex of the last body we parsed


@dataclass(frozen=True, slots=True)
class FetchResult:
    """How one fetch ended. ``error`` is a sentence for operators, starting with the feed id."""

    feed_id: str
    url: str  # requested
    final_url: str  # after redirects (the last URL tried when failed)
    outcome: Outcome
    status: int | None  # last HTTP status, None if no response
    body: bytes | None  # decoded body, only when outcome == "ok"
    content_type: str | None
    etag: str | None  # validators to store for next time (the old ones unless renewed)
    last_modified: str | None
    body_hash: str | None
    error: str | None
    error_kind: str | None  # http, timeout, too_large, network, tls, redirects,
    #                         private_address, bad_url, internal
    permanent_redirect: str | None  # new URL when 301/308 were followed: update feeds.yaml
    retry_after: float | None  # seconds, from Retry-After on 429/503
    fetched_at: datetime  # aware UTC, start of the fetch
    duration: float  # seconds


async def fetch_all(
    requests: Sequence[FetchRequest],
    *,
    user_agent: str,
    concurrency: int = 20,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """Fetch every request, at most ``concurrency`` at a time; results in request order.

    ``on_result`` is called with each result as it completes (e.g. to advance a progress
    bar); an exception in it is logged and ignored. Never raises for a feed's failure.
    """
    if not requests:
        return []
    concurrency = max(1, concurrency)
    client_count = math.ceil(concurrency / POOL_PER_CLIENT)
    pool_size = math.ceil(concurrency / client_count)
    overall = asyncio.Semaphore(concurrency)

    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(_new_client(pool_size)) for _ in range(client_count)
        ]
        gates = [asyncio.Semaphore(pool_size) for _ in clients]

        async def run(request: FetchRequest) -> FetchResult:
            shard = _shard(request.url, client_count)
            async with gates[shard], overall:
                result = await fetch_one(clients[shard], request, user_agent)
            if on_result is not None:
                try:
                    on_result(result)
                except Exception:
                    log.exception("%s: the on_result callback failed", request.feed_id)
            return result

        return list(await asyncio.gather(*(run(r) for r in requests)))


async def fetch_one(
    client: httpx.AsyncClient, request: FetchRequest, user_agent: str
) -> FetchResult:
    """Fetch one feed with ``client`` (which must not follow redirects). Never raises.

    ``request.timeout`` bounds everything: address checks, every redirect hop and the body.
    """
    fetched_at = datetime.now(UTC)
    started = time.monotonic()
    trail = _Trail(url=request.url)
    try:
        async with asyncio.timeout(request.timeout):
            done = await _fetch(client, request, user_agent, trail)
    except TimeoutError:
        failure = _Failure(
            "timeout",
            f"{request.feed_id}: no complete response within {request.timeout:g} s from "
            f"{trail.url} (the timeout covers the whole fetch, redirects included)",
        )
    except _Failure as exc:
        failure = exc
    except Exception as exc:  # last resort: one feed's bug must not end the pass
        log.exception("%s: unexpected error while fetching %s", request.feed_id, trail.url)
        failure = _Failure(
            "internal",
            f"{request.feed_id}: unexpected error while fetching {trail.url}: "
            f"{type(exc).__name__}: {exc}",
        )
    else:
        result = FetchResult(
            feed_id=request.feed_id,
            url=request.url,
            final_url=trail.url,
            outcome=done.outcome,
            status=trail.status,
            body=done.body,
            content_type=done.content_type,
            etag=done.etag,
            last_modified=done.last_modified,
            body_hash=done.body_hash,
            error=None,
            error_kind=None,
            permanent_redirect=trail.permanent_redirect,
            retry_after=None,
            fetched_at=fetched_at,
            duration=time.monotonic() - started,
        )
        _log_success(result)
        return result

    result = FetchResult(
        feed_id=request.feed_id,
        url=request.url,
        final_url=trail.url,
        outcome="failed",
        status=trail.status,
        body=None,
        content_type=None,
        etag=request.etag,
        last_modified=request.last_modified,
        body_hash=request.body_hash,
        error=failure.message,
        error_kind=failure.kind,
        permanent_redirect=trail.permanent_redirect,
        retry_after=failure.retry_after,
        fetched_at=fetched_at,
        duration=time.monotonic() - started,
    )
    # DEBUG: the pipeline logs each feed's outcome once, at INFO or WARNING.
    log.debug("%s", failure.message)
    return result


def is_public_address(address: IPAddress) -> bool:
    """True when ``address`` is a public unicast address a partner feed may live on.

    False for loopback, private, link-local, multicast, reserved, unspecified, shared
    (100.64/10, where some clouds put metadata services) and site-local addresses, and for
    IPv6 addresses that embed such an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4).
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address.sixtofour is not None and not is_public_address(address.sixtofour):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


# --- one fetch ------------------------------------------------------------------------


class _Failure(Exception):
    def __init__(self, kind: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


@dataclass(slots=True)
class _Trail:
    """Where the fetch has got to; read when the deadline cuts it short."""

    url: str
    status: int | None = None
    permanent_redirect: str | None = None
    only_permanent: bool = True  # every redirect so far was 301/308


@dataclass(frozen=True, slots=True)
class _Done:
    outcome: Literal["ok", "not_modified"]
    body: bytes | None
    content_type: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None


async def _fetch(
    client: httpx.AsyncClient, request: FetchRequest, user_agent: str, trail: _Trail
) -> _Done:
    headers = {
        "User-Agent": user_agent,
        "Accept": ACCEPT,
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified

    url = _checked_url(request, request.url, came_from=None)
    redirects = 0
    while True:
        trail.url = str(url)
        if not request.allow_private_networks:
            await _refuse_private(request, url)
        try:
            async with client.stream(
                "GET", url, headers=headers, timeout=httpx.Timeout(request.timeout)
            ) as response:
                trail.status = response.status_code
                if response.status_code not in _REDIRECTS:
                    return await _final(request, response, trail)
                target = _redirect_target(request, response, url)
        except httpx.HTTPError as exc:
            raise _transport_failure(request, url, exc) from exc

        if redirects == MAX_REDIRECTS:
            raise _Failure(
                "redirects",
                f"{request.feed_id}: more than {MAX_REDIRECTS} redirects starting at "
                f"{request.url}; the last went from {url} to {target}",
            )
        redirects += 1
        if response.status_code in _PERMANENT and trail.only_permanent:
            trail.permanent_redirect = str(target)
        else:
            trail.only_permanent = False
        url = target


def _checked_url(request: FetchRequest, raw: str, came_from: httpx.URL | None) -> httpx.URL:
    where = f"{came_from} redirected to {raw!r}, which" if came_from else f"the URL {raw!r}"
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise _Failure("bad_url", f"{request.feed_id}: {where} is not a valid URL ({exc})") from exc
    if url.scheme not in ("http", "https"):
        raise _Failure("bad_url", f"{request.feed_id}: {where} is not an http(s) URL")
    if not url.host:
        raise _Failure("bad_url", f"{request.feed_id}: {where} has no host")
    return url


def _redirect_target(request: FetchRequest, response: httpx.Response, url: httpx.URL) -> httpx.URL:
    location = response.headers.get("location", "").strip()
    if not location:
        raise _Failure(
            "http",
            f"{request.feed_id}: HTTP {response.status_code} {_reason(response)} "
            f"without a Location header from {url}",
        )
    try:
        joined = str(url.join(location))
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise _Failure(
            "bad_url",
            f"{request.feed_id}: {url} redirected to {location!r}, which is not a valid URL",
        ) from exc
    return _checked_url(request, joined, came_from=url)


async def _refuse_private(request: FetchRequest, url: httpx.URL) -> None:
    host = url.raw_host.decode("ascii", "replace")
    port = url.port or (443 if url.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _Failure(
            "network", f"{request.feed_id}: could not resolve {host} ({exc.strerror})"
        ) from exc
    except (OSError, UnicodeError) as exc:
        raise _Failure("network", f"{request.feed_id}: could not resolve {host} ({exc})") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]))
        if not is_public_address(address):
            what = f"{host} resolves to {address}," if host != str(address) else f"{host} is"
            raise _Failure(
                "private_address",
                f"{request.feed_id}: refused to fetch {url}: {what} a {_describe(address)} "
                f"address; if this feed really lives on your own network, set "
                f"`allow_private_networks: true` for it in feeds.yaml",
            )


def _describe(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for word, flag in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return word
    return "non-public"


async def _final(request: FetchRequest, response: httpx.Response, trail: _Trail) -> _Done:
    status = response.status_code
    etag = response.headers.get("etag")
    last_modified = response.headers.get("last-modified")
    content_type = response.headers.get("content-type")
    if status == 304:
        return _Done(
            outcome="not_modified",
            body=None,
            content_type=content_type,
            etag=etag or request.etag,
            last_modified=last_modified or request.last_modified,
            body_hash=request.body_hash,
        )
    if not 200 <= status < 300:
        raise _http_failure(request, response, trail.url)

    body = await _read_body(request, response, trail.url)
    digest = hashlib.sha256(body).hexdigest()
    if digest == request.body_hash:  # the server ignores validators but nothing changed
        return _Done("not_modified", None, content_type, etag, last_modified, digest)
    return _Done("ok", body, content_type, etag, last_modified, digest)


async def _read_body(request: FetchRequest, response: httpx.Response, url: str) -> bytes:
    coding = response.headers.get("content-encoding", "").strip().lower()
    if coding in ("", "identity"):
        decoder: _Decoder | None = None
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > request.max_size:
            raise _too_large(request, url)
    elif coding in ("gzip", "x-gzip", "deflate"):
        decoder = _Decoder(coding)
    else:
        raise _Failure(
            "http",
            f"{request.feed_id}: {url} sent Content-Encoding {coding!r}, which we did not "
            f"ask for and cannot decode",
        )

    pieces: list[bytes] = []
    size = 0
    try:
        async for raw in response.aiter_raw():
            for piece in decoder.feed(raw) if decoder else (raw,):
                size += len(piece)
                if size > request.max_size:
                    raise _too_large(request, url)
                pieces.append(piece)
        for piece in decoder.flush() if decoder else ():
            size += len(piece)
            if size > request.max_size:
                raise _too_large(request, url)
            pieces.append(piece)
    except zlib.error as exc:
        raise _Failure(
            "http", f"{request.feed_id}: the {coding} body from {url} is corrupt ({exc})"
        ) from exc
    return b"".join(pieces)


def _too_large(request: FetchRequest, url: str) -> _Failure:
    return _Failure(
        "too_large",
        f"{request.feed_id}: the feed at {url} is larger than the limit of "
        f"{_size(request.max_size)} once decoded; we stopped reading it",
    )


def _size(count: int) -> str:
    if count >= 1024 * 1024 and count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MiB ({count} bytes)"
    if count >= 1024 and count % 1024 == 0:
        return f"{count // 1024} KiB ({count} bytes)"
    return f"{count} bytes"


class _Decoder:
    """gzip/deflate decoder that never produces more than ``_PIECE`` bytes at once.

    A decompression bomb is therefore noticed after at most ``max_size + _PIECE`` decoded
    bytes, whatever size the network reads have.
    """

    def __init__(self, coding: str) -> None:
        self._gzip = coding in ("gzip", "x-gzip")
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        if not self._started:
            self._started = True
            if not self._gzip and not _has_zlib_header(data):
                # "deflate" is zlib-wrapped per RFC 9110, but some servers send raw deflate.
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        while True:
            out = self._obj.decompress(data, _PIECE)
            data = self._obj.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < _PIECE:
                return

    def flush(self) -> Iterator[bytes]:
        out = self._obj.flush()
        if out:
            yield out


def _has_zlib_header(data: bytes) -> bool:
    return len(data) < 2 or ((data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0)


# --- failures -------------------------------------------------------------------------


def _reason(response: httpx.Response) -> str:
    if response.reason_phrase:
        return response.reason_phrase
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


def _http_failure(request: FetchRequest, response: httpx.Response, url: str) -> _Failure:
    status = response.status_code
    sentence = f"{request.feed_id}: HTTP {status} {_reason(response)} from {url}"
    retry_after = None
    if status == 410:
        sentence += "; the partner removed this feed: remove it from feeds.yaml"
    elif status == 404:
        sentence += "; the feed may have moved: check its url in feeds.yaml"
    elif status in (401, 403):
        sentence += "; the partner refuses us access (it may block our User-Agent)"
    elif status in (429, 503):
        retry_after = _parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        if retry_after is not None:
            sentence += f"; the partner asks us to wait {retry_after:.0f} s before trying again"
    return _Failure("http", sentence, retry_after=retry_after)


def _parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP date), else None."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _transport_failure(request: FetchRequest, url: httpx.URL, exc: httpx.HTTPError) -> _Failure:
    feed_id = request.feed_id
    host = url.raw_host.decode("ascii", "replace")
    where = f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting to",
            httpx.ReadTimeout: "waiting for data from",
            httpx.WriteTimeout: "sending to",
            httpx.PoolTimeout: "waiting for a free connection to",
        }.get(type(exc), "talking to")
        return _Failure(
            "timeout",
            f"{feed_id}: timed out after {request.timeout:g} s {phase} {where} for {url}",
        )
    tls = _cause(exc, ssl.SSLError)
    if tls is not None:
        detail = (
            tls.verify_message
            if isinstance(tls, ssl.SSLCertVerificationError) and tls.verify_message
            else (tls.reason or str(tls))
        )
        return _Failure("tls", f"{feed_id}: TLS error with {where} ({detail}) for {url}")
    if _cause(exc, ConnectionRefusedError) is not None:
        return _Failure("network", f"{feed_id}: could not connect to {where} (connection refused)")
    unresolved = _cause(exc, socket.gaierror)
    if unresolved is not None:
        return _Failure("network", f"{feed_id}: could not resolve {host} ({unresolved.strerror})")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return _Failure("bad_url", f"{feed_id}: cannot fetch {url} ({exc})")
    if isinstance(exc, httpx.ConnectError):
        return _Failure("network", f"{feed_id}: could not connect to {where} ({exc or 'failed'})")
    if isinstance(exc, httpx.RemoteProtocolError):
        return _Failure("network", f"{feed_id}: {where} broke the HTTP protocol ({exc}) for {url}")
    return _Failure(
        "network",
        f"{feed_id}: the connection to {where} failed ({type(exc).__name__}: {exc}) for {url}",
    )


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


# --- the pass -------------------------------------------------------------------------


def _new_client(pool_size: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,  # we follow them ourselves, checking every hop
        # No proxy variables or .netrc: a proxy would connect to hosts we never checked, and
        # .netrc would send an operator's credentials to partners.
        trust_env=False,
        limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
    )


def _shard(url: str, count: int) -> int:
    """Which client fetches ``url``: by host, so one host's feeds share keep-alive connections."""
    if count == 1:
        return 0
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return zlib.crc32(host.encode("utf-8", "replace")) % count


def _log_success(result: FetchResult) -> None:
    # DEBUG: the pipeline logs each feed's outcome once (with the redirect, in status too).
    if result.permanent_redirect:
        log.debug(
            "%s: %s moved permanently to %s; update its url in feeds.yaml",
            result.feed_id,
            result.url,
            result.permanent_redirect,
        )
    if result.outcome == "ok":
        log.debug(
            "%s: fetched %s (HTTP %s, %d bytes, %.2f s)",
            result.feed_id,
            result.final_url,
            result.status,
            len(result.body or b""),
            result.duration,
        )
    else:
        why = "HTTP 304" if result.status == 304 else "same body as last time"
        log.debug("%s: not modified (%s, %.2f s)", result.feed_id, why, result.duration)
