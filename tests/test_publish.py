"""publish: render_all (Atom, RSS, JSON Feed, OPML, index.html) and write_output.

The feedgen workarounds of shared/STACK-NOTES.md each have a test here that fails without them:
entry links with rel/type/length, summary and content both kept, feed dates from the stories,
RSS channel link, XML-invalid characters.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from feed_validator import validate_feed_files
from lxml import etree

from syndicator.config import SiteConfig
from syndicator.model import Enclosure, Kind, Partner, Story
from syndicator.normalize import xml_safe
from syndicator.publish import (
    EMPTY_FEED_UPDATED,
    PublishError,
    WriteReport,
    render_all,
    write_output,
)

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ATOM_TYPE = "application/atom+xml"

SITE = SiteConfig(
    title="WeGO Partner Digest",
    url="https://feeds.example.org/",
    description="Smart-city news, whitepapers and webinars from WeGO partners.",
    language="en",
    max_items=7,
)
SCW = Partner(
    feed_id="scw-news",
    name="SmartCitiesWorld",
    feed_url="https://www.smartcitiesworld.net/Syndication/DF.cfm?f=7&ft=10",
    site_url="https://www.smartcitiesworld.net/",
    kind="article",
    tags=("news",),
)
WEGO = Partner(
    feed_id="wego-news",
    name="WeGO 세계스마트시티기구",
    feed_url="https://we-gov.org/feed/",
    site_url="https://we-gov.org/",
)
SCW_PAPERS = Partner(
    feed_id="scw-whitepapers",
    name="SmartCitiesWorld Whitepapers",
    feed_url="https://www.smartcitiesworld.net/Syndication/DF.cfm?f=7&ft=20",
    site_url=None,
    kind="whitepaper",
    tags=("research", "reports"),
)
SCW_WEBINARS = Partner(
    feed_id="scw-webinars",
    name="SmartCitiesWorld Webinars",
    feed_url="https://www.smartcitiesworld.net/Syndication/DF.cfm?f=7&ft=30",
    site_url="https://www.smartcitiesworld.net/webinars",
    kind="webinar",
)
PARTNERS = [SCW_WEBINARS, WEGO, SCW_PAPERS, SCW]  # unsorted on purpose

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)  # every webinar here started (or was published) within 7 days
CHINESE_TITLE = "智慧城市：上海的数据平台"
PDF = Enclosure("https://www.smartcitiesworld.net/media/report.pdf", "application/pdf", 2_400_000)


def sid(number: int) -> str:
    return f"tag:feeds.example.org,2024:story/{number:02d}"


def make_story(number: int, kind: Kind, hours: float, **changes: Any) -> Story:
    published = T0 + timedelta(hours=hours)
    fields: dict[str, Any] = {
        "story_id": sid(number),
        "kind": kind,
        "title": f"Story {number}",
        "link": f"https://www.smartcitiesworld.net/news/news/story-{number}",
        "summary": f"<p>Summary of story {number}.</p>",
        "content": "",
        "published": published,
        "updated": published + timedelta(minutes=30),
        "authors": (),
        "categories": (),
        "enclosures": (),
        "thumbnail": None,
        "language": None,
        "source": {"article": SCW, "whitepaper": SCW_PAPERS, "webinar": SCW_WEBINARS}[kind],
    }
    fields.update(changes)
    return Story(**fields)


STORIES = [
    make_story(3, "article", 3, title="Cities & data: why 5 < 10"),
    make_story(1, "article", 5.5, title="스마트 시티 서울 2024", language="ko", source=WEGO),
    make_story(
        20,
        "webinar",
        8,
        title="Webinar: digital twins",
        updated=T0 + timedelta(hours=20),
        thumbnail="https://www.smartcitiesworld.net/media/twins.jpg",
    ),
    make_story(2, "article", 4.5, title=CHINESE_TITLE, language="zh-CN"),
    make_story(
        4,
        "article",
        4,
        title="Vertical \x0bfarming\ufffe in Seoul",
        updated=T0 + timedelta(hours=40),
    ),
    make_story(
        5,
        "article",
        5,
        title="Energy and transport",
        summary="<p>Short summary.</p><p>Second line.</p>",
        content="<p>The whole <b>article</b>.</p>",
        authors=("Jane Doe",),
        categories=("energy", "transport"),
        also_published_by=(WEGO,),
    ),
    make_story(7, "article", 6, title="Tie B", updated=T0 + timedelta(hours=6, minutes=45)),
    make_story(6, "article", 6, title="Tie A"),
    make_story(8, "article", 0, title="Oldest article, over the cap"),
    make_story(10, "whitepaper", 7, title="Smart city report 2024", enclosures=(PDF,)),
    make_story(11, "whitepaper", 1, title="No link, summary only", link=None),
    make_story(21, "webinar", 3, title="Webinar: open data"),
]

# The partner's text, then the credit to the other partner that carried story 5 (issue 5).
ARTICLE_5_CONTENT = (
    "<p>The whole <b>article</b>.</p>"
    '<p class="syndicator-credit">Also published by: WeGO 세계스마트시티기구</p>'
)

EXPECTED_IDS = {
    "all": [sid(20), sid(10), sid(6), sid(7), sid(1), sid(5), sid(2)],
    "articles": [sid(6), sid(7), sid(1), sid(5), sid(2), sid(4), sid(3)],
    "whitepapers": [sid(10), sid(11)],
    "webinars": [sid(20), sid(21)],
}
FEED_NAMES = tuple(EXPECTED_IDS)


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return render_all(SITE, STORIES, PARTNERS, now=NOW)


def xml(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def atom_entry(files: dict[str, bytes], feed: str, story_id: str) -> etree._Element:
    for entry in xml(files[f"{feed}.atom"]).iter(f"{ATOM}entry"):
        if entry.findtext(f"{ATOM}id") == story_id:
            return entry
    raise AssertionError(f"{story_id} not in {feed}.atom")


def rss_item(files: dict[str, bytes], feed: str, story_id: str) -> etree._Element:
    for item in xml(files[f"{feed}.rss"]).iter("item"):
        if item.findtext("guid") == story_id:
            return item
    raise AssertionError(f"{story_id} not in {feed}.rss")


def json_item(files: dict[str, bytes], feed: str, story_id: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = json.loads(files[f"{feed}.json"])["items"]
    return next(item for item in items if item["id"] == story_id)


def parsed_entry(data: bytes, story_id: str) -> Any:
    entries = feedparser.parse(io.BytesIO(data)).entries
    return next(entry for entry in entries if entry.id == story_id)


def attributes(element: etree._Element) -> dict[str, str]:
    return {str(name): str(value) for name, value in element.attrib.items()}


def links(entry: etree._Element) -> list[dict[str, str]]:
    return [attributes(link) for link in entry.findall(f"{ATOM}link")]


# --- xml_safe -------------------------------------------------------------------------------


def test_xml_safe_removes_only_what_xml_forbids() -> None:
    text = "a\x00b\x0bc\x1f\ufffe\uffff\ud800d\t\n\r 스마트 智慧 😀 \x85"
    assert xml_safe(text) == "abcd\t\n\r 스마트 智慧 😀 \x85"


# --- render_all: files, membership, order ----------------------------------------------------


def test_render_all_publishes_the_contract_file_names(files: dict[str, bytes]) -> None:
    feeds = {f"{name}.{ext}" for name in FEED_NAMES for ext in ("atom", "rss", "json")}
    tags = {
        f"tags/{tag}.{ext}"
        for tag in ("news", "research", "reports")
        for ext in ("atom", "rss", "json")
    }
    partners = {f"partners/{p.feed_id}.atom" for p in PARTNERS}
    assert set(files) == feeds | tags | partners | {"webinars.ics", "sources.opml", "index.html"}


@pytest.mark.parametrize("feed", FEED_NAMES)
def test_feed_has_its_kind_newest_first_capped_with_story_ids(
    files: dict[str, bytes], feed: str
) -> None:
    expected = EXPECTED_IDS[feed]
    atom = feedparser.parse(io.BytesIO(files[f"{feed}.atom"]))
    rss = feedparser.parse(io.BytesIO(files[f"{feed}.rss"]))
    assert not atom.bozo and not rss.bozo
    assert [entry.id for entry in atom.entries] == expected
    assert [entry.id for entry in rss.entries] == expected
    assert [item["id"] for item in json.loads(files[f"{feed}.json"])["items"]] == expected
    assert [e.findtext("guid") for e in xml(files[f"{feed}.rss"]).iter("item")] == expected


def test_rss_guid_is_not_a_permalink(files: dict[str, bytes]) -> None:
    guids = list(xml(files["all.rss"]).iter("guid"))
    assert guids
    assert {guid.get("isPermaLink") for guid in guids} == {"false"}


def test_feed_ids_and_self_links(files: dict[str, bytes]) -> None:
    atom = xml(files["articles.atom"])
    assert atom.findtext(f"{ATOM}id") == "https://feeds.example.org/articles.atom"
    assert links(atom) == [
        {"href": "https://feeds.example.org/articles.atom", "rel": "self", "type": ATOM_TYPE},
        {"href": "https://feeds.example.org/", "rel": "alternate", "type": "text/html"},
    ]
    channel = xml(files["articles.rss"]).find("channel")
    assert channel is not None
    # feedgen makes the channel <link> its last feed link: the self link must come first.
    assert channel.findtext("link") == "https://feeds.example.org/"
    self_link = channel.find(f"{ATOM}link")
    assert self_link is not None
    assert self_link.get("href") == "https://feeds.example.org/articles.rss"
    assert self_link.get("rel") == "self"


# --- Atom entries: the feedgen workarounds ---------------------------------------------------


def test_atom_entry_has_one_alternate_link_and_typed_enclosures(files: dict[str, bytes]) -> None:
    paper = atom_entry(files, "whitepapers", sid(10))
    assert links(paper) == [
        {
            "rel": "alternate",
            "type": "text/html",
            "href": "https://www.smartcitiesworld.net/news/news/story-10",
        },
        {"rel": "enclosure", "type": "application/pdf", "href": PDF.url, "length": "2400000"},
    ]
    parsed = parsed_entry(files["whitepapers.atom"], sid(10))
    assert parsed.link == "https://www.smartcitiesworld.net/news/news/story-10"
    assert [(e.href, e.type, e.length) for e in parsed.enclosures] == [
        (PDF.url, "application/pdf", "2400000")
    ]


def test_atom_entry_keeps_both_summary_and_content(files: dict[str, bytes]) -> None:
    entry = atom_entry(files, "articles", sid(5))
    summary = entry.find(f"{ATOM}summary")
    content = entry.find(f"{ATOM}content")
    assert summary is not None and content is not None
    assert (summary.get("type"), summary.text) == (
        "html",
        "<p>Short summary.</p><p>Second line.</p>",
    )
    assert (content.get("type"), content.text) == ("html", ARTICLE_5_CONTENT)


def test_atom_entry_without_link_carries_content(files: dict[str, bytes]) -> None:
    entry = atom_entry(files, "whitepapers", sid(11))
    assert entry.findtext(f"{ATOM}content") == "<p>Summary of story 11.</p>"
    assert entry.find(f"{ATOM}summary") is None
    assert links(entry) == []


def test_atom_entry_credits_its_partner_in_source(files: dict[str, bytes]) -> None:
    source = atom_entry(files, "articles", sid(5)).find(f"{ATOM}source")
    assert source is not None
    assert source.findtext(f"{ATOM}id") == SCW.feed_url
    assert source.findtext(f"{ATOM}title") == "SmartCitiesWorld"
    assert source.findtext(f"{ATOM}updated") == "2024-05-01T13:30:00+00:00"
    assert links(source) == [
        {"rel": "self", "href": SCW.feed_url},
        {"rel": "alternate", "type": "text/html", "href": "https://www.smartcitiesworld.net/"},
    ]
    parsed = parsed_entry(files["articles.atom"], sid(5))
    assert parsed.source.title == "SmartCitiesWorld"


def test_atom_entry_authors_categories_language(files: dict[str, bytes]) -> None:
    entry = atom_entry(files, "articles", sid(5))
    assert [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")] == ["Jane Doe"]
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["energy", "transport"]
    assert entry.get(XML_LANG) is None  # the feed's xml:lang applies
    assert atom_entry(files, "all", sid(1)).get(XML_LANG) == "ko"
    assert atom_entry(files, "all", sid(2)).get(XML_LANG) == "zh-CN"
    root = xml(files["all.atom"])
    assert root.get(XML_LANG) == "en"
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "WeGO Partner Digest"


# --- titles are plain text, invalid characters are gone --------------------------------------


def test_titles_are_plain_text_everywhere(files: dict[str, bytes]) -> None:
    title = "Cities & data: why 5 < 10"
    atom_title = atom_entry(files, "articles", sid(3)).find(f"{ATOM}title")
    assert atom_title is not None
    assert (atom_title.get("type"), atom_title.text) == ("text", title)
    assert rss_item(files, "articles", sid(3)).findtext("title") == title
    assert json_item(files, "articles", sid(3))["title"] == title
    assert parsed_entry(files["articles.atom"], sid(3)).title == title
    assert parsed_entry(files["articles.rss"], sid(3)).title == title
    page = render_all(dataclasses.replace(SITE, max_items=100), STORIES, PARTNERS, now=NOW)[
        "index.html"
    ]
    assert b">Cities &amp; data: why 5 &lt; 10</a>" in page


def test_xml_invalid_characters_are_stripped_from_titles(files: dict[str, bytes]) -> None:
    clean = "Vertical farming in Seoul"
    assert atom_entry(files, "articles", sid(4)).findtext(f"{ATOM}title") == clean
    assert rss_item(files, "articles", sid(4)).findtext("title") == clean
    assert json_item(files, "articles", sid(4))["title"] == clean


@pytest.mark.parametrize(
    ("story_id", "title"), [(sid(1), "스마트 시티 서울 2024"), (sid(2), CHINESE_TITLE)]
)
def test_non_ascii_titles_survive_every_format(
    files: dict[str, bytes], story_id: str, title: str
) -> None:
    assert parsed_entry(files["all.atom"], story_id).title == title
    assert parsed_entry(files["all.rss"], story_id).title == title
    assert json_item(files, "all", story_id)["title"] == title
    assert title in files["index.html"].decode()


# --- RSS items -------------------------------------------------------------------------------


def test_rss_item_credits_source_and_carries_description_and_content(
    files: dict[str, bytes],
) -> None:
    item = rss_item(files, "articles", sid(5))
    source = item.find("source")
    assert source is not None
    assert (source.get("url"), source.text) == (SCW.feed_url, "SmartCitiesWorld")
    assert item.findtext("description") == "<p>Short summary.</p><p>Second line.</p>"
    assert item.findtext(CONTENT_ENCODED) == ARTICLE_5_CONTENT
    assert item.findtext("link") == "https://www.smartcitiesworld.net/news/news/story-5"
    assert [c.text for c in item.findall("category")] == ["energy", "transport"]
    assert [c.text for c in item.findall(DC_CREATOR)] == ["Jane Doe"]
    assert item.findtext("pubDate") == "Wed, 01 May 2024 13:00:00 +0000"


def test_rss_item_has_the_enclosure(files: dict[str, bytes]) -> None:
    enclosures = rss_item(files, "whitepapers", sid(10)).findall("enclosure")
    assert [attributes(e) for e in enclosures] == [
        {"url": PDF.url, "length": "2400000", "type": "application/pdf"}
    ]
    parsed = parsed_entry(files["whitepapers.rss"], sid(10))
    assert [(e.href, e.type, e.length) for e in parsed.enclosures] == [
        (PDF.url, "application/pdf", "2400000")
    ]


# --- JSON Feed -------------------------------------------------------------------------------


def test_json_feed_top_level(files: dict[str, bytes]) -> None:
    feed = json.loads(files["webinars.json"])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "WeGO Partner Digest: Webinars"
    assert feed["home_page_url"] == "https://feeds.example.org/"
    assert feed["feed_url"] == "https://feeds.example.org/webinars.json"
    assert feed["language"] == "en"


def test_json_item_fields_and_credit(files: dict[str, bytes]) -> None:
    item = json_item(files, "articles", sid(5))
    assert item["url"] == "https://www.smartcitiesworld.net/news/news/story-5"
    assert item["content_html"] == ARTICLE_5_CONTENT
    assert item["summary"] == "Short summary. Second line."
    assert item["date_published"] == "2024-05-01T13:00:00+00:00"
    assert item["date_modified"] == "2024-05-01T13:30:00+00:00"
    assert item["authors"] == [{"name": "Jane Doe"}]
    assert item["tags"] == ["energy", "transport"]
    assert item["_syndicator"] == {
        "source": {
            "id": "scw-news",
            "name": "SmartCitiesWorld",
            "feed_url": SCW.feed_url,
            "home_page_url": "https://www.smartcitiesworld.net/",
        },
        "also_published_by": [
            {
                "id": "wego-news",
                "name": "WeGO 세계스마트시티기구",
                "feed_url": "https://we-gov.org/feed/",
                "home_page_url": "https://we-gov.org/",
            }
        ],
    }


def test_json_item_attachments_image_and_partner_as_author(files: dict[str, bytes]) -> None:
    paper = json_item(files, "whitepapers", sid(10))
    assert paper["attachments"] == [
        {"url": PDF.url, "mime_type": "application/pdf", "size_in_bytes": 2_400_000}
    ]
    assert paper["authors"] == [{"name": "SmartCitiesWorld Whitepapers"}]
    webinar = json_item(files, "webinars", sid(20))
    assert webinar["image"] == "https://www.smartcitiesworld.net/media/twins.jpg"
    assert "attachments" not in webinar


# --- dates and determinism -------------------------------------------------------------------


def test_feed_updated_is_the_newest_story_update_in_that_file(files: dict[str, bytes]) -> None:
    # Story 4 (updated +40h) is in articles but over the cap of all: all's newest is story 20.
    expected = {"all": T0 + timedelta(hours=20), "articles": T0 + timedelta(hours=40)}
    for feed, newest in expected.items():
        assert xml(files[f"{feed}.atom"]).findtext(f"{ATOM}updated") == newest.isoformat()
        channel = xml(files[f"{feed}.rss"]).find("channel")
        assert channel is not None
        rfc822 = newest.strftime("%a, %d %b %Y %H:%M:%S +0000")
        assert channel.findtext("lastBuildDate") == rfc822
        assert channel.findtext("pubDate") == rfc822


def test_empty_feeds_have_a_fixed_date() -> None:
    files = render_all(SITE, [], [])
    assert xml(files["all.atom"]).findtext(f"{ATOM}updated") == EMPTY_FEED_UPDATED.isoformat()
    assert json.loads(files["all.json"])["items"] == []
    assert render_all(SITE, [], []) == files


def test_render_all_is_byte_identical_across_runs_and_input_orders(
    files: dict[str, bytes],
) -> None:
    assert render_all(SITE, STORIES, PARTNERS, now=NOW) == files
    assert render_all(SITE, list(reversed(STORIES)), list(reversed(PARTNERS)), now=NOW) == files


# --- OPML and index.html ---------------------------------------------------------------------


def test_opml_lists_the_partners_sorted_by_feed_id(files: dict[str, bytes]) -> None:
    opml = xml(files["sources.opml"])
    assert opml.get("version") == "2.0"
    assert opml.findtext("head/title") == "WeGO Partner Digest: partner feeds"
    outlines = [attributes(o) for o in opml.iter("outline")]
    assert [o["xmlUrl"] for o in outlines] == [
        SCW.feed_url,
        SCW_WEBINARS.feed_url,
        SCW_PAPERS.feed_url,
        WEGO.feed_url,
    ]
    assert outlines[0] == {
        "type": "rss",
        "text": "SmartCitiesWorld",
        "title": "SmartCitiesWorld",
        "xmlUrl": SCW.feed_url,
        "htmlUrl": "https://www.smartcitiesworld.net/",
        "category": "/article,news",
    }
    assert "htmlUrl" not in outlines[2]
    assert outlines[2]["category"] == "/whitepaper,research,reports"


def test_opml_without_partners_still_has_one_outline() -> None:
    outlines = [
        attributes(o) for o in xml(render_all(SITE, [], [])["sources.opml"]).iter("outline")
    ]
    assert outlines == [{"text": "No partner feeds are enabled."}]


def test_index_html_autodiscovers_every_feed_and_lists_latest(files: dict[str, bytes]) -> None:
    page = files["index.html"].decode()
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert '<meta charset="utf-8">' in page
    for name in FEED_NAMES:
        for ext, media_type in (
            ("atom", "application/atom+xml"),
            ("rss", "application/rss+xml"),
            ("json", "application/feed+json"),
        ):
            assert f'<link rel="alternate" type="{media_type}"' in page
            assert f'href="{name}.{ext}">' in page
    assert 'href="sources.opml"' in page
    assert "Energy and transport</a>" in page
    assert "also published by WeGO 세계스마트시티기구" in page
    assert '<time datetime="2024-05-01T13:00:00+00:00">2024-05-01</time>' in page
    assert "Oldest article, over the cap" not in page  # only what the all feed publishes


# --- write_output ----------------------------------------------------------------------------


def test_write_output_writes_then_leaves_unchanged_files_alone(tmp_path: Path) -> None:
    out = tmp_path / "public"
    files = {"all.atom": b"<feed/>", "tags/smart-city.atom": b"<feed>tag</feed>"}
    first = write_output(out, files)
    assert first == WriteReport(written=("all.atom", "tags/smart-city.atom"), unchanged=())
    assert (out / "tags" / "smart-city.atom").read_bytes() == b"<feed>tag</feed>"
    assert (out / "all.atom").stat().st_mode & 0o777 == 0o644
    before = {name: (out / name).stat() for name in files}

    second = write_output(out, files)
    assert second == WriteReport(written=(), unchanged=("all.atom", "tags/smart-city.atom"))
    for name, stat in before.items():
        after = (out / name).stat()
        assert (after.st_mtime_ns, after.st_ino) == (stat.st_mtime_ns, stat.st_ino)

    third = write_output(out, {**files, "all.atom": b"<feed>new</feed>"})
    assert third == WriteReport(written=("all.atom",), unchanged=("tags/smart-city.atom",))
    assert (out / "all.atom").read_bytes() == b"<feed>new</feed>"
    assert sorted(p.name for p in out.rglob("*")) == ["all.atom", "smart-city.atom", "tags"]


def test_write_output_failure_keeps_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_output(tmp_path, {"all.atom": b"old"})

    def disk_full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(PublishError, match=r"all\.atom: No space left on device"):
        write_output(tmp_path, {"all.atom": b"new"})
    assert (tmp_path / "all.atom").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["all.atom"]


def test_disk_full_half_way_keeps_every_old_file_it_did_not_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_output(tmp_path, {"a.atom": b"old a", "b.atom": b"old b", "c.atom": b"old c"})
    real_fsync = os.fsync
    calls: list[int] = []

    def full_after_one_file(fd: int) -> None:
        calls.append(fd)
        if len(calls) > 1:  # the disk fills up while the second file is written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_after_one_file)
    with pytest.raises(PublishError, match=r"b\.atom: No space left on device.*left in place"):
        write_output(tmp_path, {"a.atom": b"new a", "b.atom": b"new b", "c.atom": b"new c"})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        "a.atom": b"new a",  # done before the disk filled up
        "b.atom": b"old b",
        "c.atom": b"old c",
    }


def test_partner_and_story_links_are_only_ever_http() -> None:
    # A partner's site link stored by an older version as the partner wrote it.
    evil = dataclasses.replace(SCW, site_url="javascript:alert(1)")
    story = make_story(
        1,
        "article",
        1,
        source=evil,
        link="javascript:alert(2)",
        thumbnail="data:image/png,x",
        enclosures=(Enclosure("javascript:alert(3)"), PDF),
    )
    for data in render_all(SITE, [story], [evil]).values():
        assert b"javascript:" not in data and b"data:image" not in data
        assert b"alert" not in data


def test_write_output_removes_temp_files_left_by_a_crash(tmp_path: Path) -> None:
    (tmp_path / "tags").mkdir()
    (tmp_path / ".all.atom.tmp-x1y2").write_bytes(b"half a fe")
    (tmp_path / "tags" / ".a.rss.tmp-z3").write_bytes(b"")
    report = write_output(tmp_path, {"all.atom": b"<feed/>"})
    assert report.written == ("all.atom",)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["all.atom", "tags"]


@pytest.mark.parametrize("name", ["../escape.atom", "/etc/passwd", "a/../../b", ""])
def test_write_output_refuses_names_outside_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a relative file name"):
        write_output(tmp_path / "out", {name: b"x"})


# --- the W3C Feed Validator ------------------------------------------------------------------


def test_every_published_atom_rss_and_opml_file_passes_the_w3c_validator(
    tmp_path: Path,
) -> None:
    full = render_all(SITE, STORIES, PARTNERS, now=NOW)
    empty = render_all(dataclasses.replace(SITE, description=None, language=None), [], [])
    paths: list[Path] = []
    for folder, files in (("full", full), ("empty", empty)):
        write_output(tmp_path / folder, files)
        paths += [
            tmp_path / folder / name
            for name in sorted(files)
            if name.endswith((".atom", ".rss", ".opml"))
        ]
    # 4 feeds x 2 + OPML, plus 3 tag feeds x 2 and 4 partner feeds in the full set.
    assert len(paths) == 2 * 9 + 3 * 2 + 4
    validate_feed_files(paths, strict=True)
