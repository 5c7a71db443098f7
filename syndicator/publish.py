"""Stories -> published feeds (Atom, RSS, JSON Feed), sources.opml and index.html -> disk.

    render_all(site, stories, partners)    # pure: file name -> bytes
      | write_output(output_dir, files)    # temp file, fsync, os.replace; skips unchanged files

``render_all`` is byte-for-byte deterministic: every date in the output comes from the stories
(a feed's ``updated`` is its newest story's), never from the clock, so an unchanged store
publishes unchanged files and ``write_output`` leaves them alone.

feedgen 1.0.0 workarounds (shared/STACK-NOTES.md), each covered by tests/test_publish.py:
- Atom entry links lose rel/type/length and ``<source>`` is a bare title + link:
  ``_AtomEntryFixup`` rewrites both on feedgen's lxml ``<entry>``.
- ``fe.description()`` after ``fe.content()`` replaces the Atom content: only
  ``fe.summary()`` then ``fe.content()`` are used (``_add_entry``).
- ``updated`` defaults to now: always set from the stories (``EMPTY_FEED_UPDATED`` when none).
- RSS channel ``<link>`` is feedgen's last feed link: the self link is added before the alternate.
- XML-invalid characters make feedgen raise: every text goes through ``xml_safe`` first.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import lxml.html
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from syndicator.config import SiteConfig
from syndicator.model import Enclosure, Kind, Partner, Story
from syndicator.normalize import xml_safe

GENERATOR = "syndicator"
# The feed-level date of a feed without stories: a constant, so an empty feed's bytes never
# change. Not 1970: the W3C validator calls dates before 1990 implausible.
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)
INDEX_LATEST = 20  # stories listed on index.html
UNTITLED = "(untitled)"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
JSON_TYPE = "application/feed+json"
OPML_NAME = "sources.opml"
NO_PARTNERS = "No partner feeds are enabled."  # the one outline of an OPML file without partners

# Everything XML 1.0 forbids: C0 controls but \t \n \r, lone surrogates, U+FFFE and U+FFFF.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ATOM_NS = "http://www.w3.org/2005/Atom"
# Block elements end a run of words when HTML becomes plain text ("<p>a</p><p>b</p>" -> "a b").
_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "td", "blockquote", "pre", "h1", "h2", "h3", "h4")
_TEMP_INFIX = ".tmp-"  # temp files are ".{name}.tmp-XXXX" beside their target


class PublishError(Exception):
    """The output folder could not be written; the message names the file and the OS error."""


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: tuple[str, ...]  # file names whose bytes changed (or were new), sorted
    unchanged: tuple[str, ...]  # file names left untouched because their bytes were equal


@dataclass(frozen=True, slots=True)
class _FeedSpec:
    """One published feed: written as {name}.atom, {name}.rss and {name}.json."""

    name: str
    kind: Kind | None  # None: every kind
    label: str
    blurb: str  # what it is, for people (index.html; subtitle when the site has no description)

    def title(self, site: SiteConfig) -> str:
        return site.title if self.kind is None else f"{site.title}: {self.label}"


_FEEDS = (
    _FeedSpec("all", None, "All stories", "Every story from every partner, newest first."),
    _FeedSpec("articles", "article", "Articles", "News, opinion and analysis articles."),
    _FeedSpec("whitepapers", "whitepaper", "Whitepapers", "Research reports and whitepapers."),
    _FeedSpec("webinars", "webinar", "Webinars", "Webinars to attend or to watch again."),
)

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("syndicator", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    auto_reload=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_all(
    site: SiteConfig, stories: Sequence[Story], partners: Sequence[Partner]
) -> dict[str, bytes]:
    """Every published file, name -> bytes; the same input always gives the same bytes.

    Each feed holds the stories of its kind (every kind for ``all.*``), newest ``published``
    first (ties by ``story_id``), at most ``site.max_items``. ``partners`` go to sources.opml.
    """
    site = _safe_site(site)
    clean_stories = [_safe_story(story) for story in stories]
    clean_partners = sorted((_safe_partner(p) for p in partners), key=lambda p: p.feed_id)
    files: dict[str, bytes] = {}
    latest: list[Story] = []
    for spec in _FEEDS:
        chosen = _select(clean_stories, spec.kind, site.max_items)
        files[f"{spec.name}.atom"] = _render_atom(site, spec, chosen)
        files[f"{spec.name}.rss"] = _render_rss(site, spec, chosen)
        files[f"{spec.name}.json"] = _render_json(site, spec, chosen)
        if spec.kind is None:
            latest = chosen[:INDEX_LATEST]
    files[OPML_NAME] = _render_opml(site, clean_partners)
    files["index.html"] = _render_index(site, latest, clean_partners)
    return files


# --- cleaning: one pass over the input, so every renderer gets XML-safe UTC data ------------


def _safe_site(site: SiteConfig) -> SiteConfig:
    return dataclasses.replace(
        site,
        title=xml_safe(site.title),
        description=xml_safe(site.description) if site.description else None,
        language=_language(site.language),
    )


def _safe_partner(partner: Partner) -> Partner:
    return dataclasses.replace(
        partner,
        name=xml_safe(partner.name),
        feed_url=xml_safe(partner.feed_url),
        site_url=_http_url(partner.site_url),
        tags=tuple(xml_safe(tag) for tag in partner.tags),
    )


def _safe_story(story: Story) -> Story:
    """The story with XML-safe texts and UTC dates; ``story_id`` is never altered."""
    return dataclasses.replace(
        story,
        title=xml_safe(story.title).strip() or UNTITLED,
        link=_http_url(story.link),
        summary=xml_safe(story.summary),
        content=xml_safe(story.content),
        published=_utc(story.published),
        updated=_utc(story.updated),
        authors=tuple(a for a in (xml_safe(a).strip() for a in story.authors) if a),
        categories=tuple(c for c in (xml_safe(c).strip() for c in story.categories) if c),
        enclosures=tuple(_safe_enclosure(e) for e in story.enclosures if _http_url(e.url)),
        thumbnail=_http_url(story.thumbnail),
        language=_language(story.language),
        source=_safe_partner(story.source),
        also_published_by=tuple(_safe_partner(p) for p in story.also_published_by),
    )


def _safe_enclosure(enclosure: Enclosure) -> Enclosure:
    return Enclosure(xml_safe(enclosure.url), xml_safe(enclosure.type), enclosure.length)


def _http_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL, else None: a link is never ``javascript:``.

    normalize already guarantees it for entries; this also covers what an older version
    stored (a partner's site link was stored as the partner wrote it).
    """
    if not url:
        return None
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    return xml_safe(url) if scheme in ("http", "https") else None


def _language(tag: str | None) -> str | None:
    """A language tag fit for xml:lang and RSS <language>, else None (validators reject junk)."""
    return tag if tag and _LANGUAGE_TAG.fullmatch(tag) else None


def _utc(moment: datetime) -> datetime:
    """Aware UTC, whole seconds (naive datetimes are taken as UTC)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0)


def _select(stories: Sequence[Story], kind: Kind | None, limit: int) -> list[Story]:
    chosen = [s for s in stories if kind is None or s.kind == kind]
    chosen.sort(key=lambda s: s.story_id)
    chosen.sort(key=lambda s: s.published, reverse=True)  # stable: ties stay in story_id order
    return chosen[:limit]


def _newest_update(stories: Sequence[Story]) -> datetime:
    return max((s.updated for s in stories), default=EMPTY_FEED_UPDATED)


# --- Atom and RSS (feedgen) -------------------------------------------------------------------


def _render_atom(site: SiteConfig, spec: _FeedSpec, stories: Sequence[Story]) -> bytes:
    feed = _feed_generator(site, spec, stories, f"{spec.name}.atom", ATOM_TYPE)
    return bytes(feed.atom_str(pretty=True))


def _render_rss(site: SiteConfig, spec: _FeedSpec, stories: Sequence[Story]) -> bytes:
    feed = _feed_generator(site, spec, stories, f"{spec.name}.rss", RSS_TYPE)
    return bytes(feed.rss_str(pretty=True))


def _feed_generator(
    site: SiteConfig, spec: _FeedSpec, stories: Sequence[Story], file_name: str, media_type: str
) -> Any:
    feed = FeedGenerator()
    feed.id(site.url + file_name)
    feed.title(spec.title(site))
    feed.author(name=site.title)  # so entries without authors are valid Atom
    # RSS <channel><link> is feedgen's last link: self first, then the page for people.
    feed.link(href=site.url + file_name, rel="self", type=media_type)
    if site.websub_hub:  # WebSub: Atom gets the link from feedgen, RSS from _RssHubLink
        feed.link(href=site.websub_hub, rel="hub")
        hub_link = partial(_RssHubLink, site.websub_hub)
        feed.register_extension("websub", hub_link, atom=False, rss=True)
    feed.link(href=site.url, rel="alternate", type="text/html")
    feed.subtitle(site.description or spec.blurb)
    if site.language:
        feed.language(site.language)
    feed.generator(GENERATOR)
    newest = _newest_update(stories)
    feed.updated(newest)  # also RSS lastBuildDate; feedgen's default is now
    feed.pubDate(newest)
    feed.load_extension("dc", atom=False, rss=True)  # RSS authors as dc:creator
    for story in stories:
        _add_entry(feed, story)
    return feed


def _add_entry(feed: Any, story: Story) -> None:
    entry = feed.add_entry(order="append")
    entry.id(story.story_id)  # also the RSS guid, isPermaLink="false"
    entry.title(story.title)
    entry.published(story.published)
    entry.updated(story.updated)
    summary, content = _summary_and_content(story)
    # Never fe.description(): after fe.content() it replaces the Atom content (STACK-NOTES).
    if summary:
        entry.summary(summary, type="html")  # RSS <description>
    if content is not None:
        entry.content(content, type="html")  # RSS <content:encoded>, or <description> alone
    # These links feed RSS <link> and <enclosure>; _AtomEntryFixup writes the Atom ones.
    if story.link:
        entry.link(href=story.link, rel="alternate", type="text/html")
    if story.enclosures:  # RSS 2.0 allows one enclosure per item: the first
        first = story.enclosures[0]
        entry.link(href=first.url, rel="enclosure", type=first.type, length=str(first.length or 0))
    for name in story.authors:
        entry.author(name=name)
        entry.dc.dc_creator(name)
    for term in story.categories:
        entry.category(term=term)
    entry.source(url=story.source.feed_url, title=story.source.name)  # RSS <source url>
    entry.register_extension("syndicator", partial(_AtomEntryFixup, story), atom=True, rss=False)


def _summary_and_content(story: Story) -> tuple[str, str | None]:
    """(summary, content) to publish; content None when it would only repeat the summary."""
    content = story.content if story.content and story.content != story.summary else None
    if content is None and not story.link:
        # RFC 4287 4.1.1.1: an Atom entry without an alternate link must have <content>.
        return "", story.summary
    return story.summary, content


class _AtomEntryFixup(BaseEntryExtension):  # type: ignore[misc]  # feedgen is untyped
    """Writes the parts of an Atom ``<entry>`` that feedgen 1.0.0 gets wrong or lacks.

    feedgen writes every entry link as a bare ``<link href>`` (lkiesow/python-feedgen#135),
    so enclosures become extra alternate links, and its ``<source>`` has only a title and a
    bare link. Both are replaced here from the story; the title is marked as plain text.
    """

    def __init__(self, story: Story) -> None:
        self._story = story

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        for stale in [*entry.findall("link"), *entry.findall("source")]:
            entry.remove(stale)
        title = entry.find("title")
        if title is not None:
            title.set("type", "text")
        for attributes in _atom_links(self._story):
            etree.SubElement(entry, "link", attributes)
        entry.append(_atom_source(self._story))
        if self._story.language:
            entry.set(_XML_LANG, self._story.language)
        return entry


class _RssHubLink(BaseExtension):  # type: ignore[misc]  # feedgen is untyped
    """``<atom:link rel="hub">`` after the self link: feedgen writes only the self link in RSS."""

    def __init__(self, hub: str) -> None:
        self._hub = hub

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        self_link = rss.find(f"channel/{{{_ATOM_NS}}}link")
        if self_link is not None:
            self_link.addnext(etree.Element(f"{{{_ATOM_NS}}}link", rel="hub", href=self._hub))
        return rss


def _atom_links(story: Story) -> list[dict[str, str]]:
    links = []
    if story.link:
        links.append({"rel": "alternate", "type": "text/html", "href": story.link})
    for enclosure in story.enclosures:
        link = {"rel": "enclosure", "type": enclosure.type, "href": enclosure.url}
        if enclosure.length is not None:
            link["length"] = str(enclosure.length)
        links.append(link)
    return links


def _atom_source(story: Story) -> etree._Element:
    """Atom ``<source>`` crediting the partner whose copy is shown (RFC 4287 4.2.11)."""
    partner = story.source
    source = etree.Element("source")
    etree.SubElement(source, "id").text = partner.feed_url
    etree.SubElement(source, "title", type="text").text = partner.name
    etree.SubElement(source, "link", rel="self", href=partner.feed_url)
    if partner.site_url:
        etree.SubElement(source, "link", rel="alternate", type="text/html", href=partner.site_url)
    etree.SubElement(source, "updated").text = story.updated.isoformat()
    return source


# --- JSON Feed 1.1 ----------------------------------------------------------------------------


def _render_json(site: SiteConfig, spec: _FeedSpec, stories: Sequence[Story]) -> bytes:
    feed: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": spec.title(site),
        "home_page_url": site.url,
        "feed_url": f"{site.url}{spec.name}.json",
        "description": site.description or spec.blurb,
        "authors": [{"name": site.title}],
    }
    if site.language:
        feed["language"] = site.language
    if site.websub_hub:
        feed["hubs"] = [{"type": "WebSub", "url": site.websub_hub}]
    feed["items"] = [_json_item(story) for story in stories]
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode()


def _json_item(story: Story) -> dict[str, object]:
    item: dict[str, object] = {"id": story.story_id}
    if story.link:
        item["url"] = story.link
    item["title"] = story.title
    item["content_html"] = story.content or story.summary
    summary = _plain_text(story.summary)
    if summary:
        item["summary"] = summary
    if story.thumbnail:
        item["image"] = story.thumbnail
    item["date_published"] = story.published.isoformat()
    item["date_modified"] = story.updated.isoformat()
    item["authors"] = [{"name": name} for name in story.authors or (story.source.name,)]
    if story.categories:
        item["tags"] = list(story.categories)
    if story.language:
        item["language"] = story.language
    if story.enclosures:
        item["attachments"] = [_json_attachment(e) for e in story.enclosures]
    item["_syndicator"] = {
        "source": _json_partner(story.source),
        "also_published_by": [_json_partner(p) for p in story.also_published_by],
    }
    return item


def _json_attachment(enclosure: Enclosure) -> dict[str, object]:
    attachment: dict[str, object] = {"url": enclosure.url, "mime_type": enclosure.type}
    if enclosure.length is not None:
        attachment["size_in_bytes"] = enclosure.length
    return attachment


def _json_partner(partner: Partner) -> dict[str, str]:
    credit = {"id": partner.feed_id, "name": partner.name, "feed_url": partner.feed_url}
    if partner.site_url:
        credit["home_page_url"] = partner.site_url
    return credit


def _plain_text(html: str) -> str:
    """The words of an HTML fragment, whitespace collapsed (JSON Feed ``summary`` is text)."""
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in root.iter(*_BLOCK_TAGS):
        element.tail = " " + (element.tail or "")
    return " ".join(root.text_content().split())


# --- sources.opml and index.html --------------------------------------------------------------


def _render_opml(site: SiteConfig, partners: Sequence[Partner]) -> bytes:
    """OPML 2.0 subscription list; category is "/kind" plus the partner's tags."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = f"{site.title}: partner feeds"
    body = etree.SubElement(opml, "body")
    if not partners:  # OPML 2.0 requires at least one outline in <body>
        etree.SubElement(body, "outline", text=NO_PARTNERS)
    for partner in partners:
        outline = {"type": "rss", "text": partner.name, "title": partner.name}
        outline["xmlUrl"] = partner.feed_url
        if partner.site_url:
            outline["htmlUrl"] = partner.site_url
        outline["category"] = ",".join([f"/{partner.kind}", *partner.tags])
        etree.SubElement(body, "outline", outline)
    return etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def _render_index(site: SiteConfig, latest: Sequence[Story], partners: Sequence[Partner]) -> bytes:
    page = _TEMPLATES.get_template("index.html").render(
        site=site,
        lang=site.language or "en",
        feeds=_FEEDS,
        types={"atom": ATOM_TYPE, "rss": RSS_TYPE, "json": JSON_TYPE},
        opml=OPML_NAME,
        latest=latest,
        partners=partners,
    )
    return page.encode()


# --- writing ----------------------------------------------------------------------------------


def write_output(output_dir: Path, files: Mapping[str, bytes]) -> WriteReport:
    """Write ``files`` (name -> bytes) into ``output_dir``, each atomically.

    A file whose bytes are already on disk is not rewritten (its mtime stays). Each other file
    goes to a temp file in the same folder, is fsynced, then ``os.replace``d over the old one,
    so a reader or a crash sees the old or the new file, never a partial one. Temp files left
    by an earlier crash are removed first. Raises PublishError on any OSError; the file being
    written then keeps its old content (files written before it stay written).
    """
    targets = {name: _target(output_dir, name) for name in sorted(files)}
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        _remove_leftover_temp_files(output_dir)
    except OSError as exc:
        raise PublishError(f"Cannot use the output folder {output_dir}: {_reason(exc)}.") from exc
    written: list[str] = []
    unchanged: list[str] = []
    for name, target in targets.items():
        if _has_bytes(target, files[name]):
            unchanged.append(name)
        else:
            _replace_file(target, files[name])
            written.append(name)
    return WriteReport(written=tuple(written), unchanged=tuple(unchanged))


def _target(output_dir: Path, name: str) -> Path:
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or any(part in {".", ".."} for part in parts):
        raise ValueError(f"not a relative file name for the output folder: {name!r}")
    return output_dir.joinpath(*parts)


def _remove_leftover_temp_files(output_dir: Path) -> None:
    for leftover in output_dir.rglob(f".*{_TEMP_INFIX}*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)


def _has_bytes(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _replace_file(target: Path, data: bytes) -> None:
    temp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}{_TEMP_INFIX}"
        )
        temp = Path(temp_name)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fchmod(stream.fileno(), 0o644)  # mkstemp makes 0600; the web server must read it
            os.fsync(stream.fileno())
        temp.replace(target)  # atomic (os.replace)
    except OSError as exc:
        if temp is not None:
            with suppress(OSError):
                temp.unlink(missing_ok=True)
        raise PublishError(
            f"Could not write {target}: {_reason(exc)}; the previous version is left in place."
        ) from exc


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
