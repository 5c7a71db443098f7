"""Property tests (Hypothesis): whatever a partner sends, parse -> normalize -> publish holds.

For arbitrary bytes, arbitrary feed documents built from hostile field values, and arbitrary
``ParsedEntry`` values:

- no exception escapes but ``ParseError`` (a body that is not a usable feed);
- every published file is complete and well-formed (Atom, RSS, OPML parse with lxml; JSON
  and index.html parse) and carries no live script: no ``<script>`` element, no ``on*=``
  attribute, no ``javascript:``/``data:`` URL, in the files or in the HTML inside them
  (tests/published_checks.py).

200 examples per test (``FUZZ_EXAMPLES`` overrides it, e.g. for a long run);
with ``CI=true`` the examples are derandomized so a CI failure reproduces.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fuzzing import fuzz_settings
from hypothesis import example, given
from hypothesis import strategies as st
from published_checks import check_published_file

from syndicator.config import DEFAULT_IFRAME_HOSTS, SiteConfig
from syndicator.dedupe import StoryIndex, assign_stories, build_story
from syndicator.model import Enclosure, ParsedEntry, ParsedFeed, Partner, StoredEntry
from syndicator.normalize import FeedContext, normalize_entries
from syndicator.parse import ParseError, parse_feed
from syndicator.publish import render_all

FUZZ = fuzz_settings(200, slow_examples=True)
FETCHED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
URL = "https://partner.example.org/feed.xml"
SITE = SiteConfig(title="Fuzz Digest", url="https://feeds.example.org/", max_items=50)
CONTEXT = FeedContext("fuzz", "article", URL, FETCHED, frozenset(DEFAULT_IFRAME_HOSTS))
SAMPLES = sorted((Path(__file__).parent / "data" / "feeds").iterdir())

# Pieces hostile partners send; text strategies mix them with arbitrary characters.
SNIPPETS = [
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    "<img src=x onerror=alert(1)>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<iframe src="https://www.youtube.com/embed/x" width="5">',
    '<iframe src="https://evil.example/">',
    "</iframe>",
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
    "<form><input name=p></form>",
    "<math><mi xlink:href='javascript:alert(1)'>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'>",
    "<style>*{x:expression(alert(1))}</style>",
    "<base href='javascript:alert(1)//'>",
    "<p onclick=alert(1)>",
    "<div>",
    "</div>",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "&",
    "&amp;",
    "&#xD800;",
    "&#0;",
    "&#x110000;",
    "<",
    ">",
    '"',
    "'",
    "\x00",
    "\x0b",
    "\x1f",
    "\ufffe",
    "\uffff",
    "\ud800",
    "\U0001f600",
    "서울",
    "javascript:alert(1)",
    "https://example.org/a?b=1&c=2",
    "/relative/path",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=12)), max_size=10
).map("".join)
urls = st.one_of(
    st.none(),
    st.sampled_from(
        [
            *("https://example.org/a", "http://example.org/b#x", "/c", "javascript:alert(1)"),
            *("", "data:text/html,x", "mailto:a@b.org", "https://[::1", "ftp://x.org/f"),
            "//e.org/p",
        ]
    ),
    hostile_text,
)
dates = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))]
        ),
    ),
)


def publish(feed: ParsedFeed) -> dict[str, bytes]:
    """normalize -> dedupe -> render_all, as a pass does for one feed; then check every file."""
    entries = normalize_entries(feed, CONTEXT)
    assignments = assign_stories(
        entries, StoryIndex(), {}, authority="feeds.example.org", fetched_at=FETCHED
    )
    partner = Partner("fuzz", feed.title or "fuzz", URL, feed.link)
    credit = {"fuzz": partner}
    stories = [
        build_story(
            a.story_id, [StoredEntry(a.entry, a.story_id, FETCHED, FETCHED, True)], credit, {}
        )
        for a in assignments
    ]
    files = render_all(SITE, stories, [partner])
    for name, data in files.items():
        check_published_file(name, data)
    return files


def parse_and_publish(body: bytes, content_type: str | None) -> None:
    try:
        feed = parse_feed(body, content_type=content_type, url=URL, max_entries=50)
    except ParseError:
        return
    publish(feed)


content_types = st.sampled_from(
    [
        *(None, "application/rss+xml", "application/atom+xml", "application/feed+json"),
        *("text/html", "text/xml; charset=iso-8859-1", "application/xml; charset=utf-16"),
        "application/json",
    ]
)


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    """A sample feed from tests/data/feeds/ with bytes inserted, deleted or cut off."""
    data = bytearray(draw(st.sampled_from(SAMPLES)).read_bytes())
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "truncate"]))
        if action == "insert":
            snippet = draw(st.one_of(st.binary(max_size=8), st.sampled_from(SNIPPETS)))
            piece = (
                snippet if isinstance(snippet, bytes) else snippet.encode("utf-8", "surrogatepass")
            )
            data[position:position] = piece
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 16))]
        else:
            del data[position:]
    return bytes(data)


@FUZZ
@given(body=st.one_of(st.binary(max_size=512), mutated_samples()), content_type=content_types)
@example(body=b"", content_type=None)
@example(body=b"\xef\xbb\xbf{", content_type="application/json")
@example(body=b"<rss><channel><item><title>&#xD800;</title></item>", content_type=None)
def test_arbitrary_bytes(body: bytes, content_type: str | None) -> None:
    parse_and_publish(body, content_type)


@st.composite
def feed_documents(draw: st.DrawFn) -> tuple[bytes, str]:
    """An RSS, Atom or JSON Feed document whose fields hold hostile text, escaped or raw."""
    kind = draw(st.sampled_from(["rss", "atom", "json"]))
    raw = draw(st.booleans())  # insert text unescaped: broken markup on purpose

    def text() -> str:
        value = draw(hostile_text)
        return value if raw else html.escape(value, quote=True)

    items: list[Any] = []  # JSON objects or XML strings
    for _ in range(draw(st.integers(0, 4))):
        fields = {name: text() for name in ("title", "guid", "link", "summary", "content", "date")}
        if kind == "json":
            items.append(
                {
                    "id": draw(hostile_text),
                    "url": draw(hostile_text),
                    "title": draw(hostile_text),
                    "content_html": draw(hostile_text),
                    "summary": draw(hostile_text),
                    "date_published": draw(hostile_text),
                    "image": draw(hostile_text),
                    "attachments": [{"url": draw(hostile_text), "mime_type": draw(hostile_text)}],
                }
            )
        elif kind == "rss":
            items.append(
                f"<item><title>{fields['title']}</title><guid>{fields['guid']}</guid>"
                f"<link>{fields['link']}</link><description>{fields['summary']}</description>"
                f"<content:encoded><![CDATA[{draw(hostile_text)}]]></content:encoded>"
                f"<pubDate>{fields['date']}</pubDate>"
                f'<enclosure url="{fields["link"]}" type="{fields["guid"]}" '
                f'length="{fields["date"]}"/>'
                "</item>"
            )
        else:
            items.append(
                f"<entry><id>{fields['guid']}</id><title type='html'>{fields['title']}</title>"
                f"<link href='{fields['link']}'/><summary type='html'>{fields['summary']}</summary>"
                f"<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>"
                f"{fields['content']}</div></content><updated>{fields['date']}</updated></entry>"
            )
    feed_title, feed_link = text(), text()
    if kind == "json":
        document = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": draw(hostile_text),
            "home_page_url": draw(hostile_text),
            "items": items,
        }
        return json.dumps(document).encode("utf-8", "surrogatepass"), "application/feed+json"
    if kind == "rss":
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>{feed_title}</title><link>{feed_link}</link>{''.join(items)}</channel></rss>"
        )
        return body.encode("utf-8", "surrogatepass"), "application/rss+xml"
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{feed_title}</title><link href='{feed_link}'/>{''.join(items)}</feed>"
    )
    return body.encode("utf-8", "surrogatepass"), "application/atom+xml"


@FUZZ
@given(document=feed_documents())
def test_arbitrary_feed_documents(document: tuple[bytes, str]) -> None:
    body, content_type = document
    parse_and_publish(body, content_type)


parsed_entries = st.builds(
    ParsedEntry,
    guid=st.one_of(st.none(), hostile_text),
    link=urls,
    title=hostile_text,
    title_is_html=st.booleans(),
    summary=hostile_text,
    content=hostile_text,
    published=dates,
    updated=dates,
    authors=st.lists(hostile_text, max_size=3).map(tuple),
    categories=st.lists(hostile_text, max_size=3).map(tuple),
    enclosures=st.lists(
        st.builds(
            Enclosure,
            url=hostile_text | urls.filter(bool),
            type=hostile_text,
            length=st.none() | st.integers(-5, 2**63),
        ),
        max_size=2,
    ).map(tuple),
    thumbnail=urls,
    language=st.one_of(st.none(), hostile_text, st.sampled_from(["en", "ko", "zh-CN"])),
    base=st.one_of(st.none(), st.sampled_from(["https://cdn.example.org/p/", "javascript:x/"])),
)


@FUZZ
@given(
    entries=st.lists(parsed_entries, max_size=6),
    title=hostile_text,
    link=urls,
    language=st.one_of(st.none(), hostile_text),
)
def test_arbitrary_entry_fields(
    entries: list[ParsedEntry], title: str, link: str | None, language: str | None
) -> None:
    feed = ParsedFeed(
        format="rss20", title=title, link=link, language=language, entries=tuple(entries)
    )
    publish(feed)
