"""The speed-ups of issue 8 change nothing but speed.

Each fast path is checked against the slow one it replaces: feedparser with and without
``feedparser_speed``, bodies parsed in worker processes and in the pass's own process, a
pass with and without a pool, a not-modified feed keeping its connection, one host's feeds
spread over several httpx clients. Timing lives in bench/, never here.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import socketserver
import subprocess
import sys
import threading
import time
import xml.sax
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser.api
import feedparser.html
import feedparser.mixin
import httpx
import pytest
from partner_server import PartnerServer

from syndicator import feedparser_speed, fetch, prepare
from syndicator.config import Config, check_config_text
from syndicator.demo import demo_feeds_dir
from syndicator.fetch import FetchRequest, fetch_all
from syndicator.model import ParsedFeed
from syndicator.parse import ParseError, parse_feed
from syndicator.pipeline import run_pass
from syndicator.prepare import PrepareJob, Preparer
from syndicator.store import Store

DATA = Path(__file__).parent / "data" / "feeds"
URL = "https://partner.example.org/feed"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

C1_AND_ASTRAL = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T &#150; U</title>'
    "<item><title>caf\u00e9 &#128; &#153; \u2014 \U0001f600 \uac00</title><link>/a</link>"
    "<description>&lt;p&gt;\u00e9&amp;amp;\u0080\u009f &amp;lt;b&amp;gt;&lt;/p&gt;"
    "</description></item></channel></rss>"
).encode()
LONG_TEXT = (
    '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
    '<title>T</title><entry><id>x</id><title>long</title><content type="html">'
    + "&lt;p&gt;caf\u00e9 &amp;amp; \ud55c\uad6d\uc5b4\n&lt;/p&gt;" * 9000
    + "</content></entry></feed>"
).encode()


def _bodies() -> list[tuple[str, bytes, str | None]]:
    found: list[tuple[str, bytes, str | None]]
    found = [(path.name, path.read_bytes(), None) for path in sorted(DATA.iterdir())]
    found += [(p.name, p.read_bytes(), None) for p in sorted(demo_feeds_dir().iterdir())]
    found += [("c1-and-astral", C1_AND_ASTRAL, "application/rss+xml")]
    found += [("long-text", LONG_TEXT, "application/atom+xml")]
    return found


def _parse(body: bytes, content_type: str | None) -> ParsedFeed | str:
    try:
        return parse_feed(body, content_type=content_type, url=URL)
    except ParseError as error:
        return f"ParseError: {error}"


@pytest.fixture
def feedparser_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """feedparser as shipped: its default SAX driver list and its dict translate table."""
    monkeypatch.setattr(feedparser.api, "PREFERRED_XML_PARSERS", ["drv_libxml2"])
    monkeypatch.setattr(feedparser.mixin, "_cp1252", feedparser.html._cp1252)


def test_feedparser_speedups_are_installed() -> None:
    assert feedparser.api.PREFERRED_XML_PARSERS == ["syndicator.feedparser_speed"]
    parser = xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS)
    assert isinstance(parser, feedparser_speed.BufferedExpatParser)
    assert isinstance(feedparser.mixin._cp1252, str)


@pytest.mark.parametrize(("name", "body", "content_type"), _bodies(), ids=lambda v: str(v)[:20])
def test_feedparser_speedups_give_the_same_result(
    name: str, body: bytes, content_type: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _parse(body, content_type)
    monkeypatch.setattr(feedparser.api, "PREFERRED_XML_PARSERS", ["drv_libxml2"])
    monkeypatch.setattr(feedparser.mixin, "_cp1252", feedparser.html._cp1252)
    assert _parse(body, content_type) == fast


def test_translate_table_maps_exactly_like_the_dict() -> None:
    original = feedparser.html._cp1252
    table = feedparser_speed.translate_table(original)
    assert table is not None
    text = "".join(map(chr, range(0x10000))) + "\U0001f600\U0010ffff"
    assert text.translate(table) == text.translate(original)
    assert feedparser_speed.translate_table({0x20000: "x"}) is None  # beyond the table: refused
    assert feedparser_speed.translate_table({65: "ab"}) is None  # not one character


# --- parsing in worker processes ------------------------------------------------------


def _jobs() -> list[PrepareJob]:
    duplicate_guids = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>D</title>'
        b"<item><guid>same</guid><title>one</title></item>"
        b"<item><guid>same</guid><title>two</title></item></channel></rss>"
    )
    bodies = [(name, body) for name, body, _ in _bodies()] + [("dupes", duplicate_guids)]
    return [
        PrepareJob(f"feed-{i}", "article", body, None, URL, NOW)
        for i, (_, body) in enumerate(bodies)
    ]


def _outcome(run: Any, job: PrepareJob) -> Any:
    try:
        return run(job)
    except ParseError as error:
        return f"ParseError: {error}"


def test_worker_processes_prepare_exactly_what_this_process_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs = _jobs()
    caplog.set_level(logging.WARNING, logger="syndicator")
    here = [_outcome(prepare.prepare, job) for job in jobs]
    logged_here = [r.getMessage() for r in caplog.records]
    caplog.clear()

    with Preparer([job.feed_id for job in reversed(jobs)], workers=2, min_bodies=1) as preparer:
        for job in jobs:
            preparer.add(job)
        pooled = [_outcome(preparer.take, job) for job in jobs]
        assert preparer.pooled
    assert pooled == here
    assert any(isinstance(result, str) for result in pooled)  # a ParseError came back as one
    # What workers logged is logged again here, in the order the feeds were taken.
    assert [r.getMessage() for r in caplog.records] == logged_here
    assert any("feed-" in message for message in logged_here)  # the duplicate ids warning


def test_a_small_pass_starts_no_workers() -> None:
    jobs = _jobs()[:3]
    with Preparer(workers=2, min_bodies=10) as preparer:
        for job in jobs:
            preparer.add(job)
        results = [_outcome(preparer.take, job) for job in jobs]
        assert not preparer.pooled
    assert results == [_outcome(prepare.prepare, job) for job in jobs]


def test_a_job_never_added_is_prepared_in_place() -> None:
    job = _jobs()[0]
    with Preparer(workers=2, min_bodies=1) as preparer:
        assert preparer.take(job) == prepare.prepare(job)


POOLED_AND_WAITING = """
import os, time
from syndicator.prepare import _Pool
pool = _Pool(2)
for future in [pool.executor.submit(os.getpid) for _ in range(4)]:
    future.result()
print(*pool.executor._processes, flush=True)
time.sleep(60)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_end_when_the_pass_is_killed() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", POOLED_AND_WAITING], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        workers = [int(pid) for pid in process.stdout.readline().split()]
        assert len(workers) == 2 and all(_running(pid) for pid in workers)
    finally:
        process.kill()  # kill -9: no cleanup runs in the pass's process
        process.wait()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in workers)  # before: idle workers forever


def _config(folder: Path, server: PartnerServer, names: list[str]) -> Config:
    lines = [
        "site:",
        "  title: Pool test",
        "  url: https://feeds.example.org/",
        "storage:",
        f"  database: {folder / 'db.sqlite'}",
        f"  output_dir: {folder / 'public'}",
        "allow_private_networks: true",
        "feeds:",
    ]
    for i, name in enumerate(names):
        lines += [f"  - id: feed-{i}", f"    url: {server.url('/' + name)}"]
    return check_config_text("\n".join(lines) + "\n", "feeds.yaml", folder)


def _stored(config: Config) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    with Store(config.storage.database) as store:
        rows = store._db.execute(
            "SELECT feed_id, entry_key, story_id, match_rule, title, content_hash FROM entries "
            "ORDER BY feed_id, entry_key"
        ).fetchall()
        return store.counts(), rows


def test_a_pass_with_workers_stores_and_publishes_what_a_pass_without_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = sorted(demo_feeds_dir().iterdir()) * 3  # the same stories at several partners
    names = [f"{i}-{path.name}" for i, path in enumerate(feeds)]
    with PartnerServer() as server:
        for name, path in zip(names, feeds, strict=True):
            server.set("/" + name, path.read_bytes(), content_type="application/xml")
        results = {}
        for label, threshold in (("pooled", 1), ("in-process", 10_000)):
            monkeypatch.setattr(prepare, "POOL_MIN_BODIES", threshold)
            folder = tmp_path / label
            config = _config(folder, server, names)
            with Store(config.storage.database) as store:
                report = run_pass(config, store, list(config.feeds))
            assert report.count("ok") == len(names)
            output = config.storage.output_dir
            files = {
                str(p.relative_to(output)): p.read_bytes()
                for p in sorted(output.rglob("*"))
                if p.is_file() and not p.name.startswith(".")  # the record holds fetch times
            }
            results[label] = (_stored(config), report.new_stories, files)
    assert results["pooled"] == results["in-process"]


# --- fetching ---------------------------------------------------------------------------


NOT_MODIFIED = b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 0\r\n\r\n'


class _NotModifiedServer(socketserver.ThreadingTCPServer):
    """Answers every request with 304 on a keep-alive connection; counts connections."""

    daemon_threads = True
    allow_reuse_address = True
    connections = 0


class _NotModifiedHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, _NotModifiedServer)
        self.server.connections += 1
        while True:
            line = self.rfile.readline()
            if not line:
                return
            while line not in (b"\r\n", b"\n", b""):
                line = self.rfile.readline()
            self.wfile.write(
                b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 0\r\n\r\n'
            )
            self.wfile.flush()


@pytest.fixture
def not_modified_server() -> Iterator[_NotModifiedServer]:
    server = _NotModifiedServer(("127.0.0.1", 0), _NotModifiedHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_not_modified_feeds_share_one_keep_alive_connection(
    not_modified_server: _NotModifiedServer,
) -> None:
    port = not_modified_server.server_address[1]
    requests = [
        FetchRequest(f"feed-{i}", f"http://127.0.0.1:{port}/f{i}", 5.0, 1024, True, etag='"v1"')
        for i in range(5)
    ]
    results = asyncio.run(fetch_all(requests, user_agent="tests", concurrency=1))
    assert [r.outcome for r in results] == ["not_modified"] * 5
    assert not_modified_server.connections == 1  # before: one new connection per feed


def test_one_host_is_spread_over_every_client() -> None:
    assigned = fetch._assign_clients([f"http://127.0.0.1:8000/f{i}" for i in range(10)], 3)
    assert sorted(set(assigned)) == [0, 1, 2]
    assert max(assigned.count(c) for c in range(3)) == 4  # ceil(10 / 3)


def test_a_host_with_its_share_or_less_stays_on_one_client() -> None:
    urls = [f"https://partner-{i % 4}.example/f{i}" for i in range(12)]
    assigned = fetch._assign_clients(urls, 4)
    for host in range(4):
        assert len({assigned[i] for i in range(12) if i % 4 == host}) == 1
    assert sorted(assigned.count(c) for c in range(4)) == [3, 3, 3, 3]
    assert fetch._assign_clients(urls, 1) == [0] * 12


def test_pool_per_client_sets_the_size_of_each_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created: list[httpx.Limits] = []
    real_client = httpx.AsyncClient

    def counting_client(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
        created.append(kwargs["limits"])
        return real_client(*args, **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", counting_client)
    with socket.socket() as sock:  # a port nobody listens on: every fetch fails fast
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    requests = [
        FetchRequest(f"feed-{i}", f"http://127.0.0.1:{port}/{i}", 5.0, 1024, True) for i in range(3)
    ]
    asyncio.run(fetch_all(requests, user_agent="tests", concurrency=20, pool_per_client=5))
    assert [limits.max_connections for limits in created] == [5, 5, 5, 5]
