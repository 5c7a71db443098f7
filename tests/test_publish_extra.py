"""Issues 5 and 6, the published side: webinars.* order and webinars.ics, tag and partner
feeds, the per-feed cap, credit to every partner that carried a story, stale files.

render_all is tested as a pure function (``now`` injected); pipeline.publish_from_store on a
real SQLite store; and one end-to-end pass through `syndicator fetch` and a partner server.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import icalendar
import lxml.html
import pytest
from feed_validator import validate_feed_files
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from partner_server import PartnerServer
from published_checks import check_published_folder

from syndicator import pipeline, publish
from syndicator.config import Config, SiteConfig, load_config
from syndicator.dedupe import assign_stories
from syndicator.explain import explain
from syndicator.model import Credit, Enclosure, Entry, Event, FeedState, Kind, Partner, Story
from syndicator.normalize import xml_safe
from syndicator.pipeline import load_stories, partners, publish_from_store
from syndicator.publish import (
    FINGERPRINTS,
    calendar_uid,
    event_text,
    file_stem,
    render_all,
    select_webinars,
    write_output,
)
from syndicator.store import FeedUpdate, Store

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SITE = SiteConfig(title="WeGO Partner Digest", url="https://feeds.example.org/", max_items=10)

SCW = Partner("scw-news", "SmartCitiesWorld", "https://scw.example/rss", None, tags=("news",))
WEGO = Partner(
    "wego-news", 'WeGO <World> & "Cities"', "https://wego.example/feed", None, tags=("news",)
)
EVENTS = Partner(
    "scw-webinars", "SCW Webinars", "https://scw.example/webinars", None, "webinar", ("events",)
)
LONELY = Partner("lonely", "Lonely", "https://lonely.example/feed", None, tags=("quiet-tag",))
PARTNERS = [SCW, WEGO, EVENTS, LONELY]


def story(
    number: int, published: datetime, source: Partner = SCW, kind: Kind = "article", **changes: Any
) -> Story:
    fields: dict[str, Any] = {
        "story_id": f"tag:feeds.example.org,2026:s/{number:03d}",
        "kind": kind,
        "title": f"Story {number}",
        "link": f"https://example.org/{source.feed_id}/{number}",
        "summary": f"<p>Summary {number}.</p>",
        "content": "",
        "published": published,
        "updated": published,
        "authors": (),
        "categories": (),
        "enclosures": (),
        "thumbnail": None,
        "language": None,
        "source": source,
        "tags": source.tags,
    }
    fields.update(changes)
    return Story(**fields)


def webinar(number: int, start: datetime | None, published: datetime, **changes: Any) -> Story:
    event = Event(start, start + timedelta(hours=1), "Europe/Berlin", "test") if start else None
    return story(number, published, EVENTS, "webinar", event=event, **changes)


def ids(files: dict[str, bytes], name: str) -> list[str]:
    return [item["id"] for item in json.loads(files[f"{name}.json"])["items"]]


def atom_ids(data: bytes) -> list[str]:
    return [e.findtext(f"{ATOM}id") or "" for e in etree.fromstring(data).iter(f"{ATOM}entry")]


def sid(number: int) -> str:
    return f"tag:feeds.example.org,2026:s/{number:03d}"


# --- webinars.* and webinars.ics ---------------------------------------------------------------

WEBINARS = [
    webinar(1, NOW + timedelta(days=10), NOW - timedelta(days=20)),  # upcoming, later
    webinar(2, NOW + timedelta(hours=2), NOW - timedelta(days=30)),  # upcoming, soonest
    webinar(3, NOW - timedelta(days=1), NOW - timedelta(days=9)),  # recent past
    webinar(4, NOW - timedelta(days=6), NOW - timedelta(days=40)),  # older, still kept
    webinar(5, NOW - timedelta(days=8), NOW - timedelta(days=12)),  # past the 7 days
    webinar(6, None, NOW - timedelta(days=2)),  # start unknown: counts from its published date
    webinar(7, None, NOW - timedelta(days=20)),  # start unknown, published long ago
]


def test_webinars_upcoming_soonest_first_then_recent_past_latest_first() -> None:
    files = render_all(SITE, WEBINARS, PARTNERS, now=NOW)
    assert ids(files, "webinars") == [sid(2), sid(1), sid(3), sid(6), sid(4)]
    assert atom_ids(files["webinars.atom"]) == ids(files, "webinars")
    # every webinar stays in all.*, newest published first
    assert ids(files, "all") == [sid(6), sid(3), sid(5), sid(1), sid(7), sid(2), sid(4)]


def test_a_past_webinar_leaves_webinars_but_stays_in_all() -> None:
    before = render_all(SITE, WEBINARS, PARTNERS, now=NOW)
    later = render_all(SITE, WEBINARS, PARTNERS, now=NOW + timedelta(days=2))
    assert sid(4) in ids(before, "webinars")
    assert sid(4) not in ids(later, "webinars")  # started 8 days before
    assert sid(4) in ids(later, "all")
    assert ids(later, "all") == ids(before, "all")
    assert later["all.atom"] == before["all.atom"]  # time moves only the webinar files


def test_keep_past_webinars_is_configurable() -> None:
    files = render_all(
        dataclasses.replace(SITE, keep_past_webinars=timedelta(days=1)), WEBINARS, PARTNERS, now=NOW
    )
    assert ids(files, "webinars") == [sid(2), sid(1), sid(3)]
    assert select_webinars([], NOW, timedelta(days=1), 5) == []


@pytest.mark.parametrize(
    ("written", "local"),
    [
        ("KST", "Wed 08:00 KST"),  # WeGO's "16.12.2026, 08.00 KST": a day after in Seoul
        ("UTC+9", "Wed 08:00 UTC+9"),
        ("+09:00", "Wed 08:00 +09:00"),
        ("CET", "Wed 00:00 CET"),
        ("EST", "18:00 EST"),
        ("Asia/Seoul", "Wed 08:00 Asia/Seoul"),
        ("GMT", None),  # UTC already says it
        ("XYZ", None),  # unknown: no guess
    ],
)
def test_a_webinar_start_is_also_shown_in_the_zone_the_partner_wrote(
    written: str, local: str | None
) -> None:
    start = datetime(2026, 12, 15, 23, 0, tzinfo=UTC)  # Tuesday in UTC
    text = event_text(Event(start=start, timezone=written))
    utc = "Starts Tuesday 15 December 2026, 23:00 UTC"
    assert text == (utc if local is None else f"{utc} ({local})")


def test_webinar_items_carry_the_start_for_people_and_machines() -> None:
    start = datetime(2022, 5, 12, 13, 0, tzinfo=UTC)
    item = webinar(9, start, start - timedelta(days=3), content="<p>Agenda</p>")
    files = render_all(SITE, [item], PARTNERS, now=start)
    line = "Starts Thursday 12 May 2022, 13:00 UTC (15:00 Europe/Berlin), until 14:00 UTC"
    assert event_text(item.event) == line  # type: ignore[arg-type]
    entry = next(etree.fromstring(files["webinars.atom"]).iter(f"{ATOM}entry"))
    assert (entry.findtext(f"{ATOM}content") or "").startswith(
        f'<p class="syndicator-event">{line}</p><p>Agenda</p>'
    )
    rss_item = next(etree.fromstring(files["webinars.rss"]).iter("item"))
    assert (rss_item.findtext(CONTENT_ENCODED) or "").startswith(
        '<p class="syndicator-event">Starts Thursday'
    )
    json_item = json.loads(files["webinars.json"])["items"][0]
    assert json_item["content_html"].startswith('<p class="syndicator-event">Starts Thursday')
    assert json_item["_syndicator"]["event"] == {
        "start": "2022-05-12T13:00:00+00:00",
        "end": "2022-05-12T14:00:00+00:00",
        "timezone": "Europe/Berlin",
    }


def calendar_events(data: bytes) -> dict[str, Any]:
    calendar = icalendar.Calendar.from_ical(data)
    return {str(event["summary"]): event for event in calendar.walk("VEVENT")}


def test_webinars_ics_has_the_webinars_with_a_start_and_stable_uids() -> None:
    files = render_all(SITE, WEBINARS, PARTNERS, now=NOW)
    calendar = icalendar.Calendar.from_ical(files["webinars.ics"])
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["prodid"]) == "-//syndicator//feeds.example.org//EN"
    assert str(calendar["x-wr-calname"]) == "WeGO Partner Digest: Webinars"
    events = calendar_events(files["webinars.ics"])
    # the webinars of webinars.* whose start is known, soonest first
    assert list(events) == ["Story 4", "Story 3", "Story 2", "Story 1"]
    first = events["Story 2"]
    assert str(first["uid"]) == calendar_uid(SITE, sid(2))
    assert str(first["uid"]).endswith("@feeds.example.org")
    assert first.decoded("dtstart") == NOW + timedelta(hours=2)
    assert first.decoded("dtend") == NOW + timedelta(hours=3)
    assert first.decoded("dtstamp") == NOW - timedelta(days=30)  # the story's update, not now
    assert str(first["url"]) == "https://example.org/scw-webinars/2"
    assert "Published by SCW Webinars" in str(first["description"])
    assert "Summary 2." in str(first["description"])
    # the same input, another run: the same bytes, so the same UIDs
    again = render_all(SITE, list(reversed(WEBINARS)), PARTNERS, now=NOW)
    assert again["webinars.ics"] == files["webinars.ics"]
    assert files["webinars.ics"].endswith(b"END:VCALENDAR\r\n")


def test_an_empty_calendar_still_parses() -> None:
    calendar = icalendar.Calendar.from_ical(render_all(SITE, [], [], now=NOW)["webinars.ics"])
    assert calendar.walk("VEVENT") == []


# --- credit: every partner that carried the story ----------------------------------------------


def credited_story() -> Story:
    return story(
        1,
        NOW,
        SCW,
        content="<p>Text.</p>",
        also_published_by=(WEGO, EVENTS),
        other_copies=(
            Credit(WEGO, "https://wego.example/news/1?a=1&b=2"),
            Credit(EVENTS, "https://example.org/scw-news/1"),  # the same page as the shown copy
        ),
    )


def test_credit_paragraph_names_and_links_every_other_partner_escaped() -> None:
    files = render_all(SITE, [credited_story()], PARTNERS, now=NOW)
    paragraph = (
        '<p class="syndicator-credit">Also published by: '
        '<a href="https://wego.example/news/1?a=1&amp;b=2">WeGO &lt;World&gt; &amp; "Cities"</a>, '
        '<a href="https://example.org/scw-news/1">SCW Webinars</a></p>'
    )
    entry = next(etree.fromstring(files["all.atom"]).iter(f"{ATOM}entry"))
    assert entry.findtext(f"{ATOM}content") == "<p>Text.</p>" + paragraph
    item = next(etree.fromstring(files["all.rss"]).iter("item"))
    assert item.findtext(CONTENT_ENCODED) == "<p>Text.</p>" + paragraph
    json_item = json.loads(files["all.json"])["items"][0]
    assert json_item["content_html"] == "<p>Text.</p>" + paragraph
    parsed = feedparser.parse(io.BytesIO(files["all.atom"])).entries[0]
    shown = lxml.html.fragment_fromstring(parsed.content[0].value, create_parent="div")
    assert 'Also published by: WeGO <World> & "Cities", SCW Webinars' in shown.text_content()


def test_atom_related_links_and_json_urls_of_the_other_copies() -> None:
    files = render_all(SITE, [credited_story()], PARTNERS, now=NOW)
    entry = next(etree.fromstring(files["all.atom"]).iter(f"{ATOM}entry"))
    links = [dict(link.attrib) for link in entry.findall(f"{ATOM}link")]
    assert links == [
        {"rel": "alternate", "type": "text/html", "href": "https://example.org/scw-news/1"},
        {
            "rel": "related",
            "type": "text/html",
            "href": "https://wego.example/news/1?a=1&b=2",
            "title": 'WeGO <World> & "Cities"',
        },
    ]  # the copy at the shown page adds no second link to it
    credit = json.loads(files["all.json"])["items"][0]["_syndicator"]["also_published_by"]
    assert [(c["id"], c.get("url")) for c in credit] == [
        ("wego-news", "https://wego.example/news/1?a=1&b=2"),
        ("scw-webinars", "https://example.org/scw-news/1"),
    ]


def test_an_updated_story_keeps_its_place_and_id() -> None:
    stories = [story(n, NOW - timedelta(hours=n)) for n in range(1, 4)]
    before = render_all(SITE, stories, PARTNERS, now=NOW)
    stories[2] = dataclasses.replace(stories[2], title="Edited", updated=NOW + timedelta(hours=1))
    after = render_all(SITE, stories, PARTNERS, now=NOW)
    assert ids(after, "all") == ids(before, "all")
    item = json.loads(after["all.json"])["items"][2]
    assert (item["title"], item["date_modified"]) == ("Edited", "2026-11-25T13:00:00+00:00")


# --- the per-feed cap --------------------------------------------------------------------------


def test_max_stories_caps_a_feed_in_merged_and_tag_feeds_not_in_its_own() -> None:
    capped = dataclasses.replace(SCW, max_stories=2)
    stories = [story(n, NOW - timedelta(hours=n), capped) for n in range(1, 6)]
    stories += [story(n, NOW - timedelta(hours=n), WEGO) for n in range(6, 9)]
    files = render_all(
        dataclasses.replace(SITE, max_items=4), stories, [capped, WEGO, EVENTS], now=NOW
    )
    assert ids(files, "all") == [sid(1), sid(2), sid(6), sid(7)]
    assert ids(files, "articles") == [sid(1), sid(2), sid(6), sid(7)]
    assert ids(files, "tags/news") == [sid(1), sid(2), sid(6), sid(7)]
    assert atom_ids(files["partners/scw-news.atom"]) == [sid(n) for n in range(1, 5)]


# --- tag and partner feeds ---------------------------------------------------------------------


def test_every_tag_of_an_enabled_feed_gets_its_feeds_even_empty() -> None:
    stories = [story(1, NOW, SCW), story(2, NOW, WEGO), webinar(3, NOW, NOW)]
    files = render_all(SITE, stories, PARTNERS, now=NOW)
    for tag in ("news", "events", "quiet-tag"):
        assert {f"tags/{tag}.{ext}" for ext in ("atom", "rss", "json")} <= set(files)
    assert ids(files, "tags/news") == [sid(1), sid(2)]
    assert ids(files, "tags/events") == [sid(3)]
    assert ids(files, "tags/quiet-tag") == []
    feed = json.loads(files["tags/news.json"])
    assert feed["feed_url"] == "https://feeds.example.org/tags/news.json"
    assert feed["title"] == "WeGO Partner Digest: news"
    self_link = etree.fromstring(files["tags/news.atom"]).find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "https://feeds.example.org/tags/news.atom"


def test_partner_feed_shows_that_partners_copy_with_credit() -> None:
    merged = credited_story()
    wego_view = dataclasses.replace(
        merged,
        title="WeGO's own title",
        link="https://wego.example/news/1?a=1&b=2",
        source=WEGO,
        also_published_by=(SCW,),
        other_copies=(Credit(SCW, "https://example.org/scw-news/1"),),
    )
    files = render_all(
        SITE,
        [merged],
        PARTNERS,
        now=NOW,
        partner_stories={"scw-news": [merged], "wego-news": [wego_view]},
    )
    parsed = feedparser.parse(io.BytesIO(files["partners/wego-news.atom"]))
    (entry,) = parsed.entries
    assert (entry.id, entry.title, entry.link) == (
        merged.story_id,
        "WeGO's own title",
        wego_view.link,
    )
    assert "Also published by: <a" in entry.content[0].value
    assert entry.source.title == 'WeGO <World> & "Cities"'
    assert atom_ids(files["partners/scw-news.atom"]) == [merged.story_id]
    assert atom_ids(files["partners/lonely.atom"]) == []
    assert not any(name.startswith("partners/") and not name.endswith(".atom") for name in files)


def test_file_names_of_tags_and_feed_ids() -> None:
    assert file_stem("smart-city") == "smart-city"
    odd = [file_stem(name) for name in ("Smart City", "smart city", "스마트", "../etc")]
    assert odd[0].startswith("smart-city-") and odd[1].startswith("smart-city-")
    assert len(set(odd)) == 4  # never the same file for two names
    assert odd[2].startswith("x-") and odd[3].startswith("etc-")
    assert all("/" not in stem and "." not in stem for stem in odd)


def test_index_lists_tag_and_partner_feeds_and_the_calendar() -> None:
    page = render_all(SITE, [], PARTNERS, now=NOW)["index.html"].decode()
    assert '<link rel="alternate" type="text/calendar"' in page
    assert 'href="webinars.ics"' in page
    assert 'href="tags/news.atom"' in page and 'href="tags/quiet-tag.json"' in page
    assert 'href="partners/wego-news.atom"' in page
    assert "WeGO &lt;World&gt; &amp; &#34;Cities&#34;" in page


def test_tag_and_partner_feeds_pass_the_w3c_validator(tmp_path: Path) -> None:
    # A partner name with "&" or "<" in RSS <source> is correct XML, but the validator
    # warns about any plain text escaped as &amp; or &lt;: this partner's name is plain.
    plain_wego = dataclasses.replace(WEGO, name="WeGO")
    stories = [
        credited_story(),
        *renumbered(WEBINARS, 100),
        story(2, NOW - timedelta(hours=1), plain_wego),
    ]
    files = render_all(SITE, stories, PARTNERS, now=NOW)
    write_output(tmp_path, files)
    paths = [
        tmp_path / name
        for name in sorted(files)
        if name.endswith((".atom", ".rss")) and name.startswith(("tags/", "partners/", "all"))
    ]
    assert len(paths) == 3 * 2 + 4 + 2
    validate_feed_files(paths, strict=True)
    assert len(check_published_folder(tmp_path)) == len(files)


def renumbered(stories: list[Story], offset: int) -> list[Story]:
    return [
        dataclasses.replace(
            s, story_id=s.story_id + f"-{offset}", updated=s.updated + timedelta(seconds=n)
        )
        for n, s in enumerate(stories)
    ]


# --- stale files -------------------------------------------------------------------------------


def test_files_of_removed_tags_and_partners_are_removed(tmp_path: Path) -> None:
    first = render_all(SITE, [], PARTNERS, now=NOW)
    write_output(tmp_path, first)
    (tmp_path / "tags" / "notes.txt").write_text("the operator's own file")
    (tmp_path / "partners" / "old.rss").write_text("not a name syndicator writes")
    second = render_all(SITE, [], [SCW], now=NOW)
    report = write_output(tmp_path, second)
    assert report.removed == (
        "partners/lonely.atom",
        "partners/scw-webinars.atom",
        "partners/wego-news.atom",
        "tags/events.atom",
        "tags/events.json",
        "tags/events.rss",
        "tags/quiet-tag.atom",
        "tags/quiet-tag.json",
        "tags/quiet-tag.rss",
    )
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted([*second, "tags/notes.txt", "partners/old.rss"])


# --- from a real store: pipeline.load_stories and publish_from_store ---------------------------


def entry(feed_id: str, number: int, published: datetime, **changes: Any) -> Entry:
    fields: dict[str, Any] = {
        "feed_id": feed_id,
        "entry_key": f"{feed_id}-{number}",
        "guid": f"{feed_id}-{number}",
        "link": f"https://{feed_id}.example/{number}",
        "canonical_url": f"https://{feed_id}.example/{number}",
        "title": f"{feed_id} story {number}",
        "title_key": f"{feed_id} story {number}",
        "summary": f"<p>{feed_id} {number}</p>",
        "content": "",
        "published": published,
        "updated": published,
        "authors": (),
        "categories": (),
        "enclosures": (),
        "thumbnail": None,
        "language": None,
        "kind": "article",
        "content_hash": f"{feed_id}-{number}-{published.isoformat()}",
    }
    fields.update(changes)
    return Entry(**fields)


def store_entries(store: Store, entries: list[Entry], fetched_at: datetime) -> None:
    index = store.story_index()
    for feed_id in sorted({e.feed_id for e in entries}):
        batch = [e for e in entries if e.feed_id == feed_id]
        assignments = assign_stories(
            batch, index, {}, authority="feeds.example.org", fetched_at=fetched_at
        )
        store.apply(FeedUpdate(FeedState(feed_id), assignments, seen_at=fetched_at))
        index = store.story_index()


def write_feeds_yaml(folder: Path, max_items: int, feeds: list[str], *top: str) -> Path:
    lines = [
        *top,
        "site:",
        "  title: WeGO Partner Digest",
        "  url: https://feeds.example.org/",
        f"  max_items: {max_items}",
        "storage:",
        "  database: syndicator.db",
        "  output_dir: public",
        "feeds:",
        *feeds,
    ]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_publish_from_store_caps_pages_further_and_webinars_follow_now(tmp_path: Path) -> None:
    config = load_config(
        write_feeds_yaml(
            tmp_path,
            3,
            [
                "  - {id: busy, url: 'https://busy.example/rss', max_stories: 1, tags: [news]}",
                "  - {id: calm, url: 'https://calm.example/rss', tags: [news]}",
                "  - {id: events, url: 'https://events.example/rss', kind: webinar}",
            ],
        )
    )
    start = NOW + timedelta(days=1)
    entries = [entry("busy", n, NOW - timedelta(minutes=n)) for n in range(1, 9)]
    entries += [entry("calm", n, NOW - timedelta(days=n)) for n in range(1, 4)]
    entries.append(
        entry(
            "events",
            1,
            NOW - timedelta(days=3),
            kind="webinar",
            event=Event(start, start + timedelta(hours=1), "UTC", "test"),
        )
    )
    with Store(config.storage.database) as store:
        store_entries(store, entries, NOW)
        # busy's 8 stories are the newest: its cap of 1 makes load_stories read further
        credit = partners(config, store.feed_states())
        loaded = {s.story_id: s for s in load_stories(config, store, credit, now=NOW)}
        assert {s.source.feed_id for s in loaded.values()} == {"busy", "calm", "events"}

        report = publish_from_store(config, store, now=NOW)
        out = config.storage.output_dir
        all_feed = json.loads((out / "all.json").read_text(encoding="utf-8"))
        sources = [item["_syndicator"]["source"]["id"] for item in all_feed["items"]]
        assert sources == ["busy", "calm", "calm"]
        news = json.loads((out / "tags/news.json").read_text(encoding="utf-8"))
        assert [i["_syndicator"]["source"]["id"] for i in news["items"]] == sources
        assert len(atom_ids((out / "partners/busy.atom").read_bytes())) == 3  # no cap here
        assert "partners/events.atom" in report.written
        events = calendar_events((out / "webinars.ics").read_bytes())
        assert list(events) == ["events story 1"]

        # the same state and time: not one byte rewritten
        again = publish_from_store(config, store, now=NOW)
        assert again.written == () and again.removed == ()

        # eight days after its start the webinar has left webinars.* and the calendar
        later = publish_from_store(config, store, now=start + timedelta(days=8))
        assert set(later.written) == {
            "webinars.atom",
            "webinars.rss",
            "webinars.json",
            "webinars.ics",
        }
        assert json.loads((out / "webinars.json").read_text(encoding="utf-8"))["items"] == []
        assert calendar_events((out / "webinars.ics").read_bytes()) == {}
        # it stays in the partner's feed (and in all.* while it is among the newest)
        assert len(atom_ids((out / "partners/events.atom").read_bytes())) == 1


# --- end to end: `syndicator fetch` against a partner server -----------------------------------

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{name}</title><link>https://{feed}.example/</link>
<description>d</description>
<item><title>Shared story about smart curbs</title><link>{shared}</link>
<guid>{feed}-shared</guid><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate>
<description>&lt;p&gt;The same press release.&lt;/p&gt;</description></item>
<item><title>Only at {name}</title><link>https://{feed}.example/own</link>
<guid>{feed}-own</guid><pubDate>Tue, 24 Nov 2026 {hour}:00:00 GMT</pubDate>
<description>&lt;p&gt;Own story.&lt;/p&gt;</description></item>
</channel></rss>
"""


def test_fetch_publishes_valid_tag_and_partner_feeds(tmp_path: Path) -> None:
    shared = "https://news.example.org/press/smart-curbs"
    with PartnerServer() as server:
        for feed, name, hour in (("alpha", "Alpha News", 10), ("beta", "Beta & Co", 11)):
            escaped = name.replace("&", "&amp;")
            body = RSS.format(feed=feed, name=escaped, shared=shared, hour=hour)
            server.set(f"/{feed}.rss", body.encode(), content_type="application/rss+xml")
        config = write_feeds_yaml(
            tmp_path,
            20,
            [
                f"  - {{id: alpha, url: '{server.url('/alpha.rss')}', tags: [news, europe]}}",
                f"  - {{id: beta, url: '{server.url('/beta.rss')}', tags: [news]}}",
            ],
            "allow_private_networks: true  # the partners are on 127.0.0.1",
        )
        result = subprocess.run(
            [sys.executable, "-m", "syndicator", "fetch", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "public"
    expected = {
        f"tags/{tag}.{ext}" for tag in ("news", "europe") for ext in ("atom", "rss", "json")
    } | {"partners/alpha.atom", "partners/beta.atom", "webinars.ics"}
    published = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert expected <= published
    news = feedparser.parse(io.BytesIO((out / "tags/news.atom").read_bytes()))
    assert len(news.entries) == 3  # the shared story once, and each partner's own
    europe = json.loads((out / "tags/europe.json").read_text(encoding="utf-8"))
    assert len(europe["items"]) == 2  # alpha carried the shared story too
    beta = feedparser.parse(io.BytesIO((out / "partners/beta.atom").read_bytes()))
    assert sorted(e.title for e in beta.entries) == [
        "Only at Beta & Co",
        "Shared story about smart curbs",
    ]
    shared_entry = next(e for e in beta.entries if e.title.startswith("Shared"))
    assert "Also published by: " in shared_entry.summary  # the text has no separate content
    validate_feed_files(
        sorted(out.glob("tags/*.atom"))
        + sorted(out.glob("tags/*.rss"))
        + sorted(out.glob("partners/*.atom")),
        strict=True,
    )
    check_published_folder(out)


def test_partner_files_are_rendered_again_only_when_what_they_show_changed(
    tmp_path: Path,
) -> None:
    config = load_config(
        write_feeds_yaml(
            tmp_path,
            10,
            [
                "  - {id: alpha, url: 'https://alpha.example/rss'}",
                "  - {id: beta, url: 'https://beta.example/rss'}",
            ],
        )
    )
    out = config.storage.output_dir
    alpha = [entry("alpha", n, NOW - timedelta(hours=n)) for n in range(1, 4)]
    beta = [entry("beta", n, NOW - timedelta(hours=n)) for n in range(1, 3)]
    with Store(config.storage.database) as store:
        store_entries(store, [*alpha, *beta], NOW)
        publish_from_store(config, store, now=NOW)
        full = {p: (out / p).read_bytes() for p in ("partners/alpha.atom", "partners/beta.atom")}
        assert (out / FINGERPRINTS).is_file()

        # beta changes one entry: only beta's file is read and rendered again
        edited = dataclasses.replace(beta[0], title="Beta, edited", content_hash="edited")
        store_entries(store, [edited], NOW + timedelta(minutes=5))
        rendered: list[str] = []
        real_render = publish.render_partner_files

        def spy(site: Any, partners: list[Partner], stories: Any, **kw: Any) -> dict[str, bytes]:
            rendered.extend(sorted(p.feed_id for p in partners))
            return real_render(site, partners, stories, **kw)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pipeline, "render_partner_files", spy)
            report = publish_from_store(config, store, now=NOW)
            assert rendered == ["beta"]
            assert "partners/beta.atom" in report.written
            assert "partners/alpha.atom" in report.unchanged
            assert b"Beta, edited" in (out / "partners/beta.atom").read_bytes()

            # a deleted file, or a lost record, is rendered again: the same bytes as before
            (out / "partners/alpha.atom").unlink()
            rendered.clear()
            publish_from_store(config, store, now=NOW)
            assert rendered == ["alpha"]
            assert (out / "partners/alpha.atom").read_bytes() == full["partners/alpha.atom"]
            (out / FINGERPRINTS).write_text("not json")
            rendered.clear()
            again = publish_from_store(config, store, now=NOW)
            assert rendered == ["alpha", "beta"] and again.written == ()

            # a new name for a partner is credit in every partner's file: all rendered again
            text = config.path.read_text(encoding="utf-8").replace(
                "id: alpha,", "id: alpha, name: Alpha Renamed,"
            )
            config.path.write_text(text, encoding="utf-8")
            renamed = load_config(config.path)
            rendered.clear()
            report = publish_from_store(renamed, store, now=NOW)
            assert rendered == ["alpha", "beta"]
            assert "partners/alpha.atom" in report.written


def test_partner_files_published_a_few_at_a_time_are_the_same_files(tmp_path: Path) -> None:
    feeds = [f"  - {{id: p{n}, url: 'https://p{n}.example/rss'}}" for n in range(5)]
    entries = [entry(f"p{n}", k, NOW - timedelta(hours=k)) for n in range(5) for k in (1, 2)]
    published: dict[int, dict[str, bytes]] = {}
    for at_once in (50, 2):
        folder = tmp_path / str(at_once)
        folder.mkdir()
        config = load_config(write_feeds_yaml(folder, 10, feeds))
        with Store(config.storage.database) as store, pytest.MonkeyPatch.context() as patch:
            store_entries(store, entries, NOW)
            patch.setattr(pipeline, "PARTNER_FILES_AT_ONCE", at_once)
            report = publish_from_store(config, store, now=NOW)
        out = config.storage.output_dir
        assert {f"partners/p{n}.atom" for n in range(5)} <= set(report.written)
        published[at_once] = {
            str(p.relative_to(out)): p.read_bytes()
            for p in sorted(out.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
        }
    assert published[2] == published[50] and len(published[2]) >= 20


# --- speed without a byte changed: entries written as text, reused, written in a thread --------

# What publish.py rendered each entry with before it wrote them as text: lxml element trees.
# The text writers must give these bytes, for every story.
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_RSS_ITEM_NSMAP = {"dc": _DC_NS, "content": _CONTENT_NS}
_RSS_ITEM_START = etree.tostring(etree.Element("item", nsmap=_RSS_ITEM_NSMAP), encoding="UTF-8")
_RSS_ITEM_START = _RSS_ITEM_START.removesuffix(b"/>") + b">"


def lxml_atom_entry(item: Story) -> bytes:
    entry = etree.Element("entry")
    if item.language:
        entry.set(_XML_LANG, item.language)
    etree.SubElement(entry, "id").text = item.story_id
    etree.SubElement(entry, "title", type="text").text = item.title
    etree.SubElement(entry, "updated").text = item.updated.isoformat()
    etree.SubElement(entry, "published").text = item.published.isoformat()
    for name in item.authors:
        etree.SubElement(etree.SubElement(entry, "author"), "name").text = name
    for attributes in publish._atom_links(item):
        etree.SubElement(entry, "link", attributes)
    for term in item.categories:
        etree.SubElement(entry, "category", term=term)
    summary, content = publish._summary_and_content(item)
    if summary:
        etree.SubElement(entry, "summary", type="html").text = summary
    if content is not None:
        etree.SubElement(entry, "content", type="html").text = content
    partner = item.source
    source = etree.SubElement(entry, "source")
    if partner.feed_url:
        etree.SubElement(source, "id").text = partner.feed_url
    etree.SubElement(source, "title", type="text").text = partner.name
    if partner.feed_url:
        etree.SubElement(source, "link", rel="self", href=partner.feed_url)
    if partner.site_url:
        etree.SubElement(source, "link", rel="alternate", type="text/html", href=partner.site_url)
    etree.SubElement(source, "updated").text = item.updated.isoformat()
    return etree.tostring(entry, encoding="UTF-8", pretty_print=True)


def lxml_rss_item(item: Story) -> bytes:
    element = etree.Element("item", nsmap=_RSS_ITEM_NSMAP)
    etree.SubElement(element, "title").text = item.title
    if item.link:
        etree.SubElement(element, "link").text = item.link
    summary, content = publish._summary_and_content(item)
    description = summary or content
    if description:
        etree.SubElement(element, "description").text = description
    if summary and content is not None:
        etree.SubElement(element, f"{{{_CONTENT_NS}}}encoded").text = content
    for name in item.authors:
        etree.SubElement(element, f"{{{_DC_NS}}}creator").text = name
    for term in item.categories:
        etree.SubElement(element, "category").text = term
    etree.SubElement(element, "guid", isPermaLink="false").text = item.story_id
    if item.enclosures:
        first = item.enclosures[0]
        attributes = {"url": first.url, "length": str(first.length or 0), "type": first.type}
        etree.SubElement(element, "enclosure", attributes)
    etree.SubElement(element, "pubDate").text = publish._rfc822(item.published)
    if item.source.feed_url:
        etree.SubElement(element, "source", url=item.source.feed_url).text = item.source.name
    data = etree.tostring(element, encoding="UTF-8", pretty_print=True)
    assert data.startswith(_RSS_ITEM_START)
    return b"<item>" + data[len(_RSS_ITEM_START) :]


# Everything libxml2 escapes or keeps: markup, quotes, CR/LF/tab, CDATA ends, characters XML
# forbids (cleaned away first), other scripts, astral characters, C1 controls, U+2028.
_AWKWARD = [
    "",
    " ",
    "a & b < c > d",
    "\"quoted\" and 'single'",
    "line\r\nbreak\rcr\ttab\n",
    "]]> &amp; &#13; &lt;",
    "<p>Already <b>HTML</b> &amp; more</p>",
    "Zürich — “issue” 스마트 城市 😀",
    "\x01\x08\x0b\x0c\x1f\ud800\ufffe\uffff gone",
    "\x7f\x85\u2028\u00a0kept",
]
_awkward_text = st.one_of(st.sampled_from(_AWKWARD), st.text(max_size=20))
_url = st.one_of(
    st.none(), st.sampled_from(['https://e.example/a?x=1&y="2"', "http://e.example/<b>"])
)
_partner = st.builds(
    Partner,
    feed_id=st.sampled_from(["p1", "p2"]),
    name=_awkward_text,
    feed_url=st.one_of(st.just(""), st.sampled_from(["https://p.example/feed?a=1&b=2"])),
    site_url=_url,
)
_moment = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@st.composite
def awkward_stories(draw: st.DrawFn) -> Story:
    source = draw(_partner)
    others = draw(st.lists(_partner, max_size=2))
    start = draw(_moment)
    return Story(
        story_id=draw(st.sampled_from(["tag:feeds.example.org,2026:s/1", "urn:x&<y>"])),
        kind=draw(st.sampled_from(["article", "webinar"])),
        title=draw(_awkward_text),
        link=draw(_url),
        summary=draw(_awkward_text),
        content=draw(_awkward_text),
        published=draw(_moment),
        updated=draw(_moment),
        authors=tuple(draw(st.lists(_awkward_text, max_size=2))),
        categories=tuple(draw(st.lists(_awkward_text, max_size=2))),
        enclosures=tuple(
            draw(
                st.lists(
                    st.builds(
                        Enclosure,
                        url=st.sampled_from(["https://e.example/a.mp3?x=1&y=2", "ftp://no"]),
                        type=_awkward_text,
                        length=st.one_of(st.none(), st.integers(0, 10**9)),
                    ),
                    max_size=2,
                )
            )
        ),
        thumbnail=None,
        language=draw(st.sampled_from([None, "en", "ko-KR", "not a tag"])),
        source=source,
        also_published_by=tuple(others),
        other_copies=tuple(Credit(p, draw(_url)) for p in others) if draw(st.booleans()) else (),
        event=Event(start, None, draw(st.sampled_from([None, "Europe/Berlin"])), "test"),
        tags=(),
    )


@given(awkward_stories())
@settings(max_examples=300, deadline=None, database=None)
def test_entries_written_as_text_are_the_bytes_lxml_wrote(item: Story) -> None:
    clean = publish._safe_story(item)  # what the renderers get
    assert publish._atom_entry(clean) == lxml_atom_entry(clean)
    assert publish._rss_item(clean) == lxml_rss_item(clean)


def test_a_story_id_xml_cannot_hold_raises_as_lxml_did() -> None:
    bad = publish._safe_story(story(1, NOW, story_id="tag:x,2026:\x01"))
    with pytest.raises(ValueError):
        lxml_atom_entry(bad)
    with pytest.raises(ValueError, match="not XML-compatible"):
        publish._atom_entry(bad)
    with pytest.raises(ValueError, match="not XML-compatible"):
        publish._rss_item(bad)


def test_the_fast_xml_text_check_lets_through_only_what_xml_allows() -> None:
    # publish._xml_text skips xml_safe for printable text: every printable character of
    # Unicode must be one XML allows, and anything else still goes through xml_safe.
    printable = "".join(chr(c) for c in range(0x110000) if chr(c).isprintable())
    assert xml_safe(printable) == printable
    for text in _AWKWARD:
        assert publish._xml_text(text) == xml_safe(text)


def two_partner_store(folder: Path) -> Config:
    """Three feeds; a story carried by a and b (same page), each with its own title."""
    feeds = [f"  - {{id: {f}, url: 'https://{f}.example/rss', tags: [news]}}" for f in "abc"]
    config = load_config(write_feeds_yaml(folder, 10, feeds))
    shared = "https://shared.example/story"
    entries = [
        entry("a", 1, NOW - timedelta(hours=3), canonical_url=shared, link=shared, title="A's"),
        entry("b", 1, NOW - timedelta(hours=2), canonical_url=shared, link=shared, title="B's"),
        *(entry(f, n, NOW - timedelta(hours=n + 4)) for f in "abc" for n in range(2, 5)),
    ]
    with Store(config.storage.database) as store:
        store_entries(store, entries, NOW)
        assert store.counts()["stories"] == 10  # the shared story is one
    return config


def test_publish_from_store_writes_the_bytes_of_one_uncached_render(tmp_path: Path) -> None:
    # publish_from_store renders partner files one at a time here, reusing the entries of
    # the merged feeds (publish.EntryCache) and writing in a thread: the bytes must be those
    # of one render_all call without any of that, and each partner shows its own copy.
    config = two_partner_store(tmp_path)
    out = config.storage.output_dir
    with Store(config.storage.database) as store, pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "PARTNER_FILES_AT_ONCE", 1)
        report = publish_from_store(config, store, now=NOW)
        credit = partners(config, store.feed_states())
        stories = load_stories(config, store, credit, now=NOW)
        selections = {
            feed_id: [story_id for story_id, _ in listed]
            for feed_id, listed in store.feed_story_versions(["a", "b", "c"], 10).items()
        }
        by_partner = pipeline.load_partner_stories(config, store, credit, stories, selections)
    enabled = [credit[f] for f in "abc"]
    expected = render_all(config.site, stories, enabled, now=NOW, partner_stories=by_partner)
    on_disk = {name: (out / name).read_bytes() for name in expected}
    assert on_disk == expected
    assert set(report.written) == set(expected)
    assert b'<title type="text">A\'s</title>' in expected["partners/a.atom"]
    assert b'<title type="text">B\'s</title>' in expected["partners/b.atom"]
    assert b"B's" not in expected["partners/a.atom"] and b"A's" not in expected["partners/b.atom"]


def test_partner_files_reuse_cached_entries_and_add_none(tmp_path: Path) -> None:
    mine = story(1, NOW, SCW)
    wego_view = dataclasses.replace(mine, title="WeGO's own", source=WEGO)
    cache = publish.EntryCache()
    render_all(SITE, [mine], PARTNERS, now=NOW, partner_stories={}, partner_files=(), cache=cache)
    cached = dict(cache.atom)
    assert len(cached) == 1
    chosen = {"scw-news": [mine], "wego-news": [wego_view]}
    with_cache = publish.render_partner_files(SITE, [SCW, WEGO], chosen, cache=cache)
    assert with_cache == publish.render_partner_files(SITE, [SCW, WEGO], chosen)
    assert cache.atom == cached  # what partner files render alone is not kept
    assert b"WeGO's own" in with_cache["partners/wego-news.atom"]


def test_render_all_hands_each_file_over_once_as_it_is_rendered() -> None:
    handed: list[str] = []
    files = render_all(SITE, WEBINARS, PARTNERS, now=NOW, on_files=handed.extend)
    assert sorted(handed) == sorted(files) and len(handed) == len(set(handed))
    assert handed[:3] == ["all.atom", "all.rss", "all.json"]


def test_background_writer_writes_in_order_and_reports(tmp_path: Path) -> None:
    (tmp_path / ".x.atom.tmp-left").write_bytes(b"crash leftover")
    with publish.BackgroundWriter(tmp_path) as writer:
        writer.submit({"a.atom": b"1", "partners/p.atom": b"2"})
        writer.submit({"a.atom": b"1", "b.atom": b"3"})  # a.atom: the same bytes again
    assert [(r.written, r.unchanged) for r in writer.reports] == [
        (("a.atom", "partners/p.atom"), ()),
        (("b.atom",), ("a.atom",)),
    ]
    assert (tmp_path / "partners/p.atom").read_bytes() == b"2"
    assert not (tmp_path / ".x.atom.tmp-left").exists()


def test_background_writer_stops_at_the_first_error_and_raises_it(tmp_path: Path) -> None:
    (tmp_path / "all.atom").mkdir()  # cannot be replaced by a file
    writer = publish.BackgroundWriter(tmp_path)
    with pytest.raises(publish.PublishError, match=r"all\.atom"), writer:
        writer.submit({"all.atom": b"<feed/>"})
        writer.submit({"later.atom": b"<feed/>"})
    assert not (tmp_path / "later.atom").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_background_writer_finishes_what_was_submitted_when_the_caller_fails(
    tmp_path: Path,
) -> None:
    writer = publish.BackgroundWriter(tmp_path)
    with pytest.raises(RuntimeError, match="render failed"), writer:
        writer.submit({"all.atom": b"<feed/>"})
        raise RuntimeError("render failed")
    assert (tmp_path / "all.atom").read_bytes() == b"<feed/>"
    assert not writer._thread.is_alive()


class _WriterKilled(BaseException):
    """Not an Exception: what once ended the writer thread and left ``submit`` waiting."""


def test_background_writer_thread_ended_by_a_base_exception_never_hangs_the_publish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*_: object) -> None:
        raise _WriterKilled

    monkeypatch.setattr(publish, "_write_files", killed)
    raised: list[BaseException] = []

    def publish_three_parts() -> None:
        try:
            with publish.BackgroundWriter(tmp_path) as writer:
                for name in ("all.atom", "all.rss", "all.json"):
                    writer.submit({name: b"x"})
        except BaseException as error:  # the test looks at what it was
            raised.append(error)

    caller = threading.Thread(target=publish_three_parts, daemon=True)
    caller.start()
    caller.join(timeout=10)
    assert not caller.is_alive(), "submit waited forever for a writer thread that had ended"
    assert [type(error) for error in raised] == [_WriterKilled]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("all.")]


def test_index_html_gives_a_webinar_its_start_beside_its_date() -> None:
    start = NOW + timedelta(days=3, hours=2)
    item = webinar(9, start, NOW - timedelta(days=5))
    page = render_all(SITE, [item], PARTNERS, now=NOW)["index.html"].decode()
    [line] = [line for line in page.splitlines() if "2026-11-20" in line]
    assert (
        '; webinar, starts <time datetime="2026-11-28T14:00:00+00:00">2026-11-28 14:00 UTC' in line
    )


def test_another_copy_shown_moves_the_storys_updated_once(tmp_path: Path) -> None:
    # Raising b's priority shows b's copy of the shared story: another title, link and text
    # under the same id and the same `updated`, which readers would not fetch again.
    config = two_partner_store(tmp_path)

    def shared(priority_of_b: int, at: datetime) -> Story:
        feeds = tuple(
            dataclasses.replace(f, priority=priority_of_b if f.id == "b" else 0)
            for f in config.feeds
        )
        with Store(config.storage.database) as store:
            credit = partners(config, store.feed_states())
            stories = load_stories(dataclasses.replace(config, feeds=feeds), store, credit, now=at)
        return next(s for s in stories if s.title in ("A's", "B's"))

    first = shared(0, NOW)  # a carried it first: a's copy; recorded, nothing moves
    assert (first.title, first.updated) == ("A's", NOW - timedelta(hours=2))
    assert shared(0, NOW + timedelta(hours=1)) == first
    raised = shared(5, NOW + timedelta(hours=2))
    assert (raised.title, raised.updated) == ("B's", NOW + timedelta(hours=2))
    assert shared(5, NOW + timedelta(hours=3)) == raised  # publish again: the same bytes
    back = shared(0, NOW + timedelta(hours=4))
    assert (back.title, back.updated) == ("A's", NOW + timedelta(hours=4))

    # a's partner gives its item a new GUID: the same copy, not another one shown
    first_a = entry("a", 1, NOW - timedelta(hours=3))  # its text, under a new GUID
    churned = entry(
        "a", 9, NOW - timedelta(hours=3), canonical_url="https://shared.example/story",
        link="https://shared.example/story", title="A's", summary=first_a.summary,
        content_hash=first_a.content_hash,
    )  # fmt: skip
    with Store(config.storage.database) as store:
        store_entries(store, [churned], NOW + timedelta(hours=5))
        assert store.stored_entries("a", ["a-9"])  # it took the place of a-1
    assert shared(0, NOW + timedelta(hours=6)) == back


def test_a_partner_file_follows_the_copy_shown_in_the_same_publish(tmp_path: Path) -> None:
    # Its story moved `updated` when b's copy became the shown one, but the partner file's
    # record did not cover the copy shown: it was rewritten one publish later.
    config = two_partner_store(tmp_path)
    raised = dataclasses.replace(
        config,
        feeds=tuple(dataclasses.replace(f, priority=5 if f.id == "b" else 0) for f in config.feeds),
    )
    with Store(config.storage.database) as store:
        publish_from_store(config, store, now=NOW)
        assert publish_from_store(config, store, now=NOW).written == ()
        report = publish_from_store(raised, store, now=NOW + timedelta(hours=1))
        assert "partners/b.atom" in report.written
        assert publish_from_store(raised, store, now=NOW + timedelta(hours=2)).written == ()
        # explain tells the published title and dates (it told the copies' latest change)
        credit = partners(raised, store.feed_states())
        told = explain(store, "https://shared.example/story", {"b": 5}, credit)
        assert (told.title, told.updated) == ("B's", NOW + timedelta(hours=1))
