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
- checking an address and then letting httpx resolve the name again would let a partner's
  DNS answer differently the second time (DNS rebinding): without
  ``allow_private_networks`` the connection itself is made by ``_CheckedNetworkBackend``,
  which resolves once, refuses private addresses and connects to the address it checked
  (TLS still verifies and sends SNI for the host name);
- one client with a big pool is CPU-bound at high concurrency (encode/httpx#3215): one
  client per ``POOL_PER_CLIENT`` connections, a host's feeds kept on one client so they
  share keep-alive connections, unless one host holds more than a client's share of the
  pass (a mirror, the benchmark): then its feeds are spread over the clients. The default
  concurrency uses one client.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import hashlib
import ipaddress
import logging
import math
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Literal, TypeVar
from urllib.parse import urlsplit

import httpcore
import httpx

__all__ = [
    "ACCEPT",
    "MAX_REDIRECTS",
    "FetchRequest",
    "FetchResult",
    "fetch_all",
    "fetch_once",
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
# httpcore's SOCKET_OPTION, spelled out: it is not exported.
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


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
    config_line: int | None = None  # the feed's line in feeds.yaml; None: not listed there


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
    fresh_for: float | None = None  # seconds, from Cache-Control max-age or Expires (2xx/304)


async def fetch_all(
    requests: Sequence[FetchRequest],
    *,
    user_agent: str,
    concurrency: int = 20,
    on_result: Callable[[FetchResult], None] | None = None,
    pool_per_client: int = POOL_PER_CLIENT,
) -> list[FetchResult]:
    """Fetch every request, at most ``concurrency`` at a time; results in request order.

    Connections are split over clients of at most ``pool_per_client`` each: httpcore's
    pool does work quadratic in its size on every request (~1.8 ms of CPU per request at
    20 connections, ~0.9 ms at 5; bench/, issue 8).

    ``on_result`` is called with each result as it completes (e.g. to advance a progress
    bar); an exception in it is logged and ignored. Never raises for a feed's failure.
    """
    if not requests:
        return []
    concurrency = max(1, concurrency)
    client_count = math.ceil(concurrency / max(1, pool_per_client))
    pool_size = math.ceil(concurrency / client_count)
    overall = asyncio.Semaphore(concurrency)

    async with contextlib.AsyncExitStack() as stack:
        # Feeds allowed on private networks get clients of their own: a keep-alive connection
        # opened for one of them must never be reused by a feed that is not.
        clients = {
            (allow, shard): await stack.enter_async_context(_new_client(pool_size, allow))
            for allow in sorted({r.allow_private_networks for r in requests})
            for shard in range(client_count)
        }
        gates = [asyncio.Semaphore(pool_size) for _ in range(client_count)]
        shards = _assign_clients([r.url for r in requests], client_count)

        async def run(request: FetchRequest, shard: int) -> FetchResult:
            async with gates[shard], overall:
                client = clients[request.allow_private_networks, shard]
                result = await fetch_one(client, request, user_agent)
            if on_result is not None:
                try:
                    on_result(result)
                except Exception:
                    log.exception("%s: the on_result callback failed", request.feed_id)
            return result

        return list(await asyncio.gather(*map(run, requests, shards)))


def fetch_once(
    url: str,
    *,
    user_agent: str,
    feed_id: str = "preview",
    timeout: float = 30.0,
    max_size: int = 10 * 1024 * 1024,
    allow_private_networks: bool = False,
    config_line: int | None = None,
) -> FetchResult:
    """One unconditional GET outside a pass (``add``, ``preview``): the same checks as a
    pass (deadline, size cap, redirects followed by hand, private addresses refused unless
    allowed), the same typed result. Never raises for the partner's failure.

    Runs its own event loop: call it from synchronous code only.
    """
    request = FetchRequest(
        feed_id=feed_id,
        url=url,
        timeout=timeout,
        max_size=max_size,
        allow_private_networks=allow_private_networks,
        config_line=config_line,
    )
    results = asyncio.run(fetch_all([request], user_agent=user_agent, concurrency=1))
    return results[0]


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
            f"{trail.url} (the timeout covers the whole fetch, redirects included)"
            + _raise_setting(request, "if the partner is only slow", "timeout"),
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
            fresh_for=done.fresh_for,
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
    fresh_for: float | None = None


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
        try:
            async with client.stream(
                "GET", url, headers=headers, timeout=httpx.Timeout(request.timeout)
            ) as response:
                trail.status = response.status_code
                if response.status_code not in _REDIRECTS:
                    return await _final(request, response, trail)
                target = _redirect_target(request, response, url)
        except _PrivateAddress as exc:  # raised by _CheckedNetworkBackend before connecting
            raise _private_failure(request, url, exc.host, exc.address) from exc
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


def _private_failure(
    request: FetchRequest, url: httpx.URL, host: str, address: IPAddress
) -> _Failure:
    what = f"{host} resolves to {address}," if host != str(address) else f"{host} is"
    return _Failure(
        "private_address",
        f"{request.feed_id}: refused to fetch {url}: {what} a {_describe(address)} "
        f"address; if this feed really lives on your own network, set "
        f"`allow_private_networks: true` for it in feeds.yaml",
    )


class _PrivateAddress(Exception):
    def __init__(self, host: str, address: IPAddress) -> None:
        super().__init__(f"{host} resolves to the non-public address {address}")
        self.host = host
        self.address = address


class _CheckedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses, and only to the address it checked.

    httpcore asks its network backend for a TCP connection to ``host``; this backend resolves
    ``host`` once, raises ``_PrivateAddress`` when any address is not public (no connection
    is attempted), and connects to the checked addresses in order. TLS is started by
    httpcore on the returned stream with ``server_hostname=host``, so certificate checks and
    SNI are unchanged. A second lookup that could answer differently never happens.
    """

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _public_addresses(host, port)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # try the next address, as a resolver-driven connect would
        assert error is not None  # _public_addresses never returns an empty list
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are never used for partner feeds")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _public_addresses(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        # A ConnectError caused by the gaierror: _transport_failure words it as for httpx.
        raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
    # "fe80::1%eth0": the zone is no part of the address (and such an address is refused).
    found = (str(info[4][0]).split("%", 1)[0] for info in infos)
    addresses = list(dict.fromkeys(ipaddress.ip_address(text) for text in found))
    if not addresses:
        raise httpcore.ConnectError(f"could not resolve {host}: no address")
    for address in addresses:
        if not is_public_address(address):
            raise _PrivateAddress(host, address)
    return addresses


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
    fresh_for = _fresh_for(response.headers, datetime.now(UTC))
    if status == 304:
        # A 304 has no body, but httpx closes a connection whose response was not read to
        # its end: read the nothing, or every not-modified feed costs a new connection.
        await response.aread()
        if request.etag is None and request.last_modified is None:
            raise _Failure(
                "http",
                f"{request.feed_id}: HTTP 304 Not Modified from {trail.url}, to a request that "
                "asked for no comparison (no ETag or Last-Modified of ours): the partner's "
                "server sends no feed",
            )
        return _Done(
            outcome="not_modified",
            body=None,
            content_type=content_type,
            etag=etag or request.etag,
            last_modified=last_modified or request.last_modified,
            body_hash=request.body_hash,
            fresh_for=fresh_for,
        )
    if not 200 <= status < 300:
        raise _http_failure(request, response, trail.url)

    body = await _read_body(request, response, trail.url)
    digest = hashlib.sha256(body).hexdigest()
    if digest == request.body_hash:  # the server ignores validators but nothing changed
        return _Done("not_modified", None, content_type, etag, last_modified, digest, fresh_for)
    return _Done("ok", body, content_type, etag, last_modified, digest, fresh_for)


def _fresh_for(headers: httpx.Headers, now: datetime) -> float | None:
    """Seconds the response stays fresh: Cache-Control max-age, else Expires - Date (RFC 9111).

    None when the partner says nothing usable (no-cache, no-store, or no such headers).
    """
    directives = [d.strip().lower() for d in headers.get("cache-control", "").split(",")]
    if "no-cache" in directives or "no-store" in directives:
        return None
    for directive in directives:
        name, _, value = directive.partition("=")
        if name.strip() == "max-age":
            seconds = value.strip().strip('"')
            return float(int(seconds)) if seconds.isascii() and seconds.isdigit() else None
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None
    date = _http_date(headers.get("date")) or now
    return max(0.0, (expires - date).total_seconds())


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None  # e.g. "Expires: 0" (already expired)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


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
        f"{_size(request.max_size)} once decoded; we stopped reading it"
        + _raise_setting(request, "if the feed really is that big", "max_size"),
    )


def _raise_setting(request: FetchRequest, when: str, key: str) -> str:
    """The fix of a limit the partner ran into, for a feed of feeds.yaml."""
    if request.config_line is None:
        return ""
    return f"; {when}, raise its {key} in feeds.yaml (line {request.config_line})"


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
    line = request.config_line
    if status == 410:
        sentence += "; the partner removed this feed"
        sentence += f": remove it from feeds.yaml (line {line})" if line else ""
    elif status == 404:
        fix = f"check its url in feeds.yaml (line {line})" if line else "check the URL"
        sentence += f"; the feed may have moved: {fix}"
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
            f"{feed_id}: timed out after {request.timeout:g} s {phase} {where} for {url}"
            + _raise_setting(request, "if the partner is only slow", "timeout"),
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


def _new_client(pool_size: int, allow_private_networks: bool) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
    return httpx.AsyncClient(
        verify=_ssl_context(),
        follow_redirects=False,  # we follow them ourselves, checking every hop
        # No proxy variables or .netrc: a proxy would connect to hosts we never checked, and
        # .netrc would send an operator's credentials to partners.
        trust_env=False,
        limits=limits,
        transport=None if allow_private_networks else _CheckedTransport(limits),
    )


class _CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, whose connections are made by ``_CheckedNetworkBackend``.

    httpx 0.28 takes no network backend, so the connection pool it built is replaced by one
    built the same way plus the backend (tests/test_fetch.py::test_dns_rebinding_...
    fails if httpx stops using ``_pool``).
    """

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedNetworkBackend(),
        )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default context (certifi's CAs), made once: loading the CAs takes ~30 ms, and
    a big pass has a client per ``pool_per_client`` connections."""
    return httpx.create_ssl_context(trust_env=False)


def _assign_clients(urls: Sequence[str], count: int) -> list[int]:
    """Which client fetches each URL.

    A host's feeds go to one client, so they share its keep-alive connections; the biggest
    hosts are placed first, each on the least loaded client. A host with more feeds than a
    client has room left for is split over several, so one big host cannot leave all but
    one client idle (issue 8: every benchmark feed is on 127.0.0.1).
    """
    if count == 1:
        return [0] * len(urls)
    by_host: dict[str, list[int]] = {}
    for position, url in enumerate(urls):
        by_host.setdefault(_host(url), []).append(position)
    share = math.ceil(len(urls) / count)  # the most one client fetches
    loads = [0] * count
    assigned = [0] * len(urls)
    for _, positions in sorted(by_host.items(), key=lambda item: (-len(item[1]), item[0])):
        start = 0
        while start < len(positions):
            client = min(range(count), key=lambda c: (loads[c], c))
            chunk = positions[start : start + max(1, share - loads[client])]
            for position in chunk:
                assigned[position] = client
            loads[client] += len(chunk)
            start += len(chunk)
    return assigned


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


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
