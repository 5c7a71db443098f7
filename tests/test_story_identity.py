"""Story ids never move (issue 5), through real passes: a local partner server, `syndicator
fetch` / `publish` / `explain` in this process, a real SQLite file, the published JSON feed.

Each test plays partners over several polls: a partner that regenerates GUIDs on every
poll, a copy that arrives days later, a representative that changes, two stories found to
be one, a story updated by its partner, a restart and a `publish` alone.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from feed_validator import validate_feed_files
from partner_server import PartnerServer

from syndicator import cli

DAY = timedelta(days=1)
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

# Texts long enough for the text rules (shingles of the first 120 words).
TWIN = (
    "Seoul has opened its city-wide digital twin to the member cities of the World Smart "
    "Sustainable Cities Organization. The platform models buildings, traffic, air quality "
    "and energy use across all twenty-five districts, and city officials from other "
    "members can now run their own planning scenarios on it. The first cities to join are "
    "Kigali, Almaty and Medellín, which will test flood and heat models this winter."
)
TWIN_MORE = (
    "Officials said the twin had already cut the time needed to approve a new building by "
    "a third, because planners can check shade, wind and traffic effects before a hearing. "
    "Member cities will get training from the Seoul Digital Foundation in March."
)
LIGHTING = (
    "Almaty has finished replacing forty thousand street lights with connected LED "
    "fixtures that dim when streets are empty and report faults on their own. The city "
    "expects to save a third of its lighting bill and to repair broken lights within a day."
)


@dataclass
class Item:
    guid: str
    title: str
    link: str
    text: str
    published: datetime

    def rss(self) -> str:
        return (
            "<item>"
            f"<title>{escape(self.title)}</title>"
            f"<link>{escape(self.link)}</link>"
            f'<guid isPermaLink="false">{escape(self.guid)}</guid>'
            f"<pubDate>{format_datetime(self.published)}</pubDate>"
            f"<description>{escape('<p>' + self.text + '</p>')}</description>"
            "</item>"
        )


def rss(title: str, items: Sequence[Item]) -> bytes:
    body = "".join(item.rss() for item in items)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link>"
        f"<description>{escape(title)}</description>{body}</channel></rss>"
    ).encode()


@dataclass
class World:
    """Partner feeds on a local server and a feeds.yaml pointing at them."""

    folder: Path
    server: PartnerServer
    priorities: dict[str, int] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.folder / "feeds.yaml"

    @property
    def database(self) -> Path:
        return self.folder / "syndicator.db"

    def write_config(self, **priorities: int) -> None:
        self.priorities.update(priorities)
        lines = [
            "site:",
            "  title: Identity test",
            "  url: https://feeds.example.org/",
            "storage:",
            "  database: syndicator.db",
            "  output_dir: public",
            "allow_private_networks: true  # partners are on 127.0.0.1 in tests",
            "feeds:",
        ]
        for feed_id in ("wego", "scw", "urbanlab"):
            lines += [
                f"  - id: {feed_id}",
                f"    url: {self.server.url('/' + feed_id)}",
                f"    priority: {self.priorities.get(feed_id, 0)}",
            ]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def serve(self, feed_id: str, *items: Item) -> None:
        self.server.set(f"/{feed_id}", rss(feed_id, items), content_type="application/rss+xml")

    def run(self, *args: str, expect: int = 0) -> None:
        assert cli.main([*args, "-c", str(self.config)]) == expect

    def fetch(self) -> None:
        self.run("fetch")

    def items(self) -> list[dict[str, Any]]:
        data = json.loads((self.folder / "public" / "all.json").read_text(encoding="utf-8"))
        return list(data["items"])

    def ids(self) -> list[str]:
        return [item["id"] for item in self.items()]

    def item(self, title_word: str) -> dict[str, Any]:
        [found] = [i for i in self.items() if title_word.lower() in i["title"].lower()]
        return found

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as db:
            return db.execute(sql).fetchall()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with PartnerServer() as server:
        result = World(tmp_path, server)
        result.write_config()
        for feed_id in ("wego", "scw", "urbanlab"):
            result.serve(feed_id)
        yield result


def twin(guid: str, link: str, published: datetime = START, title: str | None = None) -> Item:
    return Item(
        guid, title or "Seoul opens its digital twin to member cities", link, TWIN, published
    )


def test_guid_churn_on_every_poll_keeps_the_story_and_its_one_row(world: World) -> None:
    lights = Item("l-1", "Almaty finishes its smart street lighting roll-out",
                  "https://scw.example/n/almaty-lights", LIGHTING, START)  # fmt: skip
    for poll in range(4):
        # The partner mints new GUIDs each time and flips http/https, www. and tracking.
        link = ("http://www." if poll % 2 else "https://") + "scw.example/n/seoul-twin"
        world.serve("scw", twin(f"scw-{poll}-twin", f"{link}?utm_source=rss&poll={poll}"), lights)
        world.fetch()
        if poll == 0:
            first_ids = world.ids()
        assert world.ids() == first_ids
    assert len(first_ids) == 2
    assert world.rows("SELECT COUNT(*) FROM entries") == [(2,)]
    [(rule,)] = world.rows("SELECT match_rule FROM entries WHERE title LIKE 'Seoul%'")
    assert rule == "new story"  # the row kept the rule that placed it, under the new key


def test_guid_churn_without_any_link_is_recognised_by_title_and_text(world: World) -> None:
    ids = []
    for poll in range(3):
        world.serve("wego", Item(f"random-{poll}", "Seoul opens its digital twin to member cities",
                                 "", TWIN, START))  # fmt: skip
        world.fetch()
        ids.append(world.ids())
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 1
    assert world.rows("SELECT COUNT(*) FROM entries") == [(1,)]


def test_late_copy_joins_and_representative_change_keeps_the_id(world: World) -> None:
    world.serve("wego", twin("w-1", "https://we-gov.org/news/seoul-twin/"))
    world.fetch()
    [story_id] = world.ids()
    # Six days later a think tank carries the same release, with its own title decoration.
    late = Item("u-9", "Seoul opens its digital twin to member cities | Urban Futures Lab",
                "https://urbanlab.example/2026/seoul-twin", TWIN + " " + TWIN_MORE,
                START + 6 * DAY)  # fmt: skip
    world.serve("urbanlab", late)
    world.fetch()
    assert world.ids() == [story_id]
    item = world.item("Seoul")
    # The later copy has more text: it is now the shown copy, under the same id.
    assert item["url"] == "https://urbanlab.example/2026/seoul-twin"
    credits = item["_syndicator"]
    assert credits["source"]["id"] == "urbanlab"
    assert [p["id"] for p in credits["also_published_by"]] == ["wego"]
    # An operator's priority makes WeGO's copy the shown one again: same id.
    world.write_config(wego=10)
    world.run("publish")
    assert world.ids() == [story_id]
    assert world.item("Seoul")["url"] == "https://we-gov.org/news/seoul-twin/"


def test_two_stories_found_to_be_one_keep_the_older_id(world: World, capsys: Any) -> None:
    # WeGO's release and SCW's piece five days later share a title but not their text:
    # two stories, as far as anyone can tell.
    world.serve("wego", Item("w-1", "Seoul opens its digital twin to member cities",
                             "https://we-gov.org/news/seoul-twin/", TWIN, START))  # fmt: skip
    world.fetch()
    world.serve("scw", Item("s-1", "Seoul opens its digital twin to member cities",
                            "https://scw.example/n/seoul-twin", TWIN_MORE,
                            START + 5 * DAY))  # fmt: skip
    world.fetch()
    [(older_id,)] = world.rows("SELECT story_id FROM entries WHERE feed_id = 'wego'")
    [(newer_id,)] = world.rows("SELECT story_id FROM entries WHERE feed_id = 'scw'")
    assert sorted(world.ids()) == sorted([older_id, newer_id])
    # Then the think tank's copy carries both texts: it is the same release, so are they.
    bridge = Item("u-1", "Seoul opens its digital twin to member cities",
                  "https://urbanlab.example/seoul-twin", TWIN + " " + TWIN_MORE,
                  START + 2 * DAY)  # fmt: skip
    world.serve("urbanlab", bridge)
    world.fetch()
    assert world.ids() == [older_id]  # the older id is kept; the alias is no longer published
    assert world.rows("SELECT alias_id, story_id FROM story_aliases") == [(newer_id, older_id)]
    assert world.rows("SELECT COUNT(*) FROM stories") == [(1,)]
    partners = {p["id"] for p in world.item("Seoul")["_syndicator"]["also_published_by"]}
    assert partners | {world.item("Seoul")["_syndicator"]["source"]["id"]} == {
        "wego", "scw", "urbanlab"
    }  # fmt: skip
    # Explaining the alias leads to the story kept, and shows the merge.
    capsys.readouterr()
    world.run("explain", newer_id)
    shown = capsys.readouterr().out
    assert f"story {older_id}" in shown and f"({newer_id} was merged into it)" in shown
    assert "stories merged into it" in shown and "urbanlab u-1" in shown
    # A restart (a new process reads everything back from the file) and publish alone.
    subprocess.run(
        [sys.executable, "-m", "syndicator", "fetch", "-c", str(world.config)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert world.ids() == [older_id]
    world.run("publish")
    assert world.ids() == [older_id]
    validate_feed_files([world.folder / "public" / name for name in ("all.atom", "all.rss")])


def test_update_in_place_keeps_id_and_position(world: World) -> None:
    items = [
        Item(
            f"w-{n}",
            f"Story number {n} about smart city budgets",
            f"https://we-gov.org/n/{n}/",
            f"Text of story {n} on budgets, procurement and the cost of city platforms.",
            START + n * DAY,
        )
        for n in range(3)
    ]
    world.serve("wego", *items)
    world.fetch()
    before = world.items()
    edited = Item("w-0", "Story number 0 about smart city budgets, corrected", items[0].link,
                  items[0].text + " Corrected figures.", items[0].published)  # fmt: skip
    world.serve("wego", edited, *items[1:])
    world.fetch()
    after = world.items()
    assert [i["id"] for i in after] == [i["id"] for i in before]  # no jump to the top
    assert after[-1]["title"].endswith("corrected")
    assert after[-1]["date_modified"] > before[-1]["date_modified"]
    assert after[-1]["date_published"] == before[-1]["date_published"]


def test_explain_by_link_json_and_unknown_reference(world: World, capsys: Any) -> None:
    world.serve("wego", twin("w-1", "https://we-gov.org/news/seoul-twin/"))
    world.serve("scw", twin("s-1", "https://www.scw.example/n/seoul?utm_source=rss",
                            START + DAY, title="PRESS RELEASE: Seoul Opens Its Digital Twin "
                            "To Member Cities | SCW"))  # fmt: skip
    world.fetch()
    [story_id] = world.ids()
    capsys.readouterr()
    # Any copy's link, decorated differently, finds the story.
    world.run("explain", "http://scw.example/n/seoul/", "--json")
    explained = json.loads(capsys.readouterr().out)
    assert explained["story_id"] == story_id
    copies = {c["feed_id"]: c for c in explained["copies"]}
    assert copies["wego"]["rule"] == "new story" and copies["wego"]["shown"] is True
    assert copies["scw"]["rule"] == "title" and copies["scw"]["matched_with"] == "wego w-1"
    assert 0.9 < copies["scw"]["score"] <= 1.0
    world.run("explain", "tag:feeds.example.org,2026-01-01:nothing/here", expect=2)
    assert "no story, merged story, link or GUID" in capsys.readouterr().err


def test_entries_stored_before_signatures_get_theirs_and_still_match(world: World) -> None:
    world.serve("wego", twin("w-1", "https://we-gov.org/news/seoul-twin/"))
    world.fetch()
    with sqlite3.connect(world.database) as db:  # as a database from before schema 3 has them
        db.execute("UPDATE entries SET signature = NULL")
    world.serve("scw", twin("s-1", "https://scw.example/n/seoul", START + DAY))
    world.fetch()
    assert len(world.ids()) == 1
    assert world.rows("SELECT COUNT(*) FROM entries WHERE signature IS NULL") == [(0,)]
