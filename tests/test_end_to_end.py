"""End to end, as an operator runs it: `syndicator` as a subprocess, real partner servers on
127.0.0.1, a real feeds.yaml and SQLite file, published files read back with feedparser/json.

The partners serve the demo's sample feeds (one per format: Atom, RSS 2.0, RSS 1.0, JSON
Feed). Across them 15 entries make 12 stories: the partnership press release (WeGO and SCW,
different URLs and title case: title match), the Seoul digital twin (SCW links WeGO's page
with tracking parameters: URL match) and webinar #4 (SCW news and SCW webinars: URL match).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from feed_validator import validate_feed_files
from partner_server import PartnerServer

from syndicator.demo import demo_feeds_dir

FEEDS = {
    # feed id: (file, kind, priority)
    "wego-news": ("wego-news.atom", "article", 0),
    "scw-news": ("scw-news.rss", "article", 0),
    "scw-whitepapers": ("scw-whitepapers.rdf", "whitepaper", 0),
    "scw-webinars": ("scw-webinars.json", "webinar", 10),
}
CONTENT_TYPES = {
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml; charset=utf-8",
    ".rdf": "application/rdf+xml",
    ".json": "application/feed+json",
}
PARTNERSHIP = "WeGO and SmartCitiesWorld sign a content partnership"
SEOUL = "Seoul opens its city-wide digital twin to member cities"
WEBINAR_4 = "Smart Mobility Webinar #4: Curb Management & Data Sharing"
WEBINAR_TITLES = (
    WEBINAR_4,
    "Smart Mobility Webinar #3: Mobility as a Service",
    "Urban data platforms: lessons from 30 cities",
)
PUBLISHED_FEEDS = [
    f"{name}.{ext}"
    for name in ("all", "articles", "whitepapers", "webinars")
    for ext in ("atom", "rss", "json")
]


def expected_webinars(all_items: list[dict[str, Any]], titles: tuple[str, ...]) -> list[str]:
    """The titles webinars.* should list today: publish.select_webinars on all.json's items."""
    now = datetime.now(UTC)
    starts = {}
    for item in all_items:
        if item["title"] in titles:
            event = item["_syndicator"].get("event")
            when = event["start"] if event else item["date_published"]
            starts[item["title"]] = datetime.fromisoformat(when)
    upcoming = sorted((start, title) for title, start in starts.items() if start > now)
    recent = sorted(
        (
            (start, title)
            for title, start in starts.items()
            if now - timedelta(days=7) <= start <= now
        ),
        reverse=True,
    )
    return [title for _, title in [*upcoming, *recent]]


@dataclass
class Setup:
    folder: Path
    config: Path
    server: PartnerServer

    @property
    def output(self) -> Path:
        return self.folder / "public"

    def run(
        self, *args: str, expect: int = 0, columns: int = 200
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "syndicator", *args, "-c", str(self.config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": str(columns)},
        )
        assert result.returncode == expect, (
            f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
        return result

    def serve_file(self, feed_id: str, body: bytes | None = None) -> None:
        file_name = FEEDS[feed_id][0]
        data = body if body is not None else (demo_feeds_dir() / file_name).read_bytes()
        self.server.set(f"/{file_name}", data, content_type=CONTENT_TYPES[Path(file_name).suffix])

    def original(self, feed_id: str) -> bytes:
        return (demo_feeds_dir() / FEEDS[feed_id][0]).read_bytes()

    def atom(self, name: str = "all") -> Any:
        return feedparser.parse(io.BytesIO((self.output / f"{name}.atom").read_bytes()))

    def json_feed(self, name: str = "all") -> Any:
        return json.loads((self.output / f"{name}.json").read_text(encoding="utf-8"))

    def ids_by_title(self) -> dict[str, str]:
        return {item["title"]: item["id"] for item in self.json_feed()["items"]}

    def mtimes(self) -> dict[str, int]:
        files = sorted(p for p in self.output.rglob("*") if p.is_file())  # tags/, partners/ too
        return {str(p.relative_to(self.output)): p.stat().st_mtime_ns for p in files}


def write_config(folder: Path, server: PartnerServer) -> Path:
    lines = [
        "site:",
        "  title: WeGO Partner Digest",
        "  url: https://feeds.example.org/",
        "  language: en",
        "  max_items: 50",
        "storage:",
        "  database: data/syndicator.db",
        "  output_dir: public",
        "allow_private_networks: true  # partners are on 127.0.0.1 in tests",
        "feeds:",
    ]
    for feed_id, (file_name, kind, priority) in FEEDS.items():
        lines += [
            f"  - id: {feed_id}",
            f"    url: {server.url('/' + file_name)}",
            f"    kind: {kind}",
            f"    priority: {priority}",
        ]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with PartnerServer() as server:
        result = Setup(tmp_path, write_config(tmp_path, server), server)
        for feed_id in FEEDS:
            result.serve_file(feed_id)
        yield result


def test_status_and_explain_before_the_first_fetch_create_no_database(setup: Setup) -> None:
    # `status` run as root before the service's first start left a root-owned database
    # the service could not write.
    status = json.loads(setup.run("status", "--json").stdout)
    assert [(f["id"], f["last_attempt"]) for f in status["feeds"]] == [
        (feed_id, None) for feed_id in FEEDS
    ]
    assert (status["stories"], status["entries"]) == (0, 0)
    explained = setup.run("explain", "https://example.org/x", expect=2)
    assert "no database at" in explained.stderr
    assert not (setup.folder / "data").exists()


def test_first_pass_publishes_merged_deduplicated_valid_feeds(setup: Setup) -> None:
    result = setup.run("fetch")
    assert "4 feeds: 4 ok, 0 not modified, 0 failed; 12 new stories" in result.stdout

    all_feed = setup.json_feed()
    items = all_feed["items"]
    titles = [item["title"] for item in items]
    assert len(items) == 12 and len(set(titles)) == 12
    assert all(item["id"].startswith("tag:feeds.example.org,") for item in items)
    # newest first by published
    dates = [item["date_published"] for item in items]
    assert dates == sorted(dates, reverse=True)

    # the same ids, titles and order in Atom and RSS
    atom = setup.atom()
    assert [e.id for e in atom.entries] == [item["id"] for item in items]
    assert [e.title for e in atom.entries] == titles
    rss = feedparser.parse(io.BytesIO((setup.output / "all.rss").read_bytes()))
    assert [e.id for e in rss.entries] == [item["id"] for item in items]

    # one story per press release, credited to the partner shown and to the other carrier
    by_title = {item["title"]: item for item in items}
    partnership = by_title[PARTNERSHIP]["_syndicator"]
    assert partnership["source"]["id"] == "wego-news"
    assert [p["id"] for p in partnership["also_published_by"]] == ["scw-news"]
    assert by_title[SEOUL]["_syndicator"]["also_published_by"][0]["id"] == "scw-news"
    assert "Seoul opens city-wide digital twin to WeGO members" not in by_title
    atom_partnership = next(e for e in atom.entries if e.title == PARTNERSHIP)
    assert atom_partnership.source.title == "WeGO News"

    # one published feed per content kind
    assert len(setup.json_feed("articles")["items"]) == 6
    assert {i["title"] for i in setup.json_feed("whitepapers")["items"]} == {
        "Digital twins for city planning: a practical guide",
        "Connectivity trend report 2026",
        "Net-zero municipal buildings: what the data says",
    }
    # webinars.* lists upcoming then recent webinars (issue 6): the demo's dates are real
    # dates, so which ones are listed depends on today (tests/test_publish_extra.py pins it)
    webinars = setup.json_feed("webinars")["items"]
    assert [i["title"] for i in webinars] == expected_webinars(items, WEBINAR_TITLES)
    assert by_title[WEBINAR_4]["_syndicator"]["also_published_by"][0]["id"] == "scw-news"

    # safe HTML: the partner's <script> and onclick are gone, relative links absolute
    html = " ".join(i.get("content_html", "") for i in items)
    assert "<script" not in html and "onclick" not in html
    assert (
        'href="https://www.smartcitiesworld.net/news/news/curb-management-explained-10512"' in html
    )

    # every published Atom, RSS and OPML file passes the W3C validator
    files = sorted(setup.output.glob("*.atom")) + sorted(setup.output.glob("*.rss"))
    validate_feed_files([*files, setup.output / "sources.opml"])
    # .syndicator-partners.json: what the partner files were made of (publish.py)
    names = ["webinars.ics", "sources.opml", "index.html", "partners", ".syndicator-partners.json"]
    assert sorted(p.name for p in setup.output.iterdir()) == sorted([*PUBLISHED_FEEDS, *names])


def test_second_pass_is_conditional_parses_nothing_and_rewrites_nothing(setup: Setup) -> None:
    setup.run("fetch")
    before = setup.mtimes()
    bytes_before = {name: (setup.output / name).read_bytes() for name in before}
    setup.server.clear_requests()

    result = setup.run("fetch", "--log-level", "DEBUG")

    assert (
        "4 feeds: 0 ok, 4 not modified, 0 failed; 0 new stories, 0 updated; 0 files written"
        in result.stdout
    )
    assert "HTTP 304" in result.stderr
    requests = setup.server.requests
    assert len(requests) == 4
    for request in requests:
        assert request.headers["if-none-match"].startswith('"')
        assert request.headers["if-modified-since"]
        assert request.headers["user-agent"].startswith("syndicator/")
        assert "(+https://feeds.example.org/)" in request.headers["user-agent"]
    assert setup.mtimes() == before
    assert {name: (setup.output / name).read_bytes() for name in before} == bytes_before


def test_same_body_without_validators_is_not_parsed_again(setup: Setup) -> None:
    body = setup.original("scw-news")
    setup.server.set("/scw-news.rss", body, etag=None, last_modified=None)
    setup.run("fetch", "--feed", "scw-news")
    result = setup.run("fetch", "--feed", "scw-news", "--log-level", "DEBUG")
    assert "1 feed: 0 ok, 1 not modified" in result.stdout
    assert "same body as last time" in result.stderr


def test_story_ids_survive_guid_change_restart_and_publish(setup: Setup) -> None:
    setup.run("fetch")
    ids = setup.ids_by_title()

    # The media partner regenerates every GUID, changes title case and link decorations.
    churned = (
        setup.original("scw-news")
        .replace(b'<guid isPermaLink="false">scw-', b'<guid isPermaLink="false">v2-scw-')
        .replace(
            b"WeGO And SmartCitiesWorld Sign A Content Partnership",
            b"WEGO and SmartCitiesWorld sign a content partnership",
        )
        .replace(b"utm_source=rss", b"utm_source=feed&amp;fbclid=abc")
    )
    setup.serve_file("scw-news", churned)
    result = setup.run("fetch")
    assert "0 new stories" in result.stdout
    assert setup.ids_by_title() == ids

    # publish alone, into an empty folder, after a restart: the same ids and the same bytes
    all_atom = (setup.output / "all.atom").read_bytes()
    shutil.rmtree(setup.output)
    setup.run("publish")
    assert setup.ids_by_title() == ids
    assert (setup.output / "all.atom").read_bytes() == all_atom


def test_guid_churn_with_rotated_tracking_parameters_rewrites_no_file(setup: Setup) -> None:
    setup.run("fetch")
    before = {p: (setup.output / p).read_bytes() for p in ("all.atom", "articles.json")}
    churned = (
        setup.original("scw-news")
        .replace(b'<guid isPermaLink="false">scw-', b'<guid isPermaLink="false">v3-scw-')
        .replace(b"utm_source=rss&amp;utm_medium=feed", b"utm_source=rss2&amp;utm_medium=x")
    )
    setup.serve_file("scw-news", churned)
    result = setup.run("fetch", "--feed", "scw-news")
    assert "0 new stories, 0 updated; 0 files written" in result.stdout
    assert {p: (setup.output / p).read_bytes() for p in before} == before


def test_changed_story_is_updated_in_place(setup: Setup) -> None:
    setup.run("fetch")
    order = [item["id"] for item in setup.json_feed()["items"]]
    before = {item["id"]: item for item in setup.json_feed()["items"]}
    edited = setup.original("scw-whitepapers").replace(
        b"Connectivity trend report 2026", b"Connectivity trend report 2026 (revised edition)"
    )
    setup.serve_file("scw-whitepapers", edited)
    result = setup.run("fetch")
    assert "0 new stories, 1 updated" in result.stdout
    after = {item["id"]: item for item in setup.json_feed()["items"]}
    assert [item["id"] for item in setup.json_feed()["items"]] == order
    changed = [i for i in after if after[i]["title"] != before[i]["title"]]
    assert len(changed) == 1
    story = after[changed[0]]
    assert story["title"] == "Connectivity trend report 2026 (revised edition)"
    assert story["date_published"] == before[changed[0]]["date_published"]
    assert story["date_modified"] > before[changed[0]]["date_modified"]


def test_broken_partners_are_reported_and_lose_nothing(setup: Setup) -> None:
    setup.run("fetch")
    all_before = setup.ids_by_title()

    page = (
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss/news.xml">'
        b"</head><body>We moved our feed</body></html>"
    )
    setup.server.set("/scw-news.rss", page, content_type="text/html")
    setup.server.set("/wego-news.atom", b"gone", status=500, content_type="text/plain")
    result = setup.run("fetch")
    assert "4 feeds: 0 ok, 2 not modified, 2 failed" in result.stdout
    assert "wego-news: HTTP 500" in result.stderr
    assert "scw-news:" in result.stderr and "HTML page" in result.stderr
    # nothing stored was deleted: every story is still published, with the same id
    assert setup.ids_by_title() == all_before

    status = json.loads(setup.run("status", "--json").stdout)
    by_id = {feed["id"]: feed for feed in status["feeds"]}
    assert by_id["wego-news"]["health"] == "failing"
    assert by_id["wego-news"]["http_status"] == 500
    assert by_id["wego-news"]["consecutive_errors"] == 1
    assert "HTTP 500" in by_id["wego-news"]["last_error"]
    assert "HTML page" in by_id["scw-news"]["last_error"]
    # The partner moved its feed and the page says where: the sentence gives the fix.
    line = by_id["scw-news"]["line"]
    assert by_id["scw-news"]["last_error"].endswith(
        f"; the page announces {setup.server.url('/rss/news.xml')}: if that is the feed, put "
        f"it in feeds.yaml (line {line})"
    )
    assert by_id["scw-webinars"]["health"] == "ok"
    assert status["stories"] == 12 and status["entries"] == 15

    table = setup.run("status").stdout
    assert "failing" in table and "wego-news" in table
    # An 80-column terminal (or status piped into a cron mail) keeps every heading whole,
    # and each problem is a whole sentence of its own, not folded into a narrow column.
    narrow = setup.run("status", columns=80).stdout.splitlines()
    header = next(line for line in narrow if "health" in line)
    assert header.split() == ["feed", "health", "HTTP", "entries", "errors", "last", "success",
                              "next", "due"]  # fmt: skip
    table_lines = narrow[: narrow.index(next(line for line in narrow if "wego-news:" in line))]
    assert max(len(line) for line in table_lines) <= 80
    for feed_id in ("wego-news", "scw-news"):
        assert any(by_id[feed_id]["last_error"] in line for line in narrow), feed_id

    # the broken body is not remembered as "seen": the next fetch fails again, not "not modified"
    again = setup.run("fetch", "--feed", "scw-news", expect=2)
    assert "1 feed: 0 ok, 0 not modified, 1 failed" in again.stdout
    status = json.loads(setup.run("status", "--json").stdout)
    assert status["feeds"][1]["consecutive_errors"] == 2
    # once the partner is fixed, the validators of the last good body still apply
    setup.serve_file("scw-news")
    setup.run("fetch", "--feed", "scw-news")
    fixed = json.loads(setup.run("status", "--json").stdout)
    assert fixed["feeds"][1]["health"] == "ok" and fixed["feeds"][1]["consecutive_errors"] == 0

    db = sqlite3.connect(setup.folder / "data" / "syndicator.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_moved_feed_that_is_cut_off_warns_of_both(setup: Setup) -> None:
    # The redirect's warning used to hide the body's: the operator updated the url, and
    # only then learnt that the partner's feed was cut off as well.
    original = setup.original("scw-news")
    cut = original[: original.rindex(b"<item>") + len(b"<item><title>Cut h")]
    setup.server.set("/moved.rss", cut, content_type=CONTENT_TYPES[".rss"])
    setup.server.redirect("/scw-news.rss", "/moved.rss", status=301)
    for outcome in ("1 ok, 0 not modified", "0 ok, 1 not modified"):  # then 304, same body
        fetched = setup.run("fetch", "--feed", "scw-news")
        assert f"1 feed: {outcome}, 0 failed" in fetched.stdout
        status = json.loads(setup.run("status", "--json").stdout)
        [warning] = [f["warning"] for f in status["feeds"] if f["id"] == "scw-news"]
        moved, cut_off = warning.split("\n")
        assert moved.startswith("scw-news: the feed moved permanently to ")
        assert cut_off.startswith("scw-news: the feed is malformed or cut off")
        table = setup.run("status").stdout.splitlines()  # each a sentence of its own
        assert moved in table and cut_off in table
        logged = fetched.stderr.splitlines()  # one event a line
        assert [any(line.endswith(w) for line in logged) for w in (moved, cut_off)] == [1, 1]


def test_a_feed_that_empties_is_ok_with_a_warning_and_keeps_its_stories(setup: Setup) -> None:
    setup.run("fetch")
    titles = set(setup.ids_by_title())
    original = setup.original("scw-news")
    empty = original[: original.index(b"<item>")] + original[original.rindex(b"</item>") + 7 :]
    setup.serve_file("scw-news", empty)
    for outcome in ("1 ok, 0 not modified", "0 ok, 1 not modified"):  # then 304, same body
        assert f"1 feed: {outcome}" in setup.run("fetch", "--feed", "scw-news").stdout
        status = json.loads(setup.run("status", "--json").stdout)
        [scw] = [f for f in status["feeds"] if f["id"] == "scw-news"]
        assert (scw["health"], scw["entries"]) == ("ok", 0)
        assert scw["warning"] == (
            "scw-news: the feed lists no entries now; the stories it carried stay published; "
            "tell the partner if that is not expected"
        )
    assert set(setup.ids_by_title()) == titles


def test_every_feed_failing_exits_2_and_keeps_the_published_files(setup: Setup) -> None:
    setup.run("fetch")
    before = setup.mtimes()
    for feed_id, (file_name, _, _) in FEEDS.items():
        setup.server.set(f"/{file_name}", b"", status=404, content_type="text/plain")
        assert feed_id
    result = setup.run("fetch", expect=2)
    assert "0 ok, 0 not modified, 4 failed" in result.stdout
    assert "HTTP 404 Not Found from http://127.0.0.1" in result.stderr
    assert setup.mtimes() == before


def test_unknown_feed_id_is_refused_with_a_hint(setup: Setup) -> None:
    result = setup.run("fetch", "--feed", "scw-new", expect=2)
    assert "no feed 'scw-new'" in result.stderr and "did you mean 'scw-news'?" in result.stderr


def test_private_addresses_are_refused_unless_allowed(setup: Setup) -> None:
    text = setup.config.read_text().replace(
        "allow_private_networks: true", "allow_private_networks: false"
    )
    setup.config.write_text(text)
    result = setup.run("fetch", expect=2)
    assert "allow_private_networks" in result.stderr
    assert setup.server.requests == []


def test_invalid_config_is_refused_by_every_verb_with_its_lines(tmp_path: Path) -> None:
    broken = Path(__file__).parent / "data" / "config" / "broken.yaml"
    config = tmp_path / "feeds.yaml"
    config.write_text(broken.read_text(encoding="utf-8"), encoding="utf-8")
    setup = Setup(tmp_path, config, PartnerServer())
    check = setup.run("check", expect=1)
    assert f"{config}:2: site.title: " in check.stderr
    assert f"{config}:14: feeds[0].intervall: unknown key; did you mean 'interval'?" in check.stderr
    assert f"{config}:15: feeds[0].enabled: " in check.stderr
    for verb in ("fetch", "publish", "status"):
        refused = setup.run(verb, expect=1)
        assert refused.stderr.startswith(check.stderr)
    # status cannot read the partners' table without a valid file; it says where to look
    assert setup.run("status", expect=1).stderr.removeprefix(check.stderr) == (
        "a `syndicator run` started before the edit keeps polling on the last good "
        "feeds.yaml: its /status page shows every partner, and these problems\n"
    )
    # `status --json` keeps its promise of one JSON document on stdout, problems included
    refused_json = setup.run("status", "--json", expect=1)
    document = json.loads(refused_json.stdout)
    assert document["config"] == str(config.resolve())
    assert document["config_problems"] == check.stderr.splitlines()[:-1]  # less the count
    assert document["feeds"] == [] and document["database"] is None
    assert refused_json.stderr == refused.stderr
    assert not (tmp_path / "syndicator.db").exists()


def test_a_missing_feeds_yaml_names_the_path_looked_at_and_how_to_give_it(tmp_path: Path) -> None:
    setup = Setup(tmp_path, tmp_path / "elsewhere" / "feeds.yaml", PartnerServer())
    for verb in ("check", "status"):
        refused = setup.run(verb, expect=1).stderr
        assert refused.startswith(
            f"{setup.config}:1: no such file: {setup.config}; give its path with -c FILE "
            "or SYNDICATOR_CONFIG=FILE\n"
        )
        assert "keeps polling" not in refused  # no feeds.yaml: no edit a service refused
    document = json.loads(setup.run("status", "--json", expect=1).stdout)
    assert document["config_problems"] == [
        f"{setup.config}:1: no such file: {setup.config}; give its path with -c FILE "
        "or SYNDICATOR_CONFIG=FILE"
    ]
    assert document["stories"] is None and document["feeds"] == []
    assert not (tmp_path / "elsewhere").exists()


def test_a_log_level_from_the_environment_is_checked(setup: Setup) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "syndicator", "check", "-c", str(setup.config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYNDICATOR_LOG_LEVEL": "loud"},
    )
    assert result.returncode == 2
    assert "SYNDICATOR_LOG_LEVEL=loud is not a log level; use one of DEBUG, INFO" in result.stderr
    assert "Traceback" not in result.stderr


def test_output_cut_short_by_its_reader_is_no_error(setup: Setup) -> None:
    # `syndicator status --json | head -1`: the reader is gone before the output is written
    # (closed here at once: the command has not even started Python by then).
    command = [sys.executable, "-m", "syndicator", "status", "--json", "-c", str(setup.config)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as status:
        assert status.stdout is not None and status.stderr is not None
        status.stdout.close()
        errors = status.stderr.read().decode()
        assert status.wait(timeout=60) == 0, errors
    assert "BrokenPipeError" not in errors


def test_demo_runs_offline_and_publishes(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "syndicator",
            "demo",
            "--no-serve",
            "--port",
            "0",
            "--dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "4 feeds: 4 ok, 0 not modified, 0 failed; 12 new stories" in result.stdout
    assert len(json.loads((tmp_path / "public" / "all.json").read_text())["items"]) == 12
    # Each feed's line of the pass log counts in words an operator reads without tripping.
    assert "scw-news: 5 entries, 3 new stories, 0 updated, 2 new entries joined existing " in (
        result.stderr
    )
    assert "scw-webinars: 3 entries, 2 new stories, 0 updated, 1 new entry joined an existing " in (
        result.stderr
    )


def test_demo_without_dir_serves_then_removes_its_temporary_folder(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "syndicator", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        assert lines[1].startswith(f"demo configuration: {tmp_path}"), lines
        url = lines[3].split()[2].removesuffix("index.html")
        with urllib.request.urlopen(url + "all.json", timeout=10) as response:
            assert len(json.loads(response.read())["items"]) == 12
        [folder] = tmp_path.glob("syndicator-demo-*")
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    assert not folder.exists()
    # It writes its own feeds.yaml: -c was accepted and silently ignored.
    with_config = [sys.executable, "-m", "syndicator", "demo", "-c", "feeds.yaml"]
    refused = subprocess.run(with_config, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and "unrecognized arguments: -c" in refused.stderr


def test_serve_serves_published_files_with_feed_types_and_stops_on_sigterm(setup: Setup) -> None:
    setup.run("fetch")
    process = subprocess.Popen(
        [sys.executable, "-m", "syndicator", "serve", "--port", "0", "-c", str(setup.config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.rsplit(" at ", 1)[1].split()[0]
        expected = {
            "all.atom": "application/atom+xml; charset=utf-8",
            "all.rss": "application/rss+xml; charset=utf-8",
            "all.json": "application/feed+json; charset=utf-8",
            "sources.opml": "text/x-opml; charset=utf-8",
            "index.html": "text/html; charset=utf-8",
        }
        for name, content_type in expected.items():
            with urllib.request.urlopen(url + name, timeout=10) as response:
                assert response.headers["Content-Type"] == content_type
                assert response.read() == (setup.output / name).read_bytes()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + "../feeds.yaml", timeout=10)
        assert missing.value.code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
