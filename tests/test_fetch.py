"""fetch.py against a real HTTP server on 127.0.0.1 (tests/partner_server.py), real httpx.

Each STACK-NOTES httpx trap has a test here that fails without its workaround:
total deadline (test_slow_body_hits_the_total_deadline, test_deadline_covers_redirects),
decoded-size cap (test_gzip_bomb_is_stopped_without_decoding_it), redirects checked per hop
(test_each_redirect_hop_is_address_checked), one client per 20 connections
(test_one_client_per_twenty_connections), sniffio (test_sniffio_is_importable).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import ipaddress
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from partner_server import DEFAULT_LAST_MODIFIED, PartnerServer

from syndicator import fetch
from syndicator.fetch import (
    ACCEPT,
    MAX_REDIRECTS,
    FetchRequest,
    FetchResult,
    fetch_all,
    is_public_address,
)

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T</title>'
    b"<item><title>One</title><guid>1</guid></item></channel></rss>\n"
)
UA = "syndicator-tests/1.0 (+https://feeds.example.org/)"
MiB = 1024 * 1024


@pytest.fixture
def server() -> Iterator[PartnerServer]:
    with PartnerServer() as srv:
        yield srv


def request(url: str, **changes: Any) -> FetchRequest:
    base = FetchRequest(
        feed_id="scw-news",
        url=url,
        timeout=5.0,
        max_size=MiB,
        allow_private_networks=True,  # the partner server is on 127.0.0.1
    )
    return replace(base, **changes)


def fetch1(req: FetchRequest) -> FetchResult:
    (result,) = asyncio.run(fetch_all([req], user_agent=UA))
    return result


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def gzip_bomb(mib: int) -> bytes:
    """``mib`` MiB of zeros, gzipped to about 1 KiB per MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MiB)
    return b"".join([compressor.compress(block) for _ in range(mib)] + [compressor.flush()])


# --- success and conditional requests -------------------------------------------------


def test_ok_returns_body_validators_and_hash(server: PartnerServer) -> None:
    server.set("/rss", RSS, content_type="application/rss+xml; charset=utf-8")
    before = datetime.now(UTC)

    result = fetch1(request(server.url("/rss")))

    assert result.outcome == "ok"
    assert result.status == 200
    assert result.body == RSS
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.etag == server.etag_for(RSS)
    assert result.last_modified == DEFAULT_LAST_MODIFIED
    assert result.body_hash == hashlib.sha256(RSS).hexdigest()
    assert result.url == result.final_url == server.url("/rss")
    assert result.error is None and result.error_kind is None
    assert result.permanent_redirect is None and result.retry_after is None
    assert result.fetched_at.tzinfo is UTC and before <= result.fetched_at <= datetime.now(UTC)
    assert 0 <= result.duration < 5


def test_user_agent_accept_and_encoding_headers_are_sent(server: PartnerServer) -> None:
    server.set("/rss", RSS)
    fetch1(request(server.url("/rss")))
    (sent,) = server.requests
    assert sent.method == "GET"
    assert sent.headers["user-agent"] == UA
    assert sent.headers["accept"] == ACCEPT
    assert sent.headers["accept-encoding"] == "gzip, deflate"  # only what we decode ourselves
    assert "if-none-match" not in sent.headers and "if-modified-since" not in sent.headers


def test_second_fetch_is_conditional_and_304_is_not_modified(server: PartnerServer) -> None:
    server.set("/rss", RSS)
    first = fetch1(request(server.url("/rss")))

    second = fetch1(
        request(
            server.url("/rss"),
            etag=first.etag,
            last_modified=first.last_modified,
            body_hash=first.body_hash,
        )
    )

    sent = server.requests[-1].headers
    assert sent["if-none-match"] == server.etag_for(RSS)
    assert sent["if-modified-since"] == DEFAULT_LAST_MODIFIED
    assert second.outcome == "not_modified"
    assert second.status == 304
    assert second.body is None
    # validators and hash are kept for the next fetch
    assert (second.etag, second.last_modified, second.body_hash) == (
        first.etag,
        first.last_modified,
        first.body_hash,
    )


def test_if_modified_since_alone_gives_304(server: PartnerServer) -> None:
    server.set("/rss", RSS, etag=None)
    result = fetch1(request(server.url("/rss"), last_modified=DEFAULT_LAST_MODIFIED))
    assert result.outcome == "not_modified"
    assert result.status == 304
    assert result.etag is None and result.last_modified == DEFAULT_LAST_MODIFIED


def test_a_304_to_a_request_without_validators_is_a_failure(server: PartnerServer) -> None:
    # Nothing asked "has it changed?": a partner answering 304 anyway sends no feed at all,
    # and counting it as "not modified" showed the feed healthy forever with no entries.
    server.set("/rss", b"", status=304, etag=None, last_modified=None)
    result = fetch1(request(server.url("/rss")))
    assert (result.outcome, result.status, result.error_kind) == ("failed", 304, "http")
    assert result.error == (
        f"scw-news: HTTP 304 Not Modified from {server.url('/rss')}, to a request that asked for "
        "no comparison (no ETag or Last-Modified of ours): the partner's server sends no feed"
    )


def test_changed_etag_gives_the_new_body(server: PartnerServer) -> None:
    server.set("/rss", RSS + b"<!-- v2 -->")
    result = fetch1(request(server.url("/rss"), etag=server.etag_for(RSS)))
    assert result.outcome == "ok"
    assert result.etag == server.etag_for(RSS + b"<!-- v2 -->")


def test_same_body_hash_is_not_modified(server: PartnerServer) -> None:
    # A partner that ignores validators: 200 with the body we already parsed.
    server.set("/rss", RSS, etag=None, last_modified=None)
    digest = hashlib.sha256(RSS).hexdigest()

    result = fetch1(request(server.url("/rss"), body_hash=digest))

    assert result.outcome == "not_modified"
    assert result.status == 200
    assert result.body is None
    assert result.body_hash == digest


# --- HTTP errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, "scw-news: HTTP 404 Not Found from {url}; the feed may have moved"),
        (
            410,
            "scw-news: HTTP 410 Gone from {url}; the partner removed this feed",
        ),
        (500, "scw-news: HTTP 500 Internal Server Error from {url}"),
        (403, "scw-news: HTTP 403 Forbidden from {url}; the partner refuses us access"),
    ],
)
def test_http_errors_are_sentences(server: PartnerServer, status: int, expected: str) -> None:
    server.set("/feed", b"<html>error</html>", content_type="text/html", status=status)
    result = fetch1(request(server.url("/feed"), etag='"old"', body_hash="abc"))
    assert result.outcome == "failed"
    assert result.error_kind == "http"
    assert result.status == status
    assert result.error is not None
    assert result.error.startswith(expected.format(url=server.url("/feed")))
    assert result.body is None
    assert (result.etag, result.body_hash) == ('"old"', "abc")  # kept for next time


@pytest.mark.parametrize(
    ("status", "listed", "unlisted"),
    [
        (404, "the feed may have moved: check its url in feeds.yaml (line 14)", "check the URL"),
        (410, "remove it from feeds.yaml (line 14)", "the partner removed this feed"),
    ],
)
def test_the_fix_of_an_http_error_names_the_line_or_fits_a_url_not_listed(
    server: PartnerServer, status: int, listed: str, unlisted: str
) -> None:
    # `add` and `preview` fetch URLs that feeds.yaml does not have: "check its url in
    # feeds.yaml" sent operators looking for a line that is not there.
    server.set("/feed", b"no", content_type="text/plain", status=status)
    in_config = fetch1(request(server.url("/feed"), config_line=14)).error or ""
    assert in_config.endswith(listed)
    not_in_config = fetch1(request(server.url("/feed"))).error or ""
    assert not_in_config.endswith(unlisted) and "feeds.yaml" not in not_in_config


def test_limits_name_the_setting_that_raises_them(server: PartnerServer) -> None:
    server.set("/big", b"x" * (2 * MiB))
    big = fetch1(request(server.url("/big"), max_size=MiB, config_line=14)).error or ""
    assert big.endswith(
        "we stopped reading it; if the feed really is that big, raise its max_size in "
        "feeds.yaml (line 14)"
    )
    server.set("/slow", b"late", delay=2.0)
    slow = fetch1(request(server.url("/slow"), timeout=0.5, config_line=14)).error or ""
    assert slow.endswith("; if the partner is only slow, raise its timeout in feeds.yaml (line 14)")
    unlisted = fetch1(request(server.url("/slow"), timeout=0.5)).error or ""
    assert "feeds.yaml" not in unlisted


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds(server: PartnerServer, status: int) -> None:
    server.set("/feed", b"slow down", status=status, headers={"Retry-After": "120"})
    result = fetch1(request(server.url("/feed")))
    assert result.outcome == "failed" and result.error_kind == "http"
    assert result.retry_after == 120.0
    assert result.error is not None and "wait 120 s" in result.error


def test_retry_after_http_date(server: PartnerServer) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    server.set("/feed", b"", status=429, headers={"Retry-After": format_datetime(when, True)})
    result = fetch1(request(server.url("/feed")))
    assert result.retry_after is not None
    assert 590 <= result.retry_after <= 600


def test_retry_after_garbage_is_ignored(server: PartnerServer) -> None:
    server.set("/feed", b"", status=503, headers={"Retry-After": "soon"})
    result = fetch1(request(server.url("/feed")))
    assert result.outcome == "failed" and result.retry_after is None


# --- deadline and size ----------------------------------------------------------------


def test_slow_body_hits_the_total_deadline(server: PartnerServer) -> None:
    # One byte every 0.1 s: httpx's per-phase read timeout (1 s) never fires.
    server.set("/slow", b"x" * 200, delay_per_chunk=0.1, chunk_size=1)
    started = time.monotonic()

    result = fetch1(request(server.url("/slow"), timeout=1.0))

    elapsed = time.monotonic() - started
    assert result.outcome == "failed"
    assert result.error_kind == "timeout"
    assert result.status == 200  # headers came, the body never finished
    assert result.error == (
        f"scw-news: no complete response within 1 s from {server.url('/slow')} "
        "(the timeout covers the whole fetch, redirects included)"
    )
    assert 0.9 <= result.duration < 1.5
    assert elapsed < 3


def test_deadline_covers_redirects(server: PartnerServer) -> None:
    # Each hop answers in 0.4 s, well inside a per-request timeout of 1 s; four hops do not.
    for hop in range(4):
        server.set(f"/hop{hop}", b"", status=302, headers={"Location": f"/hop{hop + 1}"}, delay=0.4)
    server.set("/hop4", RSS)

    result = fetch1(request(server.url("/hop0"), timeout=1.0))

    assert result.error_kind == "timeout"
    assert result.final_url in {server.url("/hop2"), server.url("/hop3")}
    assert result.duration < 1.5


def test_gzip_body_is_decoded(server: PartnerServer) -> None:
    server.set("/rss", RSS, gzip=True)
    result = fetch1(request(server.url("/rss")))
    assert result.outcome == "ok"
    assert result.body == RSS


@pytest.mark.parametrize(
    "compress",
    [
        pytest.param(zlib.compress, id="zlib-wrapped"),
        pytest.param(lambda b: zlib.compress(b, wbits=-zlib.MAX_WBITS), id="raw-deflate"),
    ],
)
def test_deflate_body_is_decoded(server: PartnerServer, compress: Callable[[bytes], bytes]) -> None:
    server.set("/rss", compress(RSS), headers={"Content-Encoding": "deflate"})
    result = fetch1(request(server.url("/rss")))
    assert result.outcome == "ok"
    assert result.body == RSS


def test_gzip_bomb_is_stopped_without_decoding_it(server: PartnerServer) -> None:
    # 64 MiB of zeros in ~64 KiB of gzip: one network read. httpx's aiter_bytes would decode
    # it whole (peak ~150 MB measured); we decode in 64 KiB pieces and stop past max_size.
    bomb = gzip_bomb(64)
    assert len(bomb) < 100_000
    server.set("/bomb", bomb, headers={"Content-Encoding": "gzip"})

    tracemalloc.start()
    try:
        result = fetch1(request(server.url("/bomb"), max_size=MiB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.outcome == "failed"
    assert result.error_kind == "too_large"
    assert result.error == (
        f"scw-news: the feed at {server.url('/bomb')} is larger than the limit of "
        "1 MiB (1048576 bytes) once decoded; we stopped reading it"
    )
    assert result.body is None
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB: the body was decoded whole"


def test_plain_body_over_the_limit_with_content_length(server: PartnerServer) -> None:
    server.set("/big", b"x" * (MiB + 1))
    result = fetch1(request(server.url("/big"), max_size=MiB))
    assert result.error_kind == "too_large"


def test_chunked_body_over_the_limit(server: PartnerServer) -> None:
    server.set("/big", b"x" * (2 * MiB), chunked=True, chunk_size=64 * 1024)
    result = fetch1(request(server.url("/big"), max_size=MiB))
    assert result.error_kind == "too_large"
    ok = fetch1(request(server.url("/big"), max_size=2 * MiB))
    assert ok.outcome == "ok" and ok.body == b"x" * (2 * MiB)


def test_body_exactly_at_the_limit_is_ok(server: PartnerServer) -> None:
    server.set("/rss", RSS, gzip=True)
    assert fetch1(request(server.url("/rss"), max_size=len(RSS))).outcome == "ok"
    assert fetch1(request(server.url("/rss"), max_size=len(RSS) - 1)).error_kind == "too_large"


def test_corrupt_gzip_is_a_failure(server: PartnerServer) -> None:
    server.set("/rss", b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
    result = fetch1(request(server.url("/rss")))
    assert result.outcome == "failed" and result.error_kind == "http"
    assert result.error is not None and "corrupt" in result.error


def test_unrequested_content_encoding_is_a_failure(server: PartnerServer) -> None:
    server.set("/rss", b"\x1b\x00", headers={"Content-Encoding": "br"})
    result = fetch1(request(server.url("/rss")))
    assert result.outcome == "failed"
    assert result.error is not None and "Content-Encoding 'br'" in result.error


# --- redirects ------------------------------------------------------------------------


def chain(server: PartnerServer, length: int, *, status: int = 302) -> str:
    """/r0 -> /r1 -> ... -> /r{length} (the feed), relative Locations; returns the start URL."""
    for hop in range(length):
        location = f"r{hop + 1}" if hop % 2 else f"/r{hop + 1}"  # relative and absolute paths
        server.redirect(f"/r{hop}", location, status=status)
    server.set(f"/r{length}", RSS)
    return server.url("/r0")


def test_redirect_chain_of_three_is_followed(server: PartnerServer) -> None:
    result = fetch1(request(chain(server, 3)))
    assert result.outcome == "ok"
    assert result.body == RSS
    assert result.final_url == server.url("/r3")
    assert result.permanent_redirect is None  # 302s are temporary
    assert [r.path for r in server.requests] == ["/r0", "/r1", "/r2", "/r3"]


def test_five_redirects_are_followed(server: PartnerServer) -> None:
    result = fetch1(request(chain(server, MAX_REDIRECTS)))
    assert result.outcome == "ok"


def test_sixth_redirect_is_refused(server: PartnerServer) -> None:
    result = fetch1(request(chain(server, 6)))
    assert result.outcome == "failed"
    assert result.error_kind == "redirects"
    assert result.error is not None and "more than 5 redirects" in result.error
    assert result.status == 302
    assert len(server.requests) == 6  # /r0../r5; the 6th Location is not followed


def test_redirect_loop_is_refused(server: PartnerServer) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    result = fetch1(request(server.url("/a")))
    assert result.error_kind == "redirects"


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_is_reported(server: PartnerServer, status: int) -> None:
    server.redirect("/old", "/new", status=status)
    server.set("/new", RSS)
    result = fetch1(request(server.url("/old")))
    assert result.outcome == "ok"
    assert result.permanent_redirect == server.url("/new")
    assert result.final_url == server.url("/new")


def test_permanent_redirect_stops_at_the_first_temporary_hop(server: PartnerServer) -> None:
    server.redirect("/old", "/new", status=301)
    server.redirect("/new", "/today", status=302)
    server.set("/today", RSS)
    result = fetch1(request(server.url("/old")))
    assert result.permanent_redirect == server.url("/new")  # the 302 target is not permanent
    assert result.final_url == server.url("/today")


def test_temporary_then_permanent_is_not_reported(server: PartnerServer) -> None:
    server.redirect("/a", "/b", status=302)
    server.redirect("/b", "/c", status=301)
    server.set("/c", RSS)
    assert fetch1(request(server.url("/a"))).permanent_redirect is None


def test_redirect_to_another_scheme_is_refused(server: PartnerServer) -> None:
    server.redirect("/rss", "file:///etc/passwd")
    result = fetch1(request(server.url("/rss")))
    assert result.error_kind == "bad_url"
    assert result.error is not None and "not an http(s) URL" in result.error


def test_redirect_without_location_is_a_failure(server: PartnerServer) -> None:
    server.set("/rss", b"", status=302)
    result = fetch1(request(server.url("/rss")))
    assert result.error_kind == "http"
    assert result.error is not None and "without a Location header" in result.error


def test_conditional_headers_are_sent_on_every_hop(server: PartnerServer) -> None:
    server.redirect("/old", "/new", status=301)
    server.set("/new", RSS)
    result = fetch1(request(server.url("/old"), etag=server.etag_for(RSS)))
    assert result.outcome == "not_modified"
    assert all(r.headers.get("if-none-match") == server.etag_for(RSS) for r in server.requests)


# --- addresses ------------------------------------------------------------------------


def test_private_address_is_refused_before_any_request(server: PartnerServer) -> None:
    server.set("/rss", RSS)
    result = fetch1(request(server.url("/rss"), allow_private_networks=False))
    assert result.outcome == "failed"
    assert result.error_kind == "private_address"
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith(
        f"scw-news: refused to fetch {server.url('/rss')}: 127.0.0.1 is a loopback address"
    )
    assert "allow_private_networks: true" in result.error
    assert server.requests == []


def test_localhost_name_is_refused(server: PartnerServer) -> None:
    server.set("/rss", RSS)
    url = f"http://localhost:{server.port}/rss"
    result = fetch1(request(url, allow_private_networks=False))
    assert result.error_kind == "private_address"
    assert result.error is not None and "localhost resolves to" in result.error
    assert server.requests == []


def test_each_redirect_hop_is_address_checked(
    server: PartnerServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend 127.0.0.1 is public so the first hop passes; the redirect points at 127.0.0.2
    # (loopback, never contacted: the check happens before connecting).
    allowed = ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(fetch, "is_public_address", lambda address: address == allowed)
    server.redirect("/rss", f"http://127.0.0.2:{server.port}/internal")

    result = fetch1(request(server.url("/rss"), allow_private_networks=False))

    assert result.error_kind == "private_address"
    assert result.final_url == f"http://127.0.0.2:{server.port}/internal"
    assert [r.path for r in server.requests] == ["/rss"]


def test_dns_rebinding_cannot_swap_the_checked_address(
    server: PartnerServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A partner's DNS answers a public address to the check and a private one afterwards.
    # The connection must go to the address that was checked, with one lookup only.
    allowed = ipaddress.ip_address("127.0.0.1")  # plays a public address here
    monkeypatch.setattr(fetch, "is_public_address", lambda address: address == allowed)
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.255.255.1", "10.255.255.1"])
    lookups: list[str] = []

    def rebinding_dns(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        return real_getaddrinfo(next(answers), port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    server.set("/rss", RSS)
    url = f"http://rebind.test:{server.port}/rss"
    result = fetch1(request(url, allow_private_networks=False, timeout=3.0))
    assert result.outcome == "ok", result.error
    assert lookups == ["rebind.test"]
    assert server.requests[0].headers["host"] == f"rebind.test:{server.port}"


def test_a_name_with_any_private_address_is_refused(
    server: PartnerServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(fetch, "is_public_address", lambda address: address == allowed)
    real_getaddrinfo = socket.getaddrinfo

    def two_answers(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "mixed.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        public = real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
        metadata = real_getaddrinfo("169.254.169.254", port, *args, **kwargs)
        return public + metadata

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    server.set("/rss", RSS)
    result = fetch1(request(f"http://mixed.test:{server.port}/rss", allow_private_networks=False))
    assert result.error_kind == "private_address"
    assert result.error is not None
    assert "mixed.test resolves to 169.254.169.254, a link-local address" in result.error
    assert server.requests == []


def test_private_and_public_feeds_never_share_a_client(server: PartnerServer) -> None:
    server.set("/rss", RSS)
    reqs = [
        request(server.url("/rss"), feed_id="local", allow_private_networks=True),
        request(server.url("/rss"), feed_id="public", allow_private_networks=False),
    ]
    local, public = asyncio.run(fetch_all(reqs, user_agent=UA))
    assert local.outcome == "ok"
    assert public.error_kind == "private_address"  # not smuggled over local's connection
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.100.100.200", False),  # shared address space (a cloud metadata service)
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fec0::1", False),  # site-local: is_global is True in Python 3.11
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::7f00:1", False),  # NAT64 wrapping 127.0.0.1
        ("ff02::1", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


# --- network failures -----------------------------------------------------------------


def test_connection_refused() -> None:
    port = closed_port()
    result = fetch1(request(f"http://127.0.0.1:{port}/rss"))
    assert result.outcome == "failed"
    assert result.error_kind == "network"
    assert result.status is None
    assert result.error == f"scw-news: could not connect to 127.0.0.1:{port} (connection refused)"


@pytest.mark.parametrize("allow_private", [True, False])
def test_unknown_host(allow_private: bool) -> None:
    # .invalid never resolves (RFC 2606); both our resolver and httpx's must say so.
    url = "http://no-such-partner.invalid/rss"
    result = fetch1(request(url, allow_private_networks=allow_private, timeout=5.0))
    assert result.error_kind == "network"
    assert result.error is not None
    assert result.error.startswith("scw-news: could not resolve no-such-partner.invalid")


def test_tls_error(server: PartnerServer) -> None:
    # TLS to a plain-HTTP server: the handshake fails.
    result = fetch1(request(f"https://127.0.0.1:{server.port}/rss"))
    assert result.outcome == "failed"
    assert result.error_kind == "tls"
    assert result.error is not None
    assert result.error.startswith(f"scw-news: TLS error with 127.0.0.1:{server.port}")


@pytest.mark.parametrize(
    "url", ["ftp://example.org/feed", "not a url", "http://", "file:///etc/passwd"]
)
def test_bad_urls(url: str) -> None:
    result = fetch1(request(url))
    assert result.outcome == "failed"
    assert result.error_kind == "bad_url"
    assert result.final_url == url


def test_unexpected_exception_becomes_an_internal_failure(
    server: PartnerServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(fetch, "_final", broken)
    server.set("/rss", RSS)
    result = fetch1(request(server.url("/rss")))
    assert result.outcome == "failed"
    assert result.error_kind == "internal"
    assert result.error is not None and "RuntimeError: boom" in result.error
    assert "scw-news: unexpected error" in caplog.text


# --- the pass -------------------------------------------------------------------------


def test_fetch_all_isolates_failures_and_keeps_order(server: PartnerServer) -> None:
    for i in range(8):
        server.set(f"/f{i}", RSS + str(i).encode(), delay=0.05 * (8 - i))  # finish out of order
    server.set("/f3", b"", status=500)
    requests = [
        replace(request(server.url(f"/f{i}")), feed_id=f"feed-{i}", timeout=3.0) for i in range(8)
    ]
    requests.append(request(f"http://127.0.0.1:{closed_port()}/", feed_id="dead"))
    seen: list[str] = []

    results = asyncio.run(
        fetch_all(
            requests, user_agent=UA, concurrency=4, on_result=lambda r: seen.append(r.feed_id)
        )
    )

    assert [r.feed_id for r in results] == [r.feed_id for r in requests]
    assert sorted(seen) == sorted(r.feed_id for r in requests)
    assert seen != [r.feed_id for r in requests]  # called as each completed
    assert [r.outcome for r in results] == ["ok"] * 3 + ["failed"] + ["ok"] * 4 + ["failed"]
    assert results[5].body == RSS + b"5"


def test_on_result_errors_do_not_stop_the_pass(server: PartnerServer) -> None:
    server.set("/rss", RSS)

    def explode(result: FetchResult) -> None:
        raise ValueError("progress bar broke")

    reqs = [request(server.url("/rss")), request(server.url("/rss"))]
    results = asyncio.run(fetch_all(reqs, user_agent=UA, on_result=explode))
    assert [r.outcome for r in results] == ["ok", "ok"]


def test_fetch_all_of_nothing() -> None:
    assert asyncio.run(fetch_all([], user_agent=UA)) == []


def test_concurrency_is_bounded(server: PartnerServer) -> None:
    server.set("/rss", RSS, delay=0.3)
    started = time.monotonic()
    asyncio.run(fetch_all([request(server.url("/rss"))] * 6, user_agent=UA, concurrency=2))
    assert time.monotonic() - started >= 0.85  # three waves of two


def test_one_client_per_twenty_connections(
    server: PartnerServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[httpx.Limits] = []
    real_client = httpx.AsyncClient

    def counting_client(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
        created.append(kwargs["limits"])
        return real_client(*args, **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", counting_client)
    server.set("/rss", RSS)
    reqs = [request(server.url(f"/rss?n={i}")) for i in range(5)]

    assert all(r.outcome == "ok" for r in asyncio.run(fetch_all(reqs, user_agent=UA)))
    assert [limits.max_connections for limits in created] == [20]  # default: one client

    created.clear()
    asyncio.run(fetch_all(reqs, user_agent=UA, concurrency=45))
    assert [limits.max_connections for limits in created] == [15, 15, 15]


def test_sniffio_is_importable() -> None:
    # Without it httpcore retries a failed import on every pool operation (STACK-NOTES).
    assert importlib.util.find_spec("sniffio") is not None


# --- the partner server itself --------------------------------------------------------


def test_partner_server_basics(server: PartnerServer) -> None:
    server.set("/rss", RSS)
    with httpx.Client() as client:
        assert client.get(server.url("/nowhere")).status_code == 404
        head = client.head(server.url("/rss"))
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(RSS))
        weak = client.get(
            server.url("/rss"), headers={"If-None-Match": "W/" + server.etag_for(RSS)}
        )
        assert weak.status_code == 304
        server.remove("/rss")
        assert client.get(server.url("/rss")).status_code == 404
    assert [r.method for r in server.requests] == ["GET", "HEAD", "GET", "GET"]
    assert len(server.requests_for("/rss")) == 3
    server.clear_requests()
    assert server.requests == []


def test_partner_server_stops_promptly_with_clients_attached() -> None:
    srv = PartnerServer().start()
    srv.set("/slow", b"x" * 1000, delay_per_chunk=1.0, chunk_size=1)
    idle = socket.create_connection(("127.0.0.1", srv.port))  # never sends a request
    slow = socket.create_connection(("127.0.0.1", srv.port))
    slow.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 2
    idle.close()
    slow.close()
    with pytest.raises(RuntimeError):
        _ = srv.port
