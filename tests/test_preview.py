"""`syndicator preview`: a dry run of one feed against real partners on 127.0.0.1.

It reports HTTP, validators, format, guid quality, date sanity, each entry's kind and the
stored stories entries would join, and stores nothing: the folder of feeds.yaml (database,
published files) is compared byte for byte before and after.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from partner_server import PartnerServer

from syndicator.cli import main
from syndicator.demo import demo_feeds_dir

DATA = Path(__file__).parent / "data" / "operator"
SCW_NEWS = (demo_feeds_dir() / "scw-news.rss").read_bytes()
WEGO_NEWS = (demo_feeds_dir() / "wego-news.atom").read_bytes()
SEOUL_SCW_GUID = "scw-11869"  # scw-news links WeGO's Seoul page, with tracking parameters


@dataclass
class World:
    folder: Path
    config: Path
    server: PartnerServer

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        code = main([*args, "-c", str(self.config)])
        out, err = capsys.readouterr()
        return code, out, err

    def snapshot(self) -> dict[str, bytes]:
        return {
            str(path.relative_to(self.folder)): path.read_bytes()
            for path in sorted(self.folder.rglob("*"))
            if path.is_file()
        }


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with PartnerServer() as server:
        server.set("/scw-news.rss", SCW_NEWS)
        server.set(
            "/wego.atom",
            WEGO_NEWS,
            content_type="application/atom+xml",
            etag=None,
            last_modified=None,
        )
        server.set("/sloppy.rss", (DATA / "sloppy.rss").read_bytes())
        server.set("/newsroom/", (DATA / "page.html").read_bytes(), content_type="text/html")
        config = tmp_path / "feeds.yaml"
        config.write_text(
            "site: {title: Test Digest, url: 'https://feeds.example.org/'}\n"
            "allow_private_networks: true\n"
            "feeds:\n"
            "  - id: scw-news\n"
            f"    url: {server.url('/scw-news.rss')}\n"
        )
        yield World(tmp_path, config, server)


def test_preview_reports_missing_guids_future_dates_and_validators(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = world.run(capsys, "preview", world.server.url("/sloppy.rss"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        f"preview of {world.server.url('/sloppy.rss')} as 'sloppy-partner-news' (not in "
        "feeds.yaml; `add` would suggest this id), kind article; nothing is stored"
    )
    # add names a feed by its title: preview used to name it by its host ('127-0-0-1')
    added = world.run(capsys, "add", world.server.url("/sloppy.rss"), "--dry-run")[1]
    assert "id          sloppy-partner-news (suggested" in added
    assert lines[1].startswith("HTTP        200 OK, 1,7")  # 1,7xx bytes in ... s
    assert lines[1].endswith(" s, application/rss+xml; charset=utf-8")
    assert lines[2].startswith('validators  ETag "')
    assert "Last-Modified Wed, 01 Jan 2025 00:00:00 GMT: polls can be answered 304" in lines[2]
    assert 'format      rss20, "Sloppy Partner News", 6 entries' in out
    assert (
        "guids       2 of 6 entries without a guid: identified 1 by their link and 1 by a "
        "hash of title and text (an edit makes it a new entry)"
    ) in lines
    assert (
        "guids       2 entries share the guid 'sloppy-shared': told apart by link, title or content"
    ) in lines
    assert any(line.startswith("guids       1 of 6 guids are the entry's link") for line in lines)
    assert "dates       1 entry without a date: the time first seen is used" in lines
    future = lines.index(
        "dates       2 entries dated in the future (later than now + 1 day): clamped to the "
        "fetch time"
    )
    assert lines[future + 1 : future + 3] == [
        "              2099-11-24 10:00 UTC  Dated in 2099 by a typo",
        "              2100-01-01 00:00 UTC  Another one from the future",
    ]
    assert "entries     6 usable; no database yet: nothing to merge with" in lines
    entry_lines = [line for line in lines if re.match(r" +[0-9]+\. ", line)]
    assert len(entry_lines) == 6
    assert all(" article (feed kind), new: " in line for line in entry_lines)
    assert "UTC~ article (feed kind), new: Dated in 2099 by a typo" in out  # clamped: a guess


def test_preview_says_when_there_are_no_validators_and_when_all_dates_are_the_same(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    same_date = SCW_NEWS
    for day in (b"Mon, 16 Nov", b"Fri, 13 Nov", b"Tue, 10 Nov", b"Mon, 09 Nov"):
        same_date = same_date.replace(day, b"Wed, 18 Nov")
    same_date = same_date.replace(b"12:00:00", b"14:05:00").replace(b"09:30:00", b"14:05:00")
    same_date = same_date.replace(b"11:15:00", b"14:05:00").replace(b"08:00:00", b"14:05:00")
    world.server.set("/same.rss", same_date, etag=None, last_modified=None)
    code, out, _ = world.run(capsys, "preview", world.server.url("/same.rss"))
    assert code == 0
    assert "validators  none (no ETag, no Last-Modified): every poll downloads" in out
    assert "guids       ok: each of the 5 entries has its own guid" in out
    assert (
        "dates       every entry has the same date, 2026-11-18 14:05 UTC: probably the time "
        "the feed was built"
    ) in out


def test_preview_stores_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    # No database yet: none is created, nothing is published.
    assert world.run(capsys, "preview", "--feed", "scw-news")[0] == 0
    assert world.run(capsys, "preview", world.server.url("/sloppy.rss"), "--json")[0] == 0
    assert sorted(world.snapshot()) == ["feeds.yaml"]

    assert world.run(capsys, "fetch")[0] == 0
    before = world.snapshot()
    assert "syndicator.db" in before and "public/all.atom" in before
    for args in (
        ("preview", "--feed", "scw-news"),
        ("preview", world.server.url("/wego.atom")),
        ("preview", world.server.url("/sloppy.rss"), "--json"),
    ):
        code, _, err = world.run(capsys, *args)
        assert code == 0, err
    assert world.snapshot() == before


def test_preview_shows_the_stored_stories_entries_would_join(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.run(capsys, "fetch")[0] == 0
    with sqlite3.connect(world.folder / "syndicator.db") as db:
        (seoul,) = db.execute(
            "SELECT story_id FROM entries WHERE guid = ?", (SEOUL_SCW_GUID,)
        ).fetchone()

    code, out, err = world.run(capsys, "preview", world.server.url("/wego.atom"))
    assert code == 0, err
    lines = out.splitlines()
    database = world.folder / "syndicator.db"
    summary = next(line for line in lines if line.startswith("entries     4 usable; "))
    assert summary.endswith(f"are stored already ({database})")
    assert " 0 are stored already" in summary or ", 0 are stored already" in summary
    seoul_entry = next(i for i, line in enumerate(lines) if "Seoul opens its city-wide" in line)
    assert lines[seoul_entry + 1] == (
        f'         joins {seoul} by canonical url: "Seoul opens city-wide digital twin to '
        'WeGO members" (scw-news)'
    )

    # Its own feed: every entry is stored already, unchanged.
    code, out, _ = world.run(capsys, "preview", "--feed", "scw-news")
    assert code == 0
    assert "entries     5 usable; 0 would join stories of other entries, 5 are stored" in out
    assert out.count(", unchanged: ") == 5
    assert f"         stored already, in {seoul}" in out.splitlines()


def test_preview_json_is_one_document(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = world.run(capsys, "preview", world.server.url("/sloppy.rss"), "--json")
    assert code == 0
    document = json.loads(out)
    assert document["version"] == 1
    assert document["ok"] is True
    assert document["http"]["status"] == 200
    assert document["http"]["etag"].startswith('"')
    assert document["format"] == "rss20"
    assert document["guids"]["missing"] == 2
    assert document["guids"]["duplicates"] == [["sloppy-shared", 2]]
    assert [d["date"] for d in document["dates"]["future"]] == [
        "2099-11-24T10:00:00+00:00",
        "2100-01-01T00:00:00+00:00",
    ]
    assert {e["kind_rule"] for e in document["entries"]} == {"feed kind"}
    assert document["database"] is None


def test_preview_of_a_page_a_failure_or_a_bad_command_exits_2(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = world.run(capsys, "preview", world.server.url("/newsroom/"))
    assert code == 2
    assert "problem     127-0-0-1: not a feed: the server sent an HTML page" in out
    assert f"              {world.server.url('/newsroom/feeds/news.rss')}" in out.splitlines()

    code, out, _ = world.run(capsys, "preview", world.server.url("/gone.rss"))
    assert code == 2
    assert "HTTP        404 Not Found" in out
    assert "problem     127-0-0-1: HTTP 404 Not Found from" in out

    assert world.run(capsys, "preview")[0] == 2
    code, _, err = world.run(capsys, "preview", "--feed", "nope")
    assert code == 2
    assert "no feed 'nope'" in err


def test_preview_from_a_private_address_needs_the_flag(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.config.write_text(
        world.config.read_text().replace(
            "allow_private_networks: true", "allow_private_networks: false"
        )
    )
    code, out, _ = world.run(capsys, "preview", "--feed", "scw-news")
    assert code == 2
    assert "problem     scw-news: refused to fetch" in out
    assert "a local or test partner? pass --allow-private-networks" in out
    assert not world.server.requests  # refused before connecting

    code, out, _ = world.run(capsys, "preview", "--feed", "scw-news", "--allow-private-networks")
    assert code == 0
    assert 'format      rss20, "SmartCitiesWorld News", 5 entries' in out


def test_preview_of_a_url_not_in_feeds_yaml_uses_its_defaults_and_top_level_rules(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the feed would get once added with only an id and a URL: `defaults:` and the
    # top-level kind rules (both were ignored, so preview showed a feed a pass never would).
    world.config.write_text(
        world.config.read_text()
        + "defaults: {max_entries: 5}\n"
        + "rules:\n  - kind: webinar\n    title: first item\n"
    )
    code, out, err = world.run(capsys, "preview", world.server.url("/sloppy.rss"))
    assert code == 0, err
    assert 'format      rss20, "Sloppy Partner News", 5 entries' in out
    entry_lines = [line for line in out.splitlines() if re.match(r" +[0-9]+\. ", line)]
    assert len(entry_lines) == 5
    webinars = [line for line in entry_lines if " webinar (" in line]
    assert len(webinars) == 1 and "Shared guid, first item" in webinars[0]
