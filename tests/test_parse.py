"""parse.py: one row per sample feed in tests/data/feeds/, then the feedparser traps.

Each STACK-NOTES feedparser trap has a test that fails without its workaround:
JSON Feed (test_feedparser_cannot_read_json_feed + the table), BytesIO only
(test_body_is_never_opened_as_a_file_name), sanitizer and URI rewriting off
(test_markup_and_relative_links_are_left_alone), entity expansion
(test_entity_declarations_are_refused_*), raising character references
(test_surrogate_character_reference_*), guid resolution (test_guid_is_the_raw_guid).
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from syndicator.model import Enclosure, ParsedFeed
from syndicator.parse import ParseError, parse_feed

FEEDS = Path(__file__).parent / "data" / "feeds"
URL = "https://partner.example.org/feed"


def parse(body: bytes, content_type: str | None = "application/rss+xml") -> ParsedFeed:
    return parse_feed(body, content_type=content_type, url=URL)


def rss(items: str, channel: str = "<title>T</title>") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"{channel}{items}</channel></rss>"
    ).encode()


# --- the sample feeds -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    file: str
    content_type: str | None
    format: str
    entries: int
    guid: str | None
    title: str
    link: str | None
    published: datetime | None
    updated: datetime | None
    warning: bool = False


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


ROWS = [
    Row(
        "rss20.xml",
        "application/rss+xml; charset=utf-8",
        "rss20",
        3,
        "12345",
        "Seoul expands its digital twin to every district",
        "/news/seoul-digital-twin",
        utc("2025-06-03 00:30:00"),
        None,
    ),
    Row(
        "rss10.rdf",
        "application/rdf+xml",
        "rss10",
        2,
        "https://urbanlab.example.org/reports/mobility-2025",
        "Mobility report 2025",
        "https://urbanlab.example.org/reports/mobility-2025",
        None,
        utc("2025-05-20 08:00:00"),
    ),
    Row(
        "atom10.xml",
        "application/atom+xml",
        "atom10",
        2,
        "tag:example.com,2025:post-17",
        "Open data <em>week</em> 2025",
        "https://www.example.com/blog/posts/open-data-week",
        utc("2025-05-30 06:00:00"),
        utc("2025-06-01 12:00:00"),
    ),
    Row(
        "jsonfeed11.json",
        "application/feed+json",
        "json11",
        2,
        "2001",
        "Financing smart streetlights",
        "https://webinars.example.net/w/2001",
        utc("2025-06-10 15:00:00"),
        utc("2025-06-11 07:00:00"),
    ),
    Row(
        "jsonfeed10.json",
        None,  # sniffed from the body
        "json10",
        1,
        "https://old.example.org/p/1",
        "First post",
        "https://old.example.org/p/1",
        utc("2024-01-02 08:04:05"),
        None,
    ),
    Row(  # cut inside its second item, which is left out (it would wipe the stored one)
        "truncated.xml",
        "text/xml",
        "rss20",
        1,
        "12345",
        "Seoul expands its digital twin to every district",
        "/news/seoul-digital-twin",
        utc("2025-06-03 00:30:00"),
        None,
        warning=True,
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.file for row in ROWS])
def test_sample_feeds(row: Row) -> None:
    feed = parse_feed((FEEDS / row.file).read_bytes(), content_type=row.content_type, url=URL)
    assert feed.format == row.format
    assert len(feed.entries) == row.entries
    first = feed.entries[0]
    assert first.guid == row.guid
    assert first.title == row.title
    assert first.link == row.link
    assert first.published == row.published
    assert first.updated == row.updated
    assert (feed.warning is not None) is row.warning


ERROR_ROWS = [
    ("html_page.html", "text/html; charset=utf-8", "not a feed: the server sent an HTML page"),
    ("html_page.html", None, 'not a feed: the server sent an HTML page titled "Page not found"'),
    ("truncated_early.xml", "text/xml", "not a feed: unclosed token at line 3"),
    ("billion_laughs.xml", "application/rss+xml", "refused: the feed declares XML entities"),
]


@pytest.mark.parametrize(
    ("file", "content_type", "message"),
    ERROR_ROWS,
    ids=[f"{row[0]}-{row[1]}" for row in ERROR_ROWS],
)
def test_sample_non_feeds(file: str, content_type: str | None, message: str) -> None:
    with pytest.raises(ParseError) as error:
        parse_feed((FEEDS / file).read_bytes(), content_type=content_type, url=URL)
    assert str(error.value).startswith(message)


# --- entries in detail ----------------------------------------------------------------


def test_rss20_entries() -> None:
    feed = parse((FEEDS / "rss20.xml").read_bytes())
    assert (feed.title, feed.link, feed.language, feed.ttl_minutes) == (
        "SmartCitiesWorld News",
        "https://www.smartcitiesworld.net/",
        "en-gb",
        60,
    )
    seoul, lights, shenzhen = feed.entries
    assert seoul.summary == "<p>Seoul &amp; its districts share one <b>3D model</b>.</p>"
    assert seoul.content.startswith("<p>Seoul &amp; its 25 districts")
    assert seoul.categories == ("Digital twin", "Seoul")
    assert seoul.authors == ("Jane Kim",)
    assert seoul.thumbnail == "https://www.smartcitiesworld.net/img/twin-thumb.jpg"
    assert seoul.base is None  # no xml:base: normalize resolves /news/... itself
    assert seoul.language == "en-gb"
    assert not seoul.title_is_html

    assert lights.guid == "scw-2025-0602-streetlights"  # isPermaLink="false"
    assert lights.title == "서울시, 스마트 가로등 1만 개 설치"
    assert lights.enclosures == (
        Enclosure(
            "https://www.smartcitiesworld.net/files/streetlights-report.pdf",
            "application/pdf",
            482133,
        ),
    )

    assert shenzhen.title == "深圳推出城市大脑 2.0"
    assert shenzhen.published is None  # "not a date"
    assert shenzhen.summary == ""  # content only: not duplicated into summary
    assert shenzhen.content == "<p>深圳市发布了城市大脑 2.0。</p>"
    assert shenzhen.enclosures[0].length is None  # length=""


def test_atom_entries() -> None:
    feed = parse((FEEDS / "atom10.xml").read_bytes(), "application/atom+xml")
    assert (feed.title, feed.link, feed.language) == (
        "Example City Blog",
        "https://www.example.com/blog/",
        "en",
    )
    post, archived = feed.entries
    assert post.title_is_html
    assert post.summary == "<p>A week of open data &amp; civic tech.</p>"  # type="text" escaped
    assert post.content == '<p>The programme is <a href="files/programme.pdf">here</a>.</p>'
    assert post.authors == ("Ana Lopez", "Ben Ito")
    assert post.categories == ("open-data", "events")
    assert post.enclosures == (
        Enclosure("https://www.example.com/blog/files/programme.pdf", "application/pdf", 102400),
    )
    assert post.base == "https://www.example.com/blog/"  # the feed's xml:base
    assert post.language == "en"

    assert archived.base == "https://cdn.example.com/archive/"  # the entry's own xml:base
    assert archived.link == "https://cdn.example.com/archive/old-post"
    assert archived.summary == ""
    assert archived.content == "<p>Only content, <b>no summary</b>.</p>"
    assert archived.published is None


def test_json_feed_11_entries() -> None:
    feed = parse((FEEDS / "jsonfeed11.json").read_bytes(), "application/feed+json")
    assert (feed.title, feed.link, feed.language) == (
        "Webinar Hub",
        "https://webinars.example.net/",
        "en-US",
    )
    webinar, event = feed.entries
    assert webinar.guid == "2001"  # a JSON number, as a string
    assert (
        webinar.content == "<p>Join us &amp; learn &lt;why&gt; it pays.</p><p>Second paragraph.</p>"
    )
    assert webinar.summary == "A webinar about streetlights &amp; money."
    assert webinar.authors == ("Maria Rossi",)
    assert webinar.categories == ("webinar", "finance")
    assert webinar.thumbnail == "https://webinars.example.net/img/2001.png"
    assert webinar.language == "it"
    assert webinar.enclosures == (  # the duplicate attachment URL is dropped
        Enclosure("https://webinars.example.net/w/2001/slides.pdf", "application/pdf", 204800),
    )
    assert webinar.base is None
    assert not webinar.title_is_html

    assert event.link == "https://partner.example.org/event"  # external_url when no url
    assert event.content == "<p>Intro to <b>digital twins</b>.</p>"
    assert event.published is None  # "yesterday"
    assert event.language == "en-US"  # the feed's


def test_json_feed_10_entries() -> None:
    feed = parse((FEEDS / "jsonfeed10.json").read_bytes(), "application/json")
    (post,) = feed.entries
    assert post.authors == ("Item Author",)
    assert post.thumbnail == "https://old.example.org/banner.jpg"


# --- the feedparser traps -------------------------------------------------------------


def test_guid_is_the_raw_guid() -> None:
    body = rss("<item><title>A</title><guid>12345</guid><link>https://x.org/a</link></item>")
    # The trap: with a base URL (Content-Location), feedparser resolves the guid in entry.id
    # (shown with feedparser's own setting, which parse.py changes).
    mixin = feedparser.mixin._FeedParserMixin
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mixin, "can_be_relative_uri", mixin.can_be_relative_uri | {"id"})
        resolved = feedparser.parse(
            io.BytesIO(body),
            response_headers={"content-type": "application/rss+xml", "content-location": URL},
        )
    assert resolved.entries[0].id == "https://partner.example.org/12345"
    # Our call passes no base: the guid stays as the partner wrote it.
    assert parse(body).entries[0].guid == "12345"


def test_guid_ignores_xml_base() -> None:
    body = rss(
        "<item><title>A</title><guid>item-42</guid><link>a</link></item>"
        '<item><title>B</title><guid isPermaLink="false">b</guid></item>',
        channel='<title>T</title><atom:link xmlns:atom="http://www.w3.org/2005/Atom" href="x"/>',
    ).replace(b"<channel>", b'<channel xml:base="https://partner.example.org/news/">')
    first, second = parse(body).entries
    assert (first.guid, second.guid) == ("item-42", "b")
    assert first.link == "https://partner.example.org/news/a"  # links still resolve
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://partner.example.org/">'
        b"<title>T</title><entry><id>relative/1</id><title>A</title>"
        b"<updated>2025-01-01T00:00:00Z</updated></entry></feed>"
    )
    assert parse(atom, "application/atom+xml").entries[0].guid == "relative/1"


def test_guid_that_is_not_a_url_is_not_a_link() -> None:
    # No <link>: feedparser copies a permalink guid into entry.link, even "12345".
    body = rss(
        "<item><title>A</title><guid>12345</guid></item>"
        "<item><title>B</title><guid>https://x.org/b</guid></item>"
    )
    first, second = parse(body).entries
    assert (first.guid, first.link) == ("12345", None)
    assert (second.guid, second.link) == ("https://x.org/b", "https://x.org/b")


def test_feedparser_cannot_read_json_feed() -> None:
    body = (FEEDS / "jsonfeed11.json").read_bytes()
    result = feedparser.parse(
        io.BytesIO(body), response_headers={"content-type": "application/json"}
    )
    assert result.bozo and not result.entries  # hence our own reader
    assert len(parse(body, "application/json").entries) == 2


def test_body_is_never_opened_as_a_file_name(tmp_path: Path) -> None:
    # Given bytes that name a file, feedparser.parse(bytes) reads that file.
    secret = tmp_path / "feed.xml"
    secret.write_bytes(rss("<item><title>from disk</title></item>"))
    assert feedparser.parse(str(secret).encode()).entries[0].title == "from disk"
    with pytest.raises(ParseError):
        parse(str(secret).encode(), "text/plain")


def test_markup_and_relative_links_are_left_alone() -> None:
    # feedparser's sanitizer and URI resolution are off: nh3 and normalize do it, once.
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://x.org/blog/">'
        b"<title>T</title><entry><id>1</id><title>A</title>"
        b'<content type="html">&lt;p onclick="x()"&gt;&lt;a href="p/2"&gt;next&lt;/a&gt;'
        b"&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;</content></entry></feed>"
    )
    entry = parse(body, "application/atom+xml").entries[0]
    assert entry.content == '<p onclick="x()"><a href="p/2">next</a><script>alert(1)</script></p>'
    assert entry.base == "https://x.org/blog/"


QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"A" * 1000 + b'">]>'
    b"<rss version='2.0'><channel><title>&a;&a;&a;</title></channel></rss>"
)


def test_entity_declarations_are_refused_before_parsing() -> None:
    # The trap: feedparser drops nested entities (billion laughs) but keeps "safe" ones,
    # and one big entity used many times grows quadratically (STACK-NOTES: 215 KB -> 1 GB).
    headers = {"content-type": "text/xml"}
    expanded = feedparser.parse(io.BytesIO(QUADRATIC), response_headers=headers)
    assert expanded.feed.title == "A" * 3000
    with pytest.raises(ParseError, match="declares XML entities"):
        parse(QUADRATIC)
    with pytest.raises(ParseError, match="declares XML entities"):
        parse((FEEDS / "billion_laughs.xml").read_bytes())


@pytest.mark.parametrize(
    "body",
    [
        # a parameter entity
        b"<?xml version='1.0'?><!DOCTYPE rss [<!ENTITY % p 'x'>]><rss version='2.0'/>",
        # hidden behind a comment that looks like the root element
        b"<?xml version='1.0'?><!DOCTYPE rss [<!-- <rss> --> <!entity x 'y'>]><rss/>",
        # UTF-16
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE rss [<!ENTITY x "y">]>'
        '<rss version="2.0"><channel><title>&x;</title></channel></rss>'.encode("utf-16"),
    ],
    ids=["parameter-entity", "comment-trick", "utf-16"],
)
def test_entity_declarations_are_refused_in_every_disguise(body: bytes) -> None:
    with pytest.raises(ParseError, match="declares XML entities"):
        parse(body, "application/xml")


def test_doctype_without_entities_is_fine() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC '
        b'"-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>Old</title><item><title>A</title>'
        b"<link>https://x.org/a</link></item></channel></rss>"
    )
    feed = parse(body, "text/xml")
    assert feed.format.startswith("rss09")
    assert len(feed.entries) == 1


def test_surrogate_character_reference_raises_in_feedparser() -> None:
    body = (FEEDS / "surrogate_charref.xml").read_bytes()
    with pytest.raises(UnicodeEncodeError):  # feedparser #591, #599: the reason for the wrap
        feedparser.parse(io.BytesIO(body), response_headers={"content-type": "text/xml"})
    # We replace such references before parsing: the rest of the feed survives.
    feed = parse(body)
    assert [e.title for e in feed.entries] == ["Emoji half \ufffd here"]
    assert feed.warning is not None and "replaced 1 character reference" in feed.warning
    # A UTF-16 feed is not rewritten: feedparser's exception becomes a ParseError.
    wide = body.decode().replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    with pytest.raises(ParseError, match="lone UTF-16 surrogate"):
        parse(wide)


def test_updated_does_not_fall_back_to_published() -> None:
    # FeedParserDict.get("updated_parsed") returns published_parsed when there is no
    # <updated>: we read the real keys only.
    body = rss("<item><title>A</title><pubDate>Mon, 02 Jun 2025 08:00:00 GMT</pubDate></item>")
    entry = parse(body).entries[0]
    assert entry.published == utc("2025-06-02 08:00:00")
    assert entry.updated is None


@pytest.mark.parametrize(
    ("written", "in_utc"),
    [
        ("Wed, 25 Nov 2026 09:30:00 KST", "2026-11-25 00:30:00"),  # WeGO, Seoul
        ("Wed, 25 Nov 2026 09:30:00 JST", "2026-11-25 00:30:00"),
        ("Wed, 25 Nov 2026 09:30:00 CET", "2026-11-25 08:30:00"),
        ("Wed, 25 Nov 2026 09:30 CEST", "2026-11-25 07:30:00"),
        ("Wed, 25 Nov 2026 09:30:00 BST", "2026-11-25 08:30:00"),
        ("Wed, 25 Nov 2026 09:30:00 EST", "2026-11-25 14:30:00"),  # feedparser knows these
        ("Wed, 25 Nov 2026 09:30:00 MEST", "2026-11-25 07:30:00"),
        ("Wed, 25 Nov 2026 09:30:00 +0900", "2026-11-25 00:30:00"),
        ("Wed, 25 Nov 2026 09:30:00 GMT", "2026-11-25 09:30:00"),
        ("Wed, 25 Nov 2026 09:30:00 XYZT", "2026-11-25 09:30:00"),  # unknown: as feedparser
    ],
)
def test_rfc_822_dates_with_a_zone_abbreviation_feedparser_does_not_know(
    written: str, in_utc: str
) -> None:
    # feedparser reads "KST", "CET", "JST"... as UTC: a Korean partner's item was 9 hours
    # late, so a fresh one landed in the future and was clamped to the fetch time.
    body = rss(f"<item><title>A</title><pubDate>{written}</pubDate></item>")
    assert parse(body).entries[0].published == utc(in_utc)


# --- errors and edge cases ------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \n\t", b"\xef\xbb\xbf\n"])
def test_empty_body(body: bytes) -> None:
    with pytest.raises(ParseError, match=r"^empty response body$"):
        parse(body)


def test_xml_that_is_not_a_feed() -> None:
    body = b'<?xml version="1.0"?><urlset><url><loc>https://x.org/</loc></url></urlset>'
    with pytest.raises(ParseError, match="not a feed: the document is XML but not RSS"):
        parse(body, "application/xml")


def test_plain_text_is_not_a_feed() -> None:
    with pytest.raises(ParseError, match=r"^not a feed: syntax error"):
        parse(b"hello world", "text/plain")


def test_valid_empty_feed() -> None:
    feed = parse(rss(""))
    assert feed.entries == ()
    assert feed.title == "T"
    assert feed.warning is None


def test_rss_served_as_html_is_still_read() -> None:
    feed = parse((FEEDS / "rss20.xml").read_bytes(), "text/html")
    assert len(feed.entries) == 3
    assert feed.warning is not None


def test_json_content_type_on_xml_body_reads_the_xml() -> None:
    assert parse((FEEDS / "rss20.xml").read_bytes(), "application/json").format == "rss20"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not a feed: invalid JSON"),
        (b'{"title": "x", "items": []}', "not a feed: JSON without a JSON Feed version"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1"}',
            'not a feed: the JSON Feed has no "items"',
        ),
        (b"[1, 2]", "not a feed: JSON, but not a JSON Feed object"),
        (b"[" * 100_000, "not a feed: invalid JSON"),
    ],
    ids=["truncated", "no-version", "no-items", "array", "deep-nesting"],
)
def test_json_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=f"^{message}"):
        parse(body, "application/json")


def test_json_feed_odd_values() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "authors": [{"name": "Feed Author"}],
        "items": [
            {"id": 7, "title": "naive date", "date_published": "2025-01-02T03:04:05"},
            {"id": True, "title": "bool id", "content_text": "line one\nline two"},
            {
                "id": "",
                "title": "lone \ud800 surrogate",
                "attachments": [{"url": "a", "size_in_bytes": -1}],
            },
            "not an object",
        ],
    }
    feed = parse(json.dumps(document).encode(), "application/feed+json")
    naive, boolean, surrogate = feed.entries
    assert naive.guid == "7"
    assert naive.published == utc("2025-01-02 03:04:05")  # no offset: read as UTC
    assert naive.authors == ("Feed Author",)  # inherited from the feed
    assert boolean.guid is None
    assert boolean.content == "<p>line one<br>line two</p>"
    assert surrogate.guid is None
    assert surrogate.title == "lone \ufffd surrogate"
    assert surrogate.enclosures == (Enclosure("a", "application/octet-stream", None),)
    assert feed.warning == "skipped 1 item(s) that are not JSON objects"


def test_bom_before_json() -> None:
    body = b"\xef\xbb\xbf" + (FEEDS / "jsonfeed11.json").read_bytes()
    assert parse(body, None).format == "json11"


def test_atom_entries_inherit_feed_authors() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        b"<author><name>Feed Person</name></author>"
        b"<entry><id>urn:1</id><title>A</title></entry>"
        b"<entry><id>urn:2</id><title>B</title><author><name>Own</name></author></entry></feed>"
    )
    first, second = parse(body, "application/atom+xml").entries
    assert first.authors == ("Feed Person",)
    assert second.authors == ("Own",)


def test_atom_text_content_is_escaped_into_html() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><id>urn:1</id>'
        b'<title type="text">A &lt;b&gt; tag</title><content type="text">x &lt; y</content>'
        b"</entry></feed>"
    )
    entry = parse(body, "application/atom+xml").entries[0]
    assert entry.title == "A <b> tag" and not entry.title_is_html
    assert entry.content == "<p>x &lt; y</p>"
    assert entry.summary == ""


def test_relative_xml_base_is_resolved_against_the_feed_url() -> None:
    body = rss("<item xml:base='/news/'><title>A</title><link>a</link></item>")
    entry = parse(body).entries[0]
    assert entry.base == "https://partner.example.org/news/"


def test_an_entrys_xml_base_does_not_leak_into_the_entries_after_it() -> None:
    # feedparser restores the base after an element only when the outer base is not empty
    # (no document URL is given to it): every later entry took the first one's xml:base.
    body = rss(
        "<item xml:base='http://other.example/first/'><title>A</title><link>a.html</link>"
        "</item><item><title>B</title><link>b.html</link>"
        "<description>&lt;a href='b.html'&gt;b&lt;/a&gt;</description></item>"
    )
    first, second = parse(body).entries
    assert (first.base, first.link) == (
        "http://other.example/first/",
        "http://other.example/first/a.html",
    )
    assert (second.base, second.link) == (None, "b.html")  # normalize resolves it
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        b'<entry xml:base="http://other.example/first/"><title>A</title><id>1</id>'
        b'<link href="one.html"/><updated>2026-12-01T00:00:00Z</updated></entry>'
        b'<entry><title>B</title><id>2</id><link href="two.html"/>'
        b"<updated>2026-12-01T00:00:00Z</updated></entry></feed>"
    )
    first, second = parse(atom, "application/atom+xml").entries
    assert first.link == "http://other.example/first/one.html"
    assert (second.base, second.link) == (None, "two.html")
    # a base of the whole feed still holds for every entry
    based = atom.replace(
        b'<feed xmlns="http://www.w3.org/2005/Atom">',
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://site.example/blog/">',
    )
    first, second = parse(based, "application/atom+xml").entries
    assert second.base == "https://site.example/blog/"
    assert second.link == "https://site.example/blog/two.html"


def test_the_feeds_own_title_is_plain_text_as_entry_titles_are() -> None:
    # It names the partner in every credit: an HTML title's entities stayed escaped there,
    # and markup in a text title was published as markup. Whatever looks like a tag goes,
    # as in entry titles: RSS readers may render a title as HTML (CONTRACT.md).
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom">'
        b'<title type="html">Atom &amp;amp; Co &lt;i&gt;Labs&lt;/i&gt;</title></feed>'
    )
    assert parse(atom, "application/atom+xml").title == "Atom & Co Labs"
    channel = "<title>Partner &amp; RSS &lt;b&gt;Two&lt;/b&gt;</title>"
    assert parse(rss("", channel=channel)).title == "Partner & RSS Two"
    assert parse(rss("", channel="<title>R&amp;D  news\n</title>")).title == "R&D news"
    json_feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J <b>Feed</b>", "items": []}'
    )
    assert parse(json_feed, "application/feed+json").title == "J Feed"


def test_an_rfc_822_date_without_a_zone_is_read_as_utc() -> None:
    # feedparser gives up on it (an ISO date without a zone it reads as UTC): the item was
    # dated when first seen, and jumped to the top of every feed.
    body = rss(
        "<item><title>A</title><pubDate>Sat, 05 Dec 2026 10:00:00</pubDate></item>"
        "<item><title>B</title><pubDate>Sat, 05 Dec 2026 10:00</pubDate></item>"
        "<item><title>C</title><pubDate>next Tuesday</pubDate></item>"
    )
    a, b, c = parse(body).entries
    assert a.published == b.published == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert c.published is None


def test_html_entities_in_xml_warn_without_claiming_entries_are_missing() -> None:
    # The lenient parser reads such a feed whole: "entries after that point are missing"
    # sent the operator after entries that were all there.
    body = rss(
        "<item><title>Caf&eacute; data&nbsp;day</title><link>https://p.org/1</link></item>"
        "<item><title>Two</title><link>https://p.org/2</link></item>"
        "<item><title>Three</title><link>https://p.org/3</link></item>"
    )
    feed = parse(body)
    assert [e.title for e in feed.entries] == ["Caf\u00e9 data\u00a0day", "Two", "Three"]
    assert feed.warning is not None
    assert feed.warning.startswith("the feed uses an entity XML does not define (")
    assert "missing" not in feed.warning and feed.warning.endswith("; tell the partner")


def test_an_entry_cut_in_the_middle_is_left_out_and_the_cut_is_reported() -> None:
    # The lenient parser keeps what it read of the last item: a title and half a link, no
    # guid, no text. Taken as an entry, it replaced the stored item (its text gone) or
    # became a story of its own with a broken link.
    whole = rss(
        "<item><title>One</title><link>https://p.org/1</link><guid>g1</guid>"
        "<description>Text one</description></item>"
        "<item><title>Caf&eacute; two</title><link>https://p.org/2</link><guid>g2</guid>"
        "<description>Text two</description></item>"
    )
    cut = whole[: whole.index(b"<link>https://p.org/2") + len(b"<link>https://p.o")]
    feed = parse(cut)
    assert [e.guid for e in feed.entries] == ["g1"]
    assert feed.warning is not None
    assert feed.warning.startswith("the feed is malformed or cut off (")
    assert "the last entry, cut in the middle, was left out" in feed.warning
    # cut between two items: every item read is whole, and kept
    between = whole[: whole.index(b"</item>") + len(b"</item>")]
    feed = parse(between)
    assert [e.guid for e in feed.entries] == ["g1"]
    assert feed.warning is not None and "left out" not in feed.warning
    assert feed.warning.startswith("the feed is malformed or cut off (")


def test_thumbnail_from_media_content_and_bad_ttl() -> None:
    body = rss(
        "<item><title>A</title>"
        '<media:content url="https://x.org/v.mp4" type="video/mp4"/>'
        '<media:content url="https://x.org/i.jpg" type="image/jpeg"/>'
        '<enclosure url="https://x.org/a.mp3" length="-5" type="audio/mpeg"/>'
        '<enclosure url="https://x.org/a.mp3" length="10" type="audio/mpeg"/></item>',
        channel="<title>T</title><ttl>soon</ttl>",
    )
    feed = parse(body)
    entry = feed.entries[0]
    assert entry.thumbnail == "https://x.org/i.jpg"
    assert entry.enclosures == (Enclosure("https://x.org/a.mp3", "audio/mpeg", None),)
    assert feed.ttl_minutes is None


def test_invalid_dates_are_none() -> None:
    body = rss("<item><title>A</title><pubDate>Mon, 31 Feb 2025 00:00:00 GMT</pubDate></item>")
    assert parse(body).entries[0].published is None


def test_many_comments_before_junk_fail_fast() -> None:
    body = b"<!-- a -->" * 500 + b"<x>not a feed"
    started = time.monotonic()
    with pytest.raises(ParseError, match="not a feed"):
        parse(body, "application/xml")
    assert time.monotonic() - started < 1


def test_comments_before_an_html_page() -> None:
    body = b"<!-- cached -->\n<!-- by cdn -->\n<html><head><title>Hi</title></head></html>"
    with pytest.raises(ParseError, match='HTML page titled "Hi"'):
        parse(body, None)


# --- limits: what we accept of one partner feed (issue 7) ------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "&#xD800;",
        "&#xdfff;",
        "&#55296;",
        "&#0;",
        "&#x1;",
        "&#xFFFE;",
        "&#x110000;",
        "&#x0000000D800;",
        "&#99999999999999999999999;",
    ],
)
def test_forbidden_character_references_become_u_fffd(reference: str) -> None:
    body = rss(
        f"<item><title>a {reference} b</title><guid>1</guid>"
        f'<enclosure url="https://e.org/{reference}.pdf" type="application/pdf" length="1"/>'
        "</item><item><title>next</title><guid>2</guid></item>"
    )
    feed = parse(body)
    assert [e.title for e in feed.entries] == ["a \ufffd b", "next"]
    assert feed.warning is not None and "replaced 2 character reference(s)" in feed.warning


def test_allowed_character_references_are_left_alone() -> None:
    feed = parse(rss("<item><title>a&#8217;&#x1F600;&#9;b</title><guid>1</guid></item>"))
    assert feed.entries[0].title == "a\u2019\U0001f600\tb"
    assert feed.warning is None


def many_entries(kind: str, count: int) -> tuple[bytes, str | None]:
    if kind == "rss":
        items = "".join(f"<item><title>n{i}</title><guid>{i}</guid></item>" for i in range(count))
        return rss(items), "application/rss+xml"
    if kind == "rss-self-closing":
        return rss("<item/>" * count), "application/rss+xml"
    if kind == "atom":
        entries = "".join(
            f"<entry><id>urn:{i}</id><title>n{i}</title><updated>2025-01-01T00:00:00Z</updated>"
            "</entry>"
            for i in range(count)
        )
        return (
            f'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>{entries}</feed>'
        ).encode(), "application/atom+xml"
    if kind == "rdf":
        items = "".join(
            f'<item rdf:about="https://e.org/{i}"><title>n{i}</title>'
            f"<link>https://e.org/{i}</link></item>"
            for i in range(count)
        )
        return (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://e.org/"><title>T</title>'
            "<items><rdf:Seq>"
            + "".join(f'<rdf:li resource="https://e.org/{i}"/>' for i in range(count))
            + f"</rdf:Seq></items></channel>{items}</rdf:RDF>"
        ).encode(), "application/rdf+xml"
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "T",
        "items": [{"id": str(i), "title": f"n{i}"} for i in range(count)],
    }
    return json.dumps(document).encode(), "application/feed+json"


@pytest.mark.parametrize("kind", ["rss", "rss-self-closing", "atom", "rdf", "json"])
def test_entries_past_max_entries_are_dropped_with_a_warning(kind: str) -> None:
    body, content_type = many_entries(kind, 30)
    feed = parse_feed(body, content_type=content_type, url=URL, max_entries=10)
    assert len(feed.entries) == 10
    if kind != "rss-self-closing":
        assert [e.title for e in feed.entries] == [f"n{i}" for i in range(10)]
    assert feed.warning is not None
    assert "the feed has 30 entries; kept the first 10" in feed.warning
    assert "max_entries" in feed.warning
    assert feed.title == "T" or kind == "rss-self-closing"


def test_entries_within_max_entries_are_untouched() -> None:
    body, content_type = many_entries("rss", 10)
    feed = parse_feed(body, content_type=content_type, url=URL, max_entries=10)
    assert len(feed.entries) == 10 and feed.warning is None


def test_entries_past_the_tag_budget_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    from syndicator import parse as parse_module  # noqa: PLC0415

    monkeypatch.setattr(parse_module, "MAX_XML_TAGS", 100)
    # 20 entries of 8 tags ("<" counted): the header and 11 entries fit in 100.
    items = "".join(
        f"<item><title>n{i}</title><guid>{i}</guid></item>" + "<!-- -->" * 2 for i in range(20)
    )
    feed = parse_feed(rss(items), content_type="application/rss+xml", url=URL, max_entries=1000)
    assert 5 <= len(feed.entries) < 20
    assert [e.title for e in feed.entries] == [f"n{i}" for i in range(len(feed.entries))]
    assert feed.warning is not None and "more would exceed 100 tags" in feed.warning

    one_huge_entry = rss(
        "<item><title>x</title><description>" + "<x/>" * 200 + "</description></item>"
    )
    with pytest.raises(ParseError, match="more than 100 tags"):
        parse(one_huge_entry)
    with pytest.raises(ParseError, match="more than 100 tags"):
        parse(rss("", channel="<title>T</title>" + "<x/>" * 200))


def test_json_with_too_many_objects_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from syndicator import parse as parse_module  # noqa: PLC0415

    monkeypatch.setattr(parse_module, "MAX_JSON_OBJECTS", 100)
    body, content_type = many_entries("json", 200)
    with pytest.raises(ParseError, match="more than 100 objects"):
        parse(body, content_type)


def test_oversized_fields_are_cut_with_a_warning() -> None:
    from syndicator import parse as parse_module  # noqa: PLC0415

    huge_title = "T" * (5 * 1024 * 1024)
    long_guid = "g" * 5000
    long_link = "https://e.org/" + "a" * 5000
    body = rss(
        f"<item><title>{huge_title}</title><guid>{long_guid}</guid><link>{long_link}</link>"
        f"<description>{'x' * (parse_module.MAX_HTML_CHARS + 10)}</description>"
        + "".join(f"<category>c{i}</category>" for i in range(80))
        + "</item>"
    )
    feed = parse(body)
    entry = feed.entries[0]
    assert len(entry.title) == parse_module.MAX_TITLE_CHARS
    assert entry.guid is not None and entry.guid.startswith("sha256:") and len(entry.guid) == 71
    assert entry.link is None
    assert len(entry.summary) <= parse_module.MAX_HTML_CHARS + len(parse_module.CUT_MARK)
    assert entry.summary.endswith(parse_module.CUT_MARK)
    assert len(entry.categories) == parse_module.MAX_NAMES
    assert feed.warning is not None
    assert "cut oversized fields: " in feed.warning
    for what in ("1 titles", "1 summaries", "1 links (dropped)", "1 guids", "1 category lists"):
        assert what in feed.warning
    # the same long guid always gives the same identity
    assert parse(body).entries[0].guid == entry.guid


def test_a_cut_text_ends_between_words_and_says_it_was_cut() -> None:
    # A 300 KB article used to end "...reclaim street spa</p>", nothing telling the member.
    from syndicator import parse as parse_module  # noqa: PLC0415

    words = "<p>" + "reclaim street space " * 20_000 + "</p>"
    entry = parse(
        rss(f"<item><title>Long</title><description>{html_escape(words)}</description></item>")
    ).entries[0]
    text = entry.summary.removesuffix(parse_module.CUT_MARK)
    assert entry.summary.endswith(parse_module.CUT_MARK)
    assert text.endswith(("reclaim", "street", "space"))
    assert "the whole article is on the partner's site" in parse_module.CUT_MARK


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("/home", "https://partner.example.org/home"),
        ("https://partner.example.org/", "https://partner.example.org/"),
    ],
)
def test_feed_link_is_an_absolute_http_url_or_none(link: str, expected: str | None) -> None:
    feed = parse(rss("", channel=f"<title>T</title><link>{html_escape(link)}</link>"))
    assert feed.link == expected


def html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def test_every_forbidden_character_reference_is_caught_by_the_quick_search() -> None:
    from syndicator import parse as parse_module  # noqa: PLC0415

    forbidden = [*range(0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF, 0x110000, 0x7FFFFFFF]
    for code in forbidden:
        if code in (0x9, 0xA, 0xD):
            continue
        for ref in (b"&#%d;" % code, b"&#x%x;" % code, b"&#X%X;" % code, b"&#x00%x;" % code):
            assert parse_module._SUSPECT_CHAR_REF.search(ref), ref
