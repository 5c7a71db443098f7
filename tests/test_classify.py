"""Content kinds: feeds.yaml rules, heuristics, the feed's kind; include/exclude filters;
webinar start times end to end, with real partner servers on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from partner_server import PartnerServer

from syndicator.classify import (
    Condition,
    Filters,
    Matcher,
    Rule,
    classify,
    plain_matcher,
    regex_matcher,
)
from syndicator.config import check_config_text
from syndicator.model import Enclosure, Entry, Event, Kind, ParsedEntry, ParsedFeed
from syndicator.normalize import FeedContext, normalize_entry, normalize_feed
from syndicator.prepare import PrepareJob, prepare
from syndicator.store import Store

PUBLISHED = datetime(2026, 11, 20, 9, tzinfo=UTC)
FETCHED = datetime(2026, 11, 25, 12, tzinfo=UTC)


def entry(
    title: str = "Seoul opens its digital twin",
    *,
    link: str | None = "https://we-gov.org/news-2026/digital-twin/",
    categories: tuple[str, ...] = (),
    enclosures: tuple[Enclosure, ...] = (),
    event: Event | None = None,
) -> Entry:
    return Entry(
        feed_id="scw-news",
        entry_key=link or title,
        guid=None,
        link=link,
        canonical_url=None,
        title=title,
        title_key=title.casefold(),
        summary="",
        content="",
        published=PUBLISHED,
        updated=PUBLISHED,
        authors=(),
        categories=categories,
        enclosures=enclosures,
        thumbnail=None,
        language="en",
        kind="article",
        content_hash="h",
        event=event,
    )


def rule(kind: Kind, line: int, **fields: Matcher) -> Rule:
    tests = tuple((name, (matcher,)) for name, matcher in fields.items())
    return Rule(kind, Condition(tests, line))  # type: ignore[arg-type]


def no_event() -> Event | None:
    return None


def event_at(start: datetime, source: str = "text") -> Event:
    return Event(start=start, timezone="BST", source=source)


# --------------------------------------------------------------------------- matchers


@pytest.mark.parametrize(
    ("text", "value", "matches"),
    [
        ("webinar", "Smart Mobility Webinar #4", True),
        ("webinar", "Smart Mobility Webinars", False),  # whole words
        ("report", "Seoul reported lower emissions", False),
        ("white paper", "A White  Paper on curbs", True),  # any white space between words
        ("/webinars/", "https://x.org/webinars/curb-data", True),  # no word at its ends
        ("application/pdf", "application/pdf", True),
        ("웨비나", "스마트시티 웨비나를 엽니다", True),  # no word boundaries in Hangul
        ("网络研讨会", "智慧城市网络研讨会", True),
    ],
)
def test_plain_matcher(text: str, value: str, matches: bool) -> None:
    assert plain_matcher(text).matches(value) is matches


def test_regex_matcher_ignores_case_and_reports_errors() -> None:
    assert regex_matcher(r"^webinar\b").matches("WEBINAR: curbs")
    assert not regex_matcher(r"(?-i:^webinar)").matches("WEBINAR: curbs")
    with pytest.raises(ValueError, match=r'invalid regular expression "\(web": missing \)'):
        regex_matcher("(web")
    with pytest.raises(ValueError, match="empty"):
        regex_matcher("")


def test_condition_needs_every_field_and_any_value() -> None:
    condition = Condition(
        (
            ("title", (plain_matcher("summit"), plain_matcher("forum"))),
            ("category", (plain_matcher("events"),)),
        ),
        line=12,
    )
    hit = entry("Smart City Forum 2026", categories=("News", "Events"))
    assert condition.match(hit) == 'title matches "forum" and category matches "events"'
    assert condition.match(entry("Smart City Forum 2026", categories=("News",))) is None
    assert condition.match(entry("Budget", categories=("Events",))) is None
    assert condition.where == "feeds.yaml line 12"


# --------------------------------------------------------------------------- classify


def test_rules_first_the_feeds_then_the_global_ones() -> None:
    rules = (
        rule("whitepaper", 30, title=plain_matcher("curb")),  # the feed's
        rule("webinar", 8, title=plain_matcher("curb data")),  # global
    )
    kind, why = classify(entry("Curb data sharing"), rules, "article", no_event)
    assert (kind, why) == ("whitepaper", 'feeds.yaml line 30: title matches "curb"')
    kind, why = classify(entry("Curb data sharing"), rules[1:], "article", no_event)
    assert (kind, why) == ("webinar", 'feeds.yaml line 8: title matches "curb data"')


def test_a_rule_wins_over_the_heuristics() -> None:
    pdf = entry(enclosures=(Enclosure("https://x.org/a.pdf", "application/pdf"),))
    rules = (rule("article", 5, url=regex_matcher(r"we-gov\.org/news")),)
    assert classify(pdf, rules, "article", no_event) == (
        "article",
        'feeds.yaml line 5: url matches regex "we-gov\\.org/news"',
    )


@pytest.mark.parametrize(
    ("item", "kind", "why"),
    [
        (
            entry(enclosures=(Enclosure("https://x.org/get?id=4", "application/pdf"),)),
            "whitepaper",
            "heuristic: PDF enclosure",
        ),
        (
            entry(enclosures=(Enclosure("https://x.org/files/Report.PDF"),)),
            "whitepaper",
            "heuristic: PDF enclosure",
        ),
        (entry(link="https://x.org/a/b.pdf"), "whitepaper", "heuristic: the link is a PDF"),
        (
            entry(categories=("Research", "White Papers")),
            "whitepaper",
            'heuristic: category "White Papers" (a white papers)',
        ),
        (entry(categories=("Reports",)), "whitepaper", 'heuristic: category "Reports" (a reports)'),
        (entry(categories=("백서",)), "whitepaper", 'heuristic: category "백서" (a 백서)'),
        # A title is not a category: this is news about a report.
        (entry("Report: Seoul cuts emissions by 20%"), "article", "feed kind"),
        (entry(categories=("Reporting",)), "article", "feed kind"),
    ],
)
def test_whitepaper_heuristics(item: Entry, kind: Kind, why: str) -> None:
    assert classify(item, (), "article", no_event) == (kind, why)


def test_webinar_heuristic_needs_a_word_and_a_future_start() -> None:
    later = event_at(PUBLISHED + timedelta(days=10))
    earlier = event_at(PUBLISHED - timedelta(days=10))
    word = entry("Register for the smart mobility session")
    assert classify(word, (), "article", lambda: later) == (
        "webinar",
        'heuristic: "register" and a start date in the future',
    )
    assert classify(word, (), "article", lambda: earlier) == ("article", "feed kind")
    assert classify(word, (), "article", no_event) == ("article", "feed kind")
    category = entry("Curb data", categories=("Online Events",))
    assert classify(category, (), "article", lambda: later)[0] == "webinar"
    korean = entry("스마트시티 웨비나 안내")
    assert classify(korean, (), "article", lambda: later)[0] == "webinar"


def test_the_start_is_only_looked_for_when_a_word_asks_for_it() -> None:
    def must_not_run() -> Event | None:
        raise AssertionError("the text search ran for an ordinary article")

    assert classify(entry("Seoul budget 2027"), (), "article", must_not_run) == (
        "article",
        "feed kind",
    )


def test_structured_event_data_with_a_future_start_is_a_webinar() -> None:
    item = entry("Urban data masterclass", event=event_at(PUBLISHED + timedelta(days=3), "xcal"))
    assert classify(item, (), "article", no_event) == (
        "webinar",
        "heuristic: event data (xcal) with a start in the future",
    )


def test_webinar_heuristic_comes_before_the_pdf_one() -> None:
    agenda = entry(
        "Webinar: curb management",
        enclosures=(Enclosure("https://x.org/agenda.pdf", "application/pdf"),),
    )
    later = event_at(PUBLISHED + timedelta(days=1))
    assert classify(agenda, (), "article", lambda: later)[0] == "webinar"


def test_feed_kind_is_the_last_resort() -> None:
    assert classify(entry(), (), "whitepaper", no_event) == ("whitepaper", "feed kind")


# --------------------------------------------------------------------------- filters


def test_filters_exclude_wins_and_include_keeps_only_matches() -> None:
    filters = Filters(
        include=(Condition((("category", (plain_matcher("news"),)),), 20),),
        exclude=(Condition((("title", (plain_matcher("sponsored"),)),), 22),),
    )
    news = entry("Seoul budget", categories=("News",))
    sponsored = entry("Sponsored: sensors", categories=("News",))
    jobs = entry("Jobs board", categories=("Jobs",))
    assert filters.keep(news) == (True, 'included by feeds.yaml line 20: category matches "news"')
    assert filters.keep(sponsored) == (
        False,
        'excluded by feeds.yaml line 22: title matches "sponsored"',
    )
    assert filters.keep(jobs) == (False, "matches no include filter (feeds.yaml line 20)")
    assert [filters.lines_excluding(e) for e in (news, sponsored, jobs)] == [(), (22,), (20,)]
    assert Filters().keep(jobs) == (True, "no include filter") and not Filters()


# --------------------------------------------------------------------------- normalize


def parsed(title: str, content: str = "", **fields: Any) -> ParsedEntry:
    values: dict[str, Any] = {
        "guid": title,
        "link": "https://www.smartcitiesworld.net/news/" + title.lower().replace(" ", "-"),
        "title": title,
        "title_is_html": False,
        "summary": "",
        "content": content,
        "published": PUBLISHED,
        "updated": None,
    }
    values.update(fields)
    return ParsedEntry(**values)


FEED = ParsedFeed("rss20", "SCW", "https://www.smartcitiesworld.net/", "en", ())


def context(kind: Kind = "article", **fields: Any) -> FeedContext:
    return FeedContext("scw-news", kind, "https://www.smartcitiesworld.net/rss", FETCHED, **fields)


def test_json_ld_is_read_before_sanitizing_drops_the_script() -> None:
    content = (
        "<p>Join the online event.</p><script type='application/ld+json'>"
        '{"@type": "Event", "startDate": "2026-12-10T14:00:00+09:00"}</script>'
    )
    result = normalize_entry(parsed("Seoul smart city online event", content), context(), FEED)
    assert "script" not in result.content
    assert result.kind == "webinar"
    assert result.kind_rule == 'heuristic: "online event" and a start date in the future'
    assert result.event == Event(datetime(2026, 12, 10, 5, tzinfo=UTC), None, "+09:00", "json-ld")


def test_text_start_only_for_webinars() -> None:
    text = "<p>Thursday 10 December 2026, 14:00 GMT</p>"
    webinar = normalize_entry(parsed("Curb data", text), context("webinar"), FEED)
    article = normalize_entry(parsed("Curb data", text), context("article"), FEED)
    assert webinar.event == Event(datetime(2026, 12, 10, 14, tzinfo=UTC), None, "GMT", "text")
    assert (article.kind, article.event) == ("article", None)


def test_content_hash_follows_the_start_and_not_otherwise() -> None:
    def hashed(text: str, kind: Kind = "webinar") -> str:
        return normalize_entry(
            parsed("Curb data", f"<p>{text}</p>"), context(kind), FEED
        ).content_hash

    assert hashed("10 December 2026, 14:00 GMT") != hashed("10 December 2026, 15:00 GMT")
    # Entries without a start hash as before this feature: no update storm after upgrading.
    assert hashed("no date here") == hashed("no date here", "article")
    plain = normalize_entry(parsed("Seoul budget", "<p>x</p>"), context(), FEED)
    before = normalize_entry(parsed("Seoul budget", "<p>x</p>"), context(), FEED)
    assert plain.content_hash == before.content_hash


def test_normalize_feed_drops_excluded_entries_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    filters = Filters(exclude=(Condition((("title", (plain_matcher("sponsored"),)),), 31),))
    feed = replace(
        FEED,
        entries=(parsed("Sponsored: A"), parsed("Seoul budget"), parsed("Sponsored: B")),
    )
    with caplog.at_level(logging.INFO, logger="syndicator"):
        entries, excluded = normalize_feed(feed, context(filters=filters))
    assert [e.title for e in entries] == ["Seoul budget"] and excluded == 2
    lines = [r.getMessage() for r in caplog.records if "excluded" in r.getMessage()]
    assert lines == ["scw-news: 2 entries excluded by feeds.yaml filters (line 31)"]


def test_compiled_rules_travel_to_worker_processes() -> None:
    config = check_config_text(
        "site: {title: T, url: 'https://x.org/'}\n"
        "rules: [{kind: webinar, title: {regex: 'curb\\s+data'}}]\n"
        "feeds: [{id: a, url: 'https://x.org/rss', exclude: [{title: sponsored}]}]\n",
        "feeds.yaml",
        Path("/srv"),
    )
    feed = config.feeds[0]
    body = (
        b"<rss version='2.0'><channel><title>t</title><link>https://x.org/</link>"
        b"<item><title>Curb data sharing</title><link>https://x.org/1</link></item>"
        b"<item><title>Sponsored</title><link>https://x.org/2</link></item></channel></rss>"
    )
    job = PrepareJob("a", "article", body, "application/rss+xml", feed.url, FETCHED)
    job = replace(job, rules=feed.rules, filters=feed.filters)
    copy = pickle.loads(pickle.dumps(job))
    assert copy == job
    prepared = prepare(copy)
    assert [(e.title, e.kind, e.kind_rule) for e in prepared.entries] == [
        ("Curb data sharing", "webinar", 'feeds.yaml line 2: title matches regex "curb\\s+data"')
    ]
    assert prepared.excluded == 1


# --------------------------------------------------------------------------- end to end

SCW = "https://www.smartcitiesworld.net"


def rss_item(title: str, slug: str, description: str = "", extra: str = "") -> str:
    return (
        f"<item><title>{title}</title><link>{SCW}/{slug}</link><guid>{SCW}/{slug}</guid>"
        f"<pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate>"
        f"<description><![CDATA[{description}]]></description>{extra}</item>"
    )


MIXED_RSS = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<rss version="2.0" xmlns:xCal="urn:ietf:params:xml:ns:xcal"><channel>'
    f"<title>SmartCitiesWorld</title><link>{SCW}/</link><description>d</description>"
    + rss_item("Seoul expands smart parking", "news/parking", "<p>Sensors in 4,000 bays.</p>")
    + rss_item("City data strategy", "news/data-strategy", extra="<category>Research</category>")
    + rss_item(
        "Curb management session",
        "events/curb",
        "<p>On Thursday 9 May 2030, 14:00 BST: curbs, data and delivery robots.</p>",
    )
    + rss_item("Sponsored: buy our sensors", "news/sponsored")
    + rss_item(
        "Download the 2030 mobility outlook",
        "news/outlook",
        extra=f'<enclosure url="{SCW}/files/outlook" type="application/pdf" length="1000"/>',
    )
    + rss_item(
        "Webinar: digital twins for mid-size cities",
        "news/digital-twins",
        "<p>Live on 12/05/2030 2pm CET with Seoul and Helsinki.</p>",
    )
    + rss_item(
        "Register for the Smart Cities Korea livestream",
        "news/korea-livestream",
        "<p>The stream starts May 14, 2030 at 9:00 AM EDT.</p>",
    )
    + rss_item(
        "Smart city webinar for Korean members",
        "news/korea-webinar",
        "<p>2030-06-10 15:00 (UTC+9), in Korean and English.</p>",
    )
    + rss_item(
        "Report: Seoul cuts emissions by 20%",
        "news/emissions",
        extra="<category>News</category>",
    )
    + rss_item(
        "Webinar recording: last year's mobility forum",
        "news/recording",
        "<p>Held on 12 May 2022, 14:00 BST.</p>",
    )
    + rss_item(
        "Seoul smart city online event",
        "news/seoul-online",
        '<p>Join us.</p><script type="application/ld+json">{"@context": "https://schema.org",'
        ' "@graph": [{"@type": "WebPage"}, {"@type": "EducationEvent",'
        ' "startDate": "2030-06-01T10:00:00+09:00", "endDate": "2030-06-01T12:00:00+09:00"}]}'
        "</script>",
    )
    + rss_item(
        "Urban data masterclass",
        "news/masterclass",
        extra="<xCal:dtstart>20300603T080000Z</xCal:dtstart>",
    )
    + "</channel></rss>"
).encode()

WEGO_RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:ev="http://purl.org/rss/1.0/modules/event/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://we-gov.org/"><title>WeGO events</title>
    <link>https://we-gov.org/</link><description>d</description></channel>
  <item rdf:about="https://we-gov.org/programme/assembly-2030">
    <title>WeGO members' assembly (online)</title>
    <link>https://we-gov.org/programme/assembly-2030</link><dc:date>2026-11-20T09:00:00Z</dc:date>
    <ev:startdate>2030-06-20T09:00:00+09:00</ev:startdate>
    <ev:enddate>2030-06-20T11:00:00+09:00</ev:enddate>
  </item>
</rdf:RDF>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "SCW Partner Desk",
        "home_page_url": SCW + "/",
        "items": [
            {
                "id": "net-zero",
                "url": SCW + "/webinars/net-zero",
                "title": "Webinar: net zero buildings",
                "date_published": "2026-11-20T09:00:00Z",
                "_event": {"start": "2030-07-01T14:00:00", "timezone": "Europe/London"},
            },
            {
                "id": "lighting",
                "url": SCW + "/papers/lighting",
                "title": "Smart street lighting",
                "tags": ["Whitepapers"],
                "date_published": "2026-11-20T09:00:00Z",
            },
            {
                "id": "helsinki",
                "url": SCW + "/news/helsinki",
                "title": "Helsinki opens its data platform",
                "date_published": "2026-11-20T09:00:00Z",
            },
        ],
    }
).encode()


def e2e_config(server: PartnerServer) -> str:
    return f"""\
site:
  title: WeGO Partner Digest
  url: https://feeds.example.org/
storage:
  database: syndicator.db
  output_dir: public
allow_private_networks: true
rules:
  - kind: webinar
    url: /events/
feeds:
  - id: scw-mixed
    url: {server.url("/mixed.rss")}
    rules:
      - kind: whitepaper
        category: research
    exclude:
      - title: sponsored
  - id: wego-events
    url: {server.url("/events.rdf")}
    kind: webinar
  - id: scw-desk
    url: {server.url("/desk.json")}
"""


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def published_titles(output: Path, name: str) -> set[str]:
    document = json.loads((output / f"{name}.json").read_text(encoding="utf-8"))
    return {item["title"] for item in document["items"]}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_mixed_feeds_are_split_into_kinds_with_start_times(tmp_path: Path) -> None:
    with PartnerServer() as server:
        server.set("/mixed.rss", MIXED_RSS, content_type="application/rss+xml; charset=utf-8")
        server.set("/events.rdf", WEGO_RDF, content_type="application/rdf+xml")
        server.set("/desk.json", JSON_FEED, content_type="application/feed+json")
        config_text = e2e_config(server)
        config = tmp_path / "feeds.yaml"
        config.write_text(config_text, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "syndicator", "fetch", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        )
    assert result.returncode == 0, result.stdout + result.stderr
    exclude_line = line_of(config_text, "- title: sponsored")
    assert (
        f"scw-mixed: 1 entries excluded by feeds.yaml filters (line {exclude_line})"
        in result.stderr
    )
    assert "1 excluded by feeds.yaml filters" in result.stderr  # the feed's pass report

    output = tmp_path / "public"
    webinars = {
        "Curb management session",
        "Webinar: digital twins for mid-size cities",
        "Register for the Smart Cities Korea livestream",
        "Smart city webinar for Korean members",
        "Seoul smart city online event",
        "Urban data masterclass",
        "WeGO members' assembly (online)",
        "Webinar: net zero buildings",
    }
    whitepapers = {
        "City data strategy",
        "Download the 2030 mobility outlook",
        "Smart street lighting",
    }
    articles = {
        "Seoul expands smart parking",
        "Report: Seoul cuts emissions by 20%",
        "Webinar recording: last year's mobility forum",
        "Helsinki opens its data platform",
    }
    assert published_titles(output, "webinars") == webinars
    assert published_titles(output, "whitepapers") == whitepapers
    assert published_titles(output, "articles") == articles
    assert "Sponsored: buy our sensors" not in published_titles(output, "all")

    with Store(tmp_path / "syndicator.db") as store:
        ids = list(store.latest_stories(100))
        entries = {
            c.entry.title: c.entry for copies in store.story_copies(ids).values() for c in copies
        }
    rule_line = line_of(config_text, "- kind: whitepaper")
    global_line = line_of(config_text, "- kind: webinar")
    rules = {title: entries[title].kind_rule for title in entries}
    assert (
        rules["City data strategy"] == f'feeds.yaml line {rule_line}: category matches "research"'
    )
    assert (
        rules["Curb management session"] == f'feeds.yaml line {global_line}: url matches "/events/"'
    )
    assert rules["Download the 2030 mobility outlook"] == "heuristic: PDF enclosure"
    assert rules["Smart street lighting"] == 'heuristic: category "Whitepapers" (a whitepapers)'
    assert rules["Webinar: digital twins for mid-size cities"] == (
        'heuristic: "webinar" and a start date in the future'
    )
    assert rules["Urban data masterclass"] == (
        "heuristic: event data (xcal) with a start in the future"
    )
    assert rules["WeGO members' assembly (online)"] == (
        "heuristic: event data (ev) with a start in the future"
    )
    assert rules["Seoul expands smart parking"] == "feed kind"

    events = {title: entries[title].event for title in webinars}
    expected = {
        "Curb management session": Event(utc(2030, 5, 9, 13), None, "BST", "text"),
        "Webinar: digital twins for mid-size cities": Event(
            utc(2030, 5, 12, 13), None, "CET", "text"
        ),
        "Register for the Smart Cities Korea livestream": Event(
            utc(2030, 5, 14, 13), None, "EDT", "text"
        ),
        "Smart city webinar for Korean members": Event(utc(2030, 6, 10, 6), None, "UTC+9", "text"),
        "Seoul smart city online event": Event(
            utc(2030, 6, 1, 1), utc(2030, 6, 1, 3), "+09:00", "json-ld"
        ),
        "Urban data masterclass": Event(utc(2030, 6, 3, 8), None, "Z", "xcal"),
        "WeGO members' assembly (online)": Event(
            utc(2030, 6, 20, 0), utc(2030, 6, 20, 2), "+09:00", "ev"
        ),
        "Webinar: net zero buildings": Event(
            utc(2030, 7, 1, 13), None, "Europe/London", "json feed"
        ),
    }
    assert events == expected
    assert entries["Webinar recording: last year's mobility forum"].event is None
