"""normalize: canonical URLs, title keys, plain-text titles, safe HTML, dates, identity."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from syndicator.model import Enclosure, ParsedEntry, ParsedFeed
from syndicator.normalize import (
    FeedContext,
    canonical_url,
    normalize_entries,
    normalize_entry,
    plain_text,
    sanitize_html,
    title_key,
    xml_safe,
)

FETCHED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONTEXT = FeedContext("scw-news", "article", "https://www.smartcitiesworld.net/rss/", FETCHED)
FEED = ParsedFeed(format="rss20", title="SCW", link=None, language=None, entries=())


def parsed(**fields: object) -> ParsedEntry:
    base = ParsedEntry(
        guid="g1",
        link="https://example.org/a",
        title="A title",
        title_is_html=False,
        summary="<p>Summary</p>",
        content="",
        published=datetime(2026, 11, 18, 8, 0, tzinfo=UTC),
        updated=None,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.ORG:80/News/a/", "https://example.org/News/a"),
        ("https://example.org:443/a#frag", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org/a?utm_source=x&utm_medium=rss&id=12", "https://example.org/a?id=12"),
        ("https://example.org/a?fbclid=1&gclid=2&mc_cid=3&ref=home", "https://example.org/a"),
        ("https://example.org/a?b=2&a=1", "https://example.org/a?a=1&b=2"),
        ("https://example.org/a?id=12", "https://example.org/a?id=12"),
        ("https://example.org//a//b", "https://example.org/a/b"),
        ("ftp://example.org/a", None),
        ("/relative/path", None),
        ("", None),
        (None, None),
        ("http://[::1", None),
    ],
)
def test_canonical_url(url: str | None, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_keeps_content_selecting_query_apart() -> None:
    assert canonical_url("https://x.org/p?id=12") != canonical_url("https://x.org/p?id=13")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("WeGO And SmartCitiesWorld Sign", "wego and smartcitiesworld sign"),
        ("“Smart” cities—today’s news", '"smart" cities - today\'s news'),
        ("Ｆｕｌｌ width", "full width"),
        ("스마트 시티 포럼!", "스마트 시티 포럼"),
        ("智慧城市：新闻", "智慧城市 新闻"),
        ("  spaced\n\tout  ", "spaced out"),
    ],
)
def test_title_key_folds_case_punctuation_quotes_and_space(a: str, b: str) -> None:
    assert title_key(a) == title_key(b)


def test_title_key_keeps_episode_numbers_apart() -> None:
    assert title_key("Smart Mobility Webinar #3") != title_key("Smart Mobility Webinar #4")


def test_xml_safe_strips_forbidden_characters() -> None:
    assert xml_safe("a\x00b\x0bc\ufffed\ud800e\tf\ng") == "abcde\tf\ng"


def test_plain_text_drops_tags_and_script_content() -> None:
    assert plain_text("<b>Bold</b> &amp; <script>alert(1)</script>safe") == "Bold & safe"


def test_sanitize_html_removes_unsafe_and_resolves_relative_urls() -> None:
    html = (
        '<p onclick="x()">Hi <a href="../b?x=1&amp;y=2">rel</a>'
        '<a href="javascript:alert(1)">js</a><a href="&#106;avascript:alert(1)">js2</a>'
        '<img src="i.png"><img src="data:image/svg+xml;base64,AAAA">'
        "<script>bad()</script><form><input></form></p>"
    )
    clean = sanitize_html(html, "https://ex.org/a/feed/")
    assert "onclick" not in clean and "script" not in clean and "javascript" not in clean
    assert "data:" not in clean and "<form" not in clean and "<input" not in clean
    assert 'href="https://ex.org/a/b?x=1&amp;y=2"' in clean
    assert 'src="https://ex.org/a/feed/i.png"' in clean


def test_html_title_becomes_plain_text() -> None:
    entry = normalize_entry(
        parsed(title="<b>Big</b> news &amp; more<script>x()</script>", title_is_html=True),
        CONTEXT,
        FEED,
    )
    assert entry.title == "Big news & more"


def test_text_title_with_literal_markup_is_stripped() -> None:
    entry = normalize_entry(parsed(title="<script>alert(1)</script>Hello <i>x</i>"), CONTEXT, FEED)
    assert entry.title == "Hello x"


def test_text_title_keeps_angle_brackets_that_are_not_markup() -> None:
    assert normalize_entry(parsed(title="5 < 6 & 7 > 3"), CONTEXT, FEED).title == "5 < 6 & 7 > 3"


def test_identity_is_raw_guid_else_link_else_hash() -> None:
    assert normalize_entry(parsed(guid=" 12345 "), CONTEXT, FEED).entry_key == "12345"
    no_guid = normalize_entry(parsed(guid=None, link="/x"), CONTEXT, FEED)
    assert no_guid.entry_key == "https://www.smartcitiesworld.net/x"
    neither = normalize_entry(parsed(guid=None, link=None), CONTEXT, FEED)
    assert neither.entry_key.startswith("sha256:")
    assert neither.entry_key == normalize_entry(parsed(guid="", link=""), CONTEXT, FEED).entry_key


def test_dates_are_utc_missing_is_first_seen_future_is_clamped() -> None:
    seoul = timezone(timedelta(hours=9))
    entry = normalize_entry(
        parsed(published=datetime(2026, 11, 18, 17, 0, tzinfo=seoul)), CONTEXT, FEED
    )
    assert entry.published == datetime(2026, 11, 18, 8, 0, tzinfo=UTC)
    assert not entry.published_is_guess
    missing = normalize_entry(parsed(published=None, updated=None), CONTEXT, FEED)
    assert missing.published == FETCHED and missing.published_is_guess
    future = normalize_entry(parsed(published=FETCHED + timedelta(days=300)), CONTEXT, FEED)
    assert future.published == FETCHED and future.published_is_guess
    naive = normalize_entry(parsed(published=datetime(2026, 1, 1, 10, 0)), CONTEXT, FEED)
    assert naive.published == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def test_updated_is_never_before_published() -> None:
    entry = normalize_entry(
        parsed(updated=datetime(2020, 1, 1, tzinfo=UTC)),
        CONTEXT,
        FEED,
    )
    assert entry.updated == entry.published


def test_enclosures_absolute_deduped_and_only_http() -> None:
    entry = normalize_entry(
        parsed(
            link="https://www.smartcitiesworld.net/news/a",
            enclosures=(
                Enclosure("/files/report.pdf", "application/pdf", 1234),
                Enclosure("https://www.smartcitiesworld.net/files/report.pdf", "application/pdf"),
                Enclosure("javascript:alert(1)", "text/html"),
                Enclosure("https://x.org/a.mp3", "", -5),
            ),
        ),
        CONTEXT,
        FEED,
    )
    assert entry.enclosures == (
        Enclosure("https://www.smartcitiesworld.net/files/report.pdf", "application/pdf", 1234),
        Enclosure("https://x.org/a.mp3", "application/octet-stream", None),
    )


def test_content_equal_to_summary_is_not_kept_twice() -> None:
    entry = normalize_entry(parsed(summary="<p>x</p>", content="<p>x</p>"), CONTEXT, FEED)
    assert entry.summary == "<p>x</p>" and entry.content == ""


def test_content_hash_changes_with_what_members_see_only() -> None:
    one = normalize_entry(parsed(), CONTEXT, FEED)
    later = normalize_entry(
        parsed(), replace(CONTEXT, fetched_at=FETCHED + timedelta(hours=1)), FEED
    )
    assert one.content_hash == later.content_hash
    assert normalize_entry(parsed(title="New"), CONTEXT, FEED).content_hash != one.content_hash


def test_normalize_entries_skips_empty_and_repeated_keys() -> None:
    feed = ParsedFeed(
        format="rss20",
        title="t",
        link=None,
        language="ko",
        entries=(
            parsed(guid="a", title="First"),
            parsed(guid="a", title="Second copy with the same guid"),
            parsed(guid=None, link=None, title="", summary="", content=""),
            parsed(guid="b", title="Third"),
        ),
    )
    entries = normalize_entries(feed, CONTEXT)
    assert [(e.entry_key, e.title) for e in entries] == [("a", "First"), ("b", "Third")]
    assert entries[0].language == "ko"


def test_relative_urls_resolve_against_site_then_entry_page_and_xml_base_wins() -> None:
    feed = replace(FEED, link="https://www.smartcitiesworld.net/news/")
    feed_url = FeedContext("scw-news", "article", "http://127.0.0.1:9/DF.cfm?f=7", FETCHED)
    entry = normalize_entry(
        parsed(link="item-1", content='<a href="more">m</a><img src="/i.png">'), feed_url, feed
    )
    assert entry.link == "https://www.smartcitiesworld.net/news/item-1"
    assert 'href="https://www.smartcitiesworld.net/news/more"' in entry.content
    assert 'src="https://www.smartcitiesworld.net/i.png"' in entry.content
    based = normalize_entry(
        parsed(link="a", content='<a href="b">b</a>', base="https://cdn.x.org/p/"), feed_url, feed
    )
    assert based.link == "https://cdn.x.org/p/a"
    assert 'href="https://cdn.x.org/p/b"' in based.content
    no_site = normalize_entry(parsed(link="/a"), feed_url, FEED)
    assert no_site.link == "http://127.0.0.1:9/a"
