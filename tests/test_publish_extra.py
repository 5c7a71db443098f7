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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import icalendar
import lxml.html
import pytest
from feed_validator import validate_feed_files
from lxml import etree
from partner_server import PartnerServer
from published_checks import check_published_folder

from syndicator import pipeline, publish
from syndicator.config import SiteConfig, load_config
from syndicator.dedupe import assign_stories
from syndicator.model import Credit, Entry, Event, FeedState, Kind, Partner, Story
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

        def spy(site: Any, partners: list[Partner], stories: Any) -> dict[str, bytes]:
            rendered.extend(sorted(p.feed_id for p in partners))
            return real_render(site, partners, stories)

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
