"""Stories -> published feeds (Atom, RSS, JSON Feed), webinars.ics, sources.opml, index.html.

    render_all(site, stories, partners, now=...)   # pure: file name -> bytes
      | write_output(output_dir, files)            # temp file, fsync, os.replace; skips unchanged

``render_all`` is byte-for-byte deterministic for the same arguments: every date in the output
comes from the stories (a feed's ``updated`` is its newest story's), never from the clock. The
one input that moves with time is ``now``: it decides which webinars are still listed in
``webinars.*`` and ``webinars.ics``, so their bytes change when a webinar crosses the
``keep_past_webinars`` boundary, and at no other time.

What each file holds (``select_newest``, ``select_webinars``):

- ``all.*``, ``articles.*``, ``whitepapers.*``, ``tags/<tag>.*``: newest ``published`` first
  (ties by story id), at most ``site.max_items``, and at most ``max_stories`` stories whose
  shown copy comes from a feed with that cap (the next stories fill the room).
- ``webinars.*``: webinars starting after ``now``, soonest first, then those that started
  within ``keep_past_webinars``, most recent first; the same caps. A webinar whose start is
  unknown counts as starting when it was published (so it is listed among the recent past
  ones and leaves with them).
- ``partners/<feed-id>.atom``: the stories that partner carried, each showing that partner's
  copy, newest first, at most ``site.max_items``, no cap.
- ``webinars.ics``: the webinars of ``webinars.*`` whose start is known.

Rendering: every story's entry is rendered once per format (``_EntryRenderer``) and the bytes
are reused by every file listing it; feedgen writes each feed's head (title, links, dates)
and the entries are spliced in. This replaced feedgen per entry, whose FeedEntry objects and
lxml trees cost ~60% of a 10,000-story publish (README, Benchmark), and ``json.dumps(indent=2)``,
which forces the pure-Python encoder: JSON items are encoded once each by the C encoder.
Atom entries and RSS items are written as bytes with libxml2's escaping, not built as lxml
trees (3x faster; tests/test_publish_extra.py checks them against the lxml version). One
publish shares its cleaned stories and Atom entries between ``all.*`` and the partner files
(``EntryCache``), and writes files in a thread while the next ones render (``BackgroundWriter``).

feedgen 1.0.0 traps (shared/STACK-NOTES.md), each covered by tests/test_publish.py:
- Atom entry links lose rel/type/length, ``<source>`` is a bare title + link, and
  ``fe.description()`` after ``fe.content()`` replaces the content: entries are not written
  by feedgen at all (``_atom_entry``, ``_rss_item``).
- ``updated`` defaults to now: always set from the stories (``EMPTY_FEED_UPDATED`` when none).
- RSS channel ``<link>`` is feedgen's last feed link: the self link is added before the alternate.
- XML-invalid characters make feedgen raise: every text goes through ``xml_safe`` first.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import html
import json
import os
import queue
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import icalendar
import jinja2
import lxml.html
from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from syndicator.config import SiteConfig
from syndicator.events import zone_of
from syndicator.model import Credit, Enclosure, Event, Kind, Partner, Story
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
CALENDAR_TYPE = "text/calendar"
OPML_NAME = "sources.opml"
CALENDAR_NAME = "webinars.ics"
# Hidden (never served): a digest per partner file of what it was rendered from.
FINGERPRINTS = ".syndicator-partners.json"
# Part of those digests: a new version of the renderer or the page renders every file again.
RENDERER_DIGEST = hashlib.sha256(
    Path(__file__).read_bytes()
    + b"".join(p.read_bytes() for p in sorted((Path(__file__).parent / "templates").iterdir()))
).hexdigest()
TAGS_DIR = "tags"
PARTNERS_DIR = "partners"
NO_PARTNERS = "No partner feeds are enabled."  # the one outline of an OPML file without partners
CREDIT_LEAD = "Also published by: "
CALENDAR_TEXT = 500  # characters of a webinar's summary in its calendar DESCRIPTION
CREDIT_CLASS = "syndicator-credit"
EVENT_CLASS = "syndicator-event"

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_FILE_STEM = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # feeds.yaml ids and tags already are
_ATOM_NS = "http://www.w3.org/2005/Atom"
_ATTR_ESCAPED = re.compile('[&<>"\t\n\r]')  # what libxml2 escapes in an attribute value
# Block elements end a run of words when HTML becomes plain text ("<p>a</p><p>b</p>" -> "a b").
_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "td", "blockquote", "pre", "h1", "h2", "h3", "h4")
_TEMP_INFIX = ".tmp-"  # temp files are ".{name}.tmp-XXXX" beside their target
# Folders of files named after feeds.yaml tags and feed ids, and the suffixes written there:
# a file there that the current config does not produce is stale and removed on publish.
_MANAGED = {TAGS_DIR: (".atom", ".rss", ".json"), PARTNERS_DIR: (".atom",)}
_JSON_ITEM = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


class PublishError(Exception):
    """The output folder could not be written; the message names the file and the OS error."""


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: tuple[str, ...]  # file names whose bytes changed (or were new), sorted
    unchanged: tuple[str, ...]  # file names left untouched because their bytes were equal
    removed: tuple[str, ...] = ()  # stale tag and partner files deleted, sorted


@dataclass(frozen=True, slots=True)
class _FeedSpec:
    """One published feed: written as {name}.atom (and .rss, .json unless ``atom_only``)."""

    name: str  # file name without suffix, e.g. "all", "tags/smart-city", "partners/scw-news"
    label: str
    blurb: str  # what it is, for people (index.html; subtitle when the site has no description)
    kind: Kind | None = None  # the kind feeds; None: not a kind feed
    atom_only: bool = False

    def title(self, site: SiteConfig) -> str:
        return site.title if self.name == "all" else f"{site.title}: {self.label}"


_FEEDS = (
    _FeedSpec("all", "All stories", "Every story from every partner, newest first."),
    _FeedSpec("articles", "Articles", "News, opinion and analysis articles.", "article"),
    _FeedSpec("whitepapers", "Whitepapers", "Research reports and whitepapers.", "whitepaper"),
    _FeedSpec(
        "webinars",
        "Webinars",
        "Upcoming webinars, soonest first, then the ones that just took place.",
        "webinar",
    ),
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


def file_stem(name: str) -> str:
    """A tag or feed id as a file name: itself when it is already lower-case ``[a-z0-9-]``.

    feeds.yaml only allows such names; anything else (data of an older version) is folded to
    that alphabet and given a hash of the original, so two names never share a file.
    """
    if _FILE_STEM.fullmatch(name):
        return name
    folded = "-".join(re.findall(r"[a-z0-9]+", name.lower()))
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{folded}-{digest}" if folded else f"x-{digest}"


def render_all(
    site: SiteConfig,
    stories: Sequence[Story],
    partners: Sequence[Partner],
    *,
    now: datetime | None = None,
    partner_stories: Mapping[str, Sequence[Story]] | None = None,
    partner_files: Collection[str] | None = None,
    cache: EntryCache | None = None,
    on_files: Callable[[Mapping[str, bytes]], None] | None = None,
) -> dict[str, bytes]:
    """Every published file, name -> bytes; the same arguments always give the same bytes.

    ``partners`` are the enabled partner feeds: sources.opml, one ``partners/<id>.atom`` each,
    and their tags make the ``tags/<tag>.*`` feeds. ``partner_stories`` holds, per feed id,
    the stories that partner carried as that partner's copy (``pipeline.load_partner_stories``);
    without it a partner's file holds the stories whose shown copy is that partner's.
    ``partner_files``, when given, limits the ``partners/<id>.atom`` rendered to those feed
    ids (the others are known to be unchanged on disk: ``pipeline.publish_from_store``).
    ``now`` (default: the clock) decides which webinars are upcoming or recent. ``cache``
    keeps the cleaned stories and their Atom entries for later ``render_partner_files`` calls.
    ``on_files`` is called with each feed's files (and then the others) as soon as they are
    rendered, e.g. ``BackgroundWriter.submit``: every file of the result once.
    """
    moment = _utc(now or datetime.now(UTC))
    site = _safe_site(site)
    cleaner = cache.cleaner if cache else _Cleaner()
    clean_stories = [cleaner.story(story) for story in stories]
    clean_partners = sorted((_safe_partner(p) for p in partners), key=lambda p: p.feed_id)
    renderer = _EntryRenderer(atom=cache.atom if cache else None)
    files: dict[str, bytes] = {}

    def add(rendered: dict[str, bytes]) -> None:
        files.update(rendered)
        if on_files is not None:
            on_files(rendered)

    latest: list[Story] = []
    webinars: list[Story] = []
    for spec in _FEEDS:
        if spec.kind == "webinar":
            chosen = select_webinars(clean_stories, moment, site.keep_past_webinars, site.max_items)
            webinars = chosen
        else:
            of_kind = [s for s in clean_stories if spec.kind in (None, s.kind)]
            chosen = select_newest(of_kind, site.max_items)
        add(_render_feed(site, spec, chosen, renderer))
        if spec.name == "all":
            latest = chosen[:INDEX_LATEST]
    tag_specs = _tag_specs(clean_partners)
    for tag, spec in tag_specs:
        tagged = [s for s in clean_stories if tag in s.tags]
        add(_render_feed(site, spec, select_newest(tagged, site.max_items), renderer))
    partner_specs = _partner_specs(clean_partners)
    for partner, spec in partner_specs:
        if partner_files is not None and partner.feed_id not in partner_files:
            continue
        if partner_stories is None:
            carried = [s for s in clean_stories if s.source.feed_id == partner.feed_id]
        else:
            carried = [cleaner.story(s) for s in partner_stories.get(partner.feed_id, ())]
        add(_render_partner(site, spec, carried, renderer))
    index = _render_index(
        site, latest, clean_partners, [spec for _, spec in tag_specs], partner_specs
    )
    add(
        {
            CALENDAR_NAME: _render_calendar(site, [s for s in webinars if s.event]),
            OPML_NAME: _render_opml(site, clean_partners),
            "index.html": index,
        }
    )
    return files


def render_partner_files(
    site: SiteConfig,
    partners: Sequence[Partner],
    partner_stories: Mapping[str, Sequence[Story]],
    *,
    cache: EntryCache | None = None,
) -> dict[str, bytes]:
    """``partners/<id>.atom`` of ``partners`` alone, as ``render_all`` renders them.

    For publishing many partners a few at a time: together they hold every stored story, so
    rendering all at once would hold every story in memory (``pipeline.publish_from_store``).
    A story object already in ``cache`` (given to ``render_all`` with it) reuses its entry;
    what this call renders is not added to the cache, so the memory stays bounded.
    """
    site = _safe_site(site)
    cleaner = _Cleaner(cache.cleaner if cache else None)
    renderer = _EntryRenderer(known=cache.atom if cache else None)
    files: dict[str, bytes] = {}
    clean_partners = sorted((_safe_partner(p) for p in partners), key=lambda p: p.feed_id)
    for partner, spec in _partner_specs(clean_partners):
        carried = [cleaner.story(s) for s in partner_stories.get(partner.feed_id, ())]
        files.update(_render_partner(site, spec, carried, renderer))
    return files


def _render_partner(
    site: SiteConfig, spec: _FeedSpec, carried: Sequence[Story], renderer: _EntryRenderer
) -> dict[str, bytes]:
    return _render_feed(site, spec, select_newest(carried, site.max_items, capped=False), renderer)


# --- which stories each file holds ------------------------------------------------------------


def select_newest(stories: Iterable[Story], limit: int, *, capped: bool = True) -> list[Story]:
    """Newest ``published`` first (ties by story id), at most ``limit``, caps applied."""
    ordered = sorted(stories, key=lambda s: s.story_id)
    ordered.sort(key=lambda s: s.published, reverse=True)  # stable: ties stay in id order
    return _apply_caps(ordered, limit) if capped else ordered[:limit]


def select_webinars(
    stories: Iterable[Story], now: datetime, keep_past: timedelta, limit: int
) -> list[Story]:
    """``webinars.*``: upcoming soonest first, then started within ``keep_past``, latest first.

    A webinar without a known start counts as starting at its ``published`` date. Webinars
    that started before ``now - keep_past`` are left out (they stay in ``all.*``).
    """
    upcoming: list[Story] = []
    recent: list[Story] = []
    since = now - keep_past
    for story in stories:
        if story.kind != "webinar":
            continue
        start = webinar_start(story)
        if start > now:
            upcoming.append(story)
        elif start >= since:
            recent.append(story)
    upcoming.sort(key=lambda s: (webinar_start(s), s.story_id))
    recent.sort(key=lambda s: s.story_id)
    recent.sort(key=webinar_start, reverse=True)
    return _apply_caps([*upcoming, *recent], limit)


def webinar_start(story: Story) -> datetime:
    """When a webinar starts, or its published date when the partner did not say."""
    return story.event.start if story.event else story.published


def _apply_caps(ordered: Sequence[Story], limit: int) -> list[Story]:
    """The first ``limit`` stories, skipping those of a feed that reached its ``max_stories``.

    A story counts against the feed whose copy is shown (``story.source``); a skipped story
    makes room for the next one, so the file still holds ``limit`` stories when there are.
    """
    chosen: list[Story] = []
    taken: Counter[str] = Counter()
    for story in ordered:
        if len(chosen) >= limit:
            break
        cap = story.source.max_stories
        if cap is not None:
            if taken[story.source.feed_id] >= cap:
                continue
            taken[story.source.feed_id] += 1
        chosen.append(story)
    return chosen


def _tag_specs(partners: Sequence[Partner]) -> list[tuple[str, _FeedSpec]]:
    tags = sorted({tag for partner in partners for tag in partner.tags})
    specs = []
    for tag in tags:
        count = sum(1 for p in partners if tag in p.tags)
        carriers = "1 partner feed" if count == 1 else f"{count} partner feeds"
        blurb = f"Stories carried by the {carriers} tagged {tag}."
        specs.append((tag, _FeedSpec(f"{TAGS_DIR}/{file_stem(tag)}", tag, blurb)))
    return specs


def _partner_specs(partners: Sequence[Partner]) -> list[tuple[Partner, _FeedSpec]]:
    return [
        (
            p,
            _FeedSpec(
                f"{PARTNERS_DIR}/{file_stem(p.feed_id)}",
                p.name,
                f"Every story {p.name} published, as {p.name} wrote it.",
                atom_only=True,
            ),
        )
        for p in partners
    ]


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


class _Cleaner:
    """Cleans each story object once: a story listed in several inputs is the same object.

    With a ``known`` cleaner, what that one cleaned is reused and not copied into this one.
    """

    def __init__(self, known: _Cleaner | None = None) -> None:
        self._clean: dict[int, Story] = {}
        self._partners: dict[int, Partner] = {}  # stories share their Partner objects
        self._keep: list[object] = []  # keeps the ids above from being reused
        self._known_clean = known._clean if known else {}
        self._known_partners = known._partners if known else {}

    def story(self, story: Story) -> Story:
        clean = self._clean.get(id(story)) or self._known_clean.get(id(story))
        if clean is None:
            clean = self._clean[id(story)] = _safe_story(story, self.partner)
            self._keep.append(story)
        return clean

    def partner(self, partner: Partner) -> Partner:
        clean = self._partners.get(id(partner)) or self._known_partners.get(id(partner))
        if clean is None:
            clean = self._partners[id(partner)] = _safe_partner(partner)
            self._keep.append(partner)
        return clean


class EntryCache:
    """What one publish cleans and renders once for all its files: the stories given to
    ``render_all`` (cleaned) and their Atom entries, reused by ``render_partner_files``.

    Partner files are rendered a few partners at a time (``pipeline.publish_from_store``);
    most of their stories are the very objects of the merged feeds (a partner's copy is the
    shown one: ``pipeline.load_partner_stories``), and would be cleaned and rendered again.
    RSS and JSON entries are not kept: partner files are Atom only.
    """

    def __init__(self) -> None:
        self.cleaner = _Cleaner()
        self.atom: dict[int, bytes] = {}  # by id of a story cleaned by ``cleaner``, kept alive


def _safe_story(story: Story, safe_partner: Callable[[Partner], Partner] = _safe_partner) -> Story:
    """The story with XML-safe texts and UTC dates; ``story_id`` is never altered."""
    return dataclasses.replace(
        story,
        title=_xml_text(story.title).strip() or UNTITLED,
        link=_http_url(story.link),
        summary=_xml_text(story.summary),
        content=_xml_text(story.content),
        published=_utc(story.published),
        updated=_utc(story.updated),
        authors=tuple(a for a in (_xml_text(a).strip() for a in story.authors) if a),
        categories=tuple(c for c in (_xml_text(c).strip() for c in story.categories) if c),
        enclosures=tuple(_safe_enclosure(e) for e in story.enclosures if _http_url(e.url)),
        thumbnail=_http_url(story.thumbnail),
        language=_language(story.language),
        source=safe_partner(story.source),
        also_published_by=tuple(safe_partner(p) for p in story.also_published_by),
        other_copies=tuple(
            Credit(safe_partner(c.partner), _http_url(c.link)) for c in story.other_copies
        ),
        event=_safe_event(story.event),
        tags=tuple(_xml_text(tag) for tag in story.tags),
    )


def _xml_text(text: str) -> str:
    """``xml_safe(text)``, faster for the usual text that needs nothing removed.

    ``str.isprintable`` is false for every character XML forbids (controls, surrogates,
    U+FFFE, U+FFFF; tests/test_publish_extra.py checks them all) and runs ~3x faster than
    ``xml_safe``'s regex on text that is not ASCII; text with a tab or line break (which
    XML allows) takes the regex.
    """
    return text if text.isprintable() else xml_safe(text)


def _safe_event(event: Event | None) -> Event | None:
    if event is None:
        return None
    end = _utc(event.end) if event.end else None
    start = _utc(event.start)
    timezone = xml_safe(event.timezone).strip() if event.timezone else None
    return Event(start, end if end and end > start else None, timezone or None, event.source)


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


def _newest_update(stories: Sequence[Story]) -> datetime:
    return max((s.updated for s in stories), default=EMPTY_FEED_UPDATED)


# --- what an entry says: body, credit, webinar time --------------------------------------------


def _credits(story: Story) -> list[tuple[Partner, str | None]]:
    """Every other partner that carried the story, with the link to its copy when known."""
    if story.other_copies:
        return [(credit.partner, credit.link) for credit in story.other_copies]
    return [(partner, None) for partner in story.also_published_by]


def _credit_html(story: Story) -> str:
    """``<p>Also published by: <a href=...>SmartCitiesWorld</a>, WeGO</p>``, or ""."""
    names = []
    for partner, link in _credits(story):
        name = html.escape(partner.name, quote=False)
        names.append(f'<a href="{html.escape(link)}">{name}</a>' if link else name)
    if not names:
        return ""
    return f'<p class="{CREDIT_CLASS}">{CREDIT_LEAD}{", ".join(names)}</p>'


def event_text(event: Event) -> str:
    """ "Starts Thursday 12 May 2022, 13:00 UTC", with the end and the local time when known."""
    start = event.start
    text = f"Starts {_long_date(start)}, {start:%H:%M} UTC"
    local = _local_time(event)
    if local:
        text += f" ({local})"
    if event.end:
        same_day = event.end.date() == start.date()
        text += f", until {'' if same_day else _long_date(event.end) + ', '}{event.end:%H:%M} UTC"
    return text


def _long_date(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def _local_time(event: Event) -> str | None:
    """The start in the zone the partner named (an IANA name, an abbreviation such as KST,
    or an offset), unless that is UTC: a Seoul webinar at 08:00 KST is the evening before
    in UTC, and members in Seoul read the partner's own day and hour."""
    name = event.timezone
    zone = zone_of(name) if name else None
    if zone is None:
        return None
    local = event.start.astimezone(zone)
    if local.utcoffset() == timedelta(0):
        return None
    when = f"{local:%H:%M}" if local.date() == event.start.date() else f"{local:%a %H:%M}"
    return f"{when} {name}"


def _event_html(story: Story) -> str:
    if story.kind != "webinar" or story.event is None:
        return ""
    return f'<p class="{EVENT_CLASS}">{html.escape(event_text(story.event), quote=False)}</p>'


def _summary_and_content(story: Story) -> tuple[str, str | None]:
    """(summary, content) to publish; content None when it would only repeat the summary.

    The webinar time goes at the top and the credit at the end of the main text: the content,
    or the summary when there is no separate content.
    """
    content = story.content if story.content and story.content != story.summary else None
    top, credit = _event_html(story), _credit_html(story)
    if content is None and not story.link:
        # RFC 4287 4.1.1.1: an Atom entry without an alternate link must have <content>.
        return "", top + story.summary + credit
    if content is None:
        has_text = story.summary or top or credit
        return (top + story.summary + credit) if has_text else "", None
    return story.summary, top + content + credit


# --- entries, rendered once per story and format ----------------------------------------------


class _EntryRenderer:
    """Each story's Atom entry, RSS item and JSON item, rendered once and reused by every file.

    Keyed by the (cleaned) story object: a story in ``all.*``, its kind's feed, its tags'
    feeds and its partner's feed is one object, rendered once per format.
    """

    def __init__(
        self, atom: dict[int, bytes] | None = None, known: Mapping[int, bytes] | None = None
    ) -> None:
        self._atom: dict[int, bytes] = {} if atom is None else atom  # filled (EntryCache.atom)
        self._known: Mapping[int, bytes] = known or {}  # read only (EntryCache.atom)
        self._rss: dict[int, bytes] = {}
        self._json: dict[int, bytes] = {}
        self._keep: list[Story] = []

    def _cached(
        self, cache: dict[int, bytes], story: Story, render: Callable[[Story], bytes]
    ) -> bytes:
        data = cache.get(id(story))
        if data is None:
            data = cache[id(story)] = render(story)
            self._keep.append(story)
        return data

    def atom(self, story: Story) -> bytes:
        known = self._known.get(id(story))
        return known if known is not None else self._cached(self._atom, story, _atom_entry)

    def rss(self, story: Story) -> bytes:
        return self._cached(self._rss, story, _rss_item)

    def json(self, story: Story) -> bytes:
        return self._cached(self._json, story, _json_item_bytes)


def _atom_entry(story: Story) -> bytes:
    """The ``<entry>`` as lxml would serialize it (pretty, UTF-8), written as bytes.

    Not built with lxml: an element tree per entry cost ~50 µs, most of a partner file's
    rendering. tests/test_publish_extra.py keeps the lxml version and checks that both give
    the same bytes; the escaping is libxml2's (``_text``, ``_attr``).
    """
    lang = b' xml:lang="%s"' % _attr(story.language) if story.language else b""
    updated = story.updated.isoformat().encode()
    parts = [
        b"<entry%s>\n" % lang,
        b"  <id>%s</id>\n" % _text(_checked(story.story_id)),
        b'  <title type="text">%s</title>\n' % _text(story.title),
        b"  <updated>%s</updated>\n" % updated,
        b"  <published>%s</published>\n" % story.published.isoformat().encode(),
    ]
    for name in story.authors:
        parts.append(b"  <author>\n    <name>%s</name>\n  </author>\n" % _text(name))
    links = _atom_links(story)
    if story.link:  # the first link, and most often the only one: its attributes are known
        parts.append(b'  <link rel="alternate" type="text/html" href="%s"/>\n' % _attr(story.link))
        links = links[1:]
    for attributes in links:
        parts.append(b"  <link%s/>\n" % _attributes(attributes))
    for term in story.categories:
        parts.append(b'  <category term="%s"/>\n' % _attr(term))
    summary, content = _summary_and_content(story)
    if summary:
        parts.append(b'  <summary type="html">%s</summary>\n' % _text(summary))
    if content is not None:
        parts.append(b'  <content type="html">%s</content>\n' % _text(content))
    parts.append(_atom_source(story.source))
    parts.append(b"    <updated>%s</updated>\n  </source>\n</entry>\n" % updated)
    return b"".join(parts)


def _atom_links(story: Story) -> list[dict[str, str]]:
    """The alternate link, one per enclosure, and one ``related`` per other partner's copy."""
    links = []
    if story.link:
        links.append({"rel": "alternate", "type": "text/html", "href": story.link})
    for enclosure in story.enclosures:
        link = {"rel": "enclosure", "type": enclosure.type, "href": enclosure.url}
        if enclosure.length is not None:
            link["length"] = str(enclosure.length)
        links.append(link)
    seen = {story.link}
    for partner, href in _credits(story):
        if href and href not in seen:  # one link per address: a copy at the same page adds none
            seen.add(href)
            links.append(
                {"rel": "related", "type": "text/html", "href": href, "title": partner.name}
            )
    return links


@functools.lru_cache(maxsize=4096)
def _atom_source(partner: Partner) -> bytes:
    """Atom ``<source>`` crediting the partner whose copy is shown (RFC 4287 4.2.11), up to
    its ``<updated>`` (the story's): the same bytes for every story of that partner."""
    parts = [b"  <source>\n"]
    if partner.feed_url:
        parts.append(b"    <id>%s</id>\n" % _text(partner.feed_url))
    parts.append(b'    <title type="text">%s</title>\n' % _text(partner.name))
    if partner.feed_url:
        parts.append(b'    <link rel="self" href="%s"/>\n' % _attr(partner.feed_url))
    if partner.site_url:
        site_url = _attr(partner.site_url)
        parts.append(b'    <link rel="alternate" type="text/html" href="%s"/>\n' % site_url)
    return b"".join(parts)


def _rss_item(story: Story) -> bytes:
    """The ``<item>`` as lxml would serialize it (see ``_atom_entry``); the ``dc:`` and
    ``content:`` prefixes are declared by the feed's root."""
    parts = [b"<item>\n  <title>%s</title>\n" % _text(story.title)]
    if story.link:
        parts.append(b"  <link>%s</link>\n" % _text(story.link))
    summary, content = _summary_and_content(story)
    description = summary or content
    if description:
        parts.append(b"  <description>%s</description>\n" % _text(description))
    if summary and content is not None:
        parts.append(b"  <content:encoded>%s</content:encoded>\n" % _text(content))
    for name in story.authors:
        parts.append(b"  <dc:creator>%s</dc:creator>\n" % _text(name))
    for term in story.categories:
        parts.append(b"  <category>%s</category>\n" % _text(term))
    parts.append(b'  <guid isPermaLink="false">%s</guid>\n' % _text(_checked(story.story_id)))
    if story.enclosures:  # RSS 2.0 allows one enclosure per item: the first
        first = story.enclosures[0]
        attributes = {"url": first.url, "length": str(first.length or 0), "type": first.type}
        parts.append(b"  <enclosure%s/>\n" % _attributes(attributes))
    parts.append(b"  <pubDate>%s</pubDate>\n" % _rfc822(story.published).encode())
    if story.source.feed_url:
        source = (_attr(story.source.feed_url), _text(story.source.name))
        parts.append(b'  <source url="%s">%s</source>\n' % source)
    parts.append(b"</item>\n")
    return b"".join(parts)


def _attributes(attributes: Mapping[str, str]) -> bytes:
    return b"".join(
        [b' %s="%s"' % (name.encode(), _attr(value)) for name, value in attributes.items()]
    )


def _text(text: str) -> bytes:
    """Text content in UTF-8, escaped as libxml2 writes it: ``& < >`` and carriage returns.

    Escaped as bytes: ``bytes.replace`` is ~2x faster than ``str.replace`` on text that is
    not ASCII, and the entry is bytes in the end.
    """
    data = text.encode()
    return (
        data.replace(b"&", b"&amp;")
        .replace(b"<", b"&lt;")
        .replace(b">", b"&gt;")
        .replace(b"\r", b"&#13;")
    )


def _attr(value: str) -> bytes:
    """An attribute value in UTF-8, escaped as libxml2 writes it: also ``"``, tab, LF, CR."""
    if _ATTR_ESCAPED.search(value) is None:  # most are: URLs, media types, partner names
        return value.encode()
    return (
        value.encode()
        .replace(b"&", b"&amp;")
        .replace(b"<", b"&lt;")
        .replace(b">", b"&gt;")
        .replace(b'"', b"&quot;")
        .replace(b"\r", b"&#13;")
        .replace(b"\n", b"&#10;")
        .replace(b"\t", b"&#9;")
    )


def _checked(text: str) -> str:
    """``text``, or ValueError when XML cannot hold it (as lxml raises): the only text of an
    entry not cleaned by ``xml_safe`` is the story id, which syndicator mints."""
    if xml_safe(text) != text:
        raise ValueError(f"not XML-compatible text: {text!r}")
    return text


def _rfc822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")  # %a/%b: the C locale's English


# --- feeds: feedgen writes the head, the entries are spliced in --------------------------------


def _render_feed(
    site: SiteConfig, spec: _FeedSpec, stories: Sequence[Story], renderer: _EntryRenderer
) -> dict[str, bytes]:
    files = {f"{spec.name}.atom": _render_atom(site, spec, stories, renderer)}
    if not spec.atom_only:
        files[f"{spec.name}.rss"] = _render_rss(site, spec, stories, renderer)
        files[f"{spec.name}.json"] = _render_json(site, spec, stories, renderer)
    return files


def _render_atom(
    site: SiteConfig, spec: _FeedSpec, stories: Sequence[Story], renderer: _EntryRenderer
) -> bytes:
    feed = _feed_generator(site, spec, stories, f"{spec.name}.atom", ATOM_TYPE)
    head = bytes(feed.atom_str(pretty=True))
    return _splice(head, b"</feed>", [renderer.atom(story) for story in stories])


def _render_rss(
    site: SiteConfig, spec: _FeedSpec, stories: Sequence[Story], renderer: _EntryRenderer
) -> bytes:
    feed = _feed_generator(site, spec, stories, f"{spec.name}.rss", RSS_TYPE)
    head = bytes(feed.rss_str(pretty=True))
    return _splice(head, b"</channel>", [renderer.rss(story) for story in stories])


def _splice(head: bytes, closing_tag: bytes, entries: list[bytes]) -> bytes:
    """The feed document ``head`` with ``entries`` inserted before its last ``closing_tag``."""
    at = head.rindex(closing_tag)
    return b"".join([head[:at], *entries, head[at:]])


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
    feed.load_extension("dc", atom=False, rss=True)  # declares xmlns:dc for dc:creator
    return feed


class _RssHubLink(BaseExtension):  # type: ignore[misc]  # feedgen is untyped
    """``<atom:link rel="hub">`` after the self link: feedgen writes only the self link in RSS."""

    def __init__(self, hub: str) -> None:
        self._hub = hub

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        self_link = rss.find(f"channel/{{{_ATOM_NS}}}link")
        if self_link is not None:
            self_link.addnext(etree.Element(f"{{{_ATOM_NS}}}link", rel="hub", href=self._hub))
        return rss


# --- JSON Feed 1.1 ----------------------------------------------------------------------------


def _render_json(
    site: SiteConfig, spec: _FeedSpec, stories: Sequence[Story], renderer: _EntryRenderer
) -> bytes:
    """The feed object, pretty at the top level, one line per item (each encoded once)."""
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
    lines = [f"  {json.dumps(key)}: {_JSON_ITEM.encode(value)}," for key, value in feed.items()]
    head = ("{\n" + "\n".join(lines) + "\n").encode()
    if not stories:
        return head + b'  "items": []\n}\n'
    items = b",\n    ".join([renderer.json(story) for story in stories])
    return b"".join([head, b'  "items": [\n    ', items, b"\n  ]\n}\n"])


def _json_item_bytes(story: Story) -> bytes:
    return str(_JSON_ITEM.encode(_json_item(story))).encode()


def _json_item(story: Story) -> dict[str, object]:
    item: dict[str, object] = {"id": story.story_id}
    if story.link:
        item["url"] = story.link
    item["title"] = story.title
    body = story.content or story.summary
    item["content_html"] = _event_html(story) + body + _credit_html(story)
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
    extension: dict[str, object] = {
        "source": _json_partner(story.source),
        "also_published_by": [_json_partner(partner, link) for partner, link in _credits(story)],
    }
    if story.kind == "webinar" and story.event is not None:
        extension["event"] = {
            "start": story.event.start.isoformat(),
            "end": story.event.end.isoformat() if story.event.end else None,
            "timezone": story.event.timezone,
        }
    item["_syndicator"] = extension
    return item


def _json_attachment(enclosure: Enclosure) -> dict[str, object]:
    attachment: dict[str, object] = {"url": enclosure.url, "mime_type": enclosure.type}
    if enclosure.length is not None:
        attachment["size_in_bytes"] = enclosure.length
    return attachment


def _json_partner(partner: Partner, link: str | None = None) -> dict[str, str]:
    credit = {"id": partner.feed_id, "name": partner.name, "feed_url": partner.feed_url}
    if partner.site_url:
        credit["home_page_url"] = partner.site_url
    if link:
        credit["url"] = link  # this partner's copy of the story
    return credit


def _plain_text(html_text: str) -> str:
    """The words of an HTML fragment, whitespace collapsed (JSON Feed ``summary`` is text)."""
    if not html_text.strip():
        return ""
    root = lxml.html.fragment_fromstring(html_text, create_parent="div")
    for element in root.iter(*_BLOCK_TAGS):
        element.tail = " " + (element.tail or "")
    return " ".join(root.text_content().split())


# --- webinars.ics (RFC 5545) ------------------------------------------------------------------


def calendar_uid(site: SiteConfig, story_id: str) -> str:
    """A globally unique, stable UID: a hash of the story id at the site's host."""
    host = urlsplit(site.url).hostname or "syndicator.invalid"
    return f"{hashlib.sha256(story_id.encode()).hexdigest()[:32]}@{host}"


def _render_calendar(site: SiteConfig, webinars: Sequence[Story]) -> bytes:
    """One VEVENT per webinar with a known start, soonest first; no date from the clock."""
    calendar = icalendar.Calendar()
    host = urlsplit(site.url).hostname or "syndicator.invalid"
    calendar.add("prodid", f"-//{GENERATOR}//{host}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{site.title}: Webinars")
    calendar.add("x-wr-caldesc", f"Webinars from the partners of {site.title}.")
    for story in sorted(webinars, key=lambda s: (webinar_start(s), s.story_id)):
        calendar.add_component(_calendar_event(site, story))
    return bytes(calendar.to_ical())


def _calendar_event(site: SiteConfig, story: Story) -> icalendar.Event:
    assert story.event is not None
    event = icalendar.Event()
    event.add("uid", calendar_uid(site, story.story_id))
    event.add("dtstamp", story.updated)  # the story's last change, not now: stable bytes
    event.add("created", story.published)
    event.add("last-modified", story.updated)
    event.add("dtstart", story.event.start)
    if story.event.end:
        event.add("dtend", story.event.end)
    event.add("summary", story.title)
    if story.link:
        event.add("url", story.link)
    event.add("description", _calendar_description(story))
    return event


def _calendar_description(story: Story) -> str:
    """The summary as plain text (at most ``CALENDAR_TEXT`` characters), link and credit."""
    text = _plain_text(story.summary or story.content)
    if len(text) > CALENDAR_TEXT:  # a calendar shows a few lines; the link has the rest
        text = text[:CALENDAR_TEXT].rsplit(" ", 1)[0] + " …"
    parts = [text]
    if story.link:
        parts.append(story.link)
    parts.append(f"Published by {story.source.name}")
    others = [partner.name for partner, _ in _credits(story)]
    if others:
        parts.append(CREDIT_LEAD + ", ".join(others))
    return "\n\n".join(part for part in parts if part)


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


def _render_index(
    site: SiteConfig,
    latest: Sequence[Story],
    partners: Sequence[Partner],
    tag_feeds: Sequence[_FeedSpec],
    partner_feeds: Sequence[tuple[Partner, _FeedSpec]],
) -> bytes:
    page = _TEMPLATES.get_template("index.html").render(
        site=site,
        lang=site.language or "en",
        feeds=_FEEDS,
        tag_feeds=tag_feeds,
        partner_feeds=partner_feeds,
        types={"atom": ATOM_TYPE, "rss": RSS_TYPE, "json": JSON_TYPE, "ics": CALENDAR_TYPE},
        opml=OPML_NAME,
        calendar=CALENDAR_NAME,
        latest=latest,
        partners=partners,
    )
    return page.encode()


# --- partner files: which ones need rendering -------------------------------------------------


def partner_file(feed_id: str) -> str:
    """The published name of a partner's feed: ``partners/<feed-id>.atom``."""
    return f"{PARTNERS_DIR}/{file_stem(feed_id)}.atom"


def read_fingerprints(output_dir: Path) -> dict[str, str]:
    """What the last publish recorded about each partner file (``FINGERPRINTS``); {} if none.

    One partner feed per enabled feed makes a publish read every story of every partner:
    ``pipeline.publish_from_store`` renders a partner's file again only when the digest of
    what it is made of changed, or the file is gone. A missing or unreadable record only
    costs a full render.
    """
    try:
        recorded = json.loads((output_dir / FINGERPRINTS).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(recorded, dict):
        return {}
    return {str(name): str(digest) for name, digest in recorded.items()}


def write_fingerprints(output_dir: Path, fingerprints: Mapping[str, str]) -> None:
    """Record ``fingerprints`` for ``read_fingerprints``: after the files they describe."""
    text = json.dumps(dict(sorted(fingerprints.items())), indent=0, ensure_ascii=True)
    target = output_dir / FINGERPRINTS
    if not _has_bytes(target, (text + "\n").encode()):
        _replace_file(target, (text + "\n").encode())


# --- writing ----------------------------------------------------------------------------------


def write_output(
    output_dir: Path,
    files: Mapping[str, bytes],
    *,
    keep: Collection[str] = (),
    remove_stale: bool = True,
) -> WriteReport:
    """Write ``files`` (name -> bytes) into ``output_dir``, each atomically.

    A file whose bytes are already on disk is not rewritten (its mtime stays). Each other file
    goes to a temp file in the same folder, is fsynced, then ``os.replace``d over the old one,
    so a reader or a crash sees the old or the new file, never a partial one. Temp files left
    by an earlier crash are removed first; tag and partner files that ``files`` no longer has
    (``tags/*.atom|rss|json``, ``partners/*.atom``: a tag or feed gone from feeds.yaml) are
    removed last. ``keep`` names files known to be up to date on disk: they count as
    unchanged, unread, and are never removed. ``remove_stale=False``: ``files`` is a part of
    the output (written in several calls), remove nothing. Raises PublishError on any
    OSError; the file being written then keeps its old content (files written before it
    stay written).
    """
    targets = {name: _target(output_dir, name) for name in sorted(files)}
    _prepare_folder(output_dir)
    written, unchanged = _write_files(targets, files)
    removed = _remove_stale_files(output_dir, {*files, *keep}) if remove_stale else ()
    unchanged = sorted([*unchanged, *(name for name in keep if name not in files)])
    return WriteReport(written=tuple(written), unchanged=tuple(unchanged), removed=removed)


def _prepare_folder(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        _remove_leftover_temp_files(output_dir)
    except OSError as exc:
        raise PublishError(f"Cannot use the output folder {output_dir}: {_reason(exc)}.") from exc


def _write_files(
    targets: Mapping[str, Path], files: Mapping[str, bytes]
) -> tuple[list[str], list[str]]:
    """(written, unchanged): each of ``targets`` (name -> path) whose bytes differ is replaced."""
    written: list[str] = []
    unchanged: list[str] = []
    for name, target in targets.items():
        if _has_bytes(target, files[name]):
            unchanged.append(name)
        else:
            _replace_file(target, files[name])
            written.append(name)
    return written, unchanged


class BackgroundWriter:
    """``write_output(output_dir, part, remove_stale=False)`` of each submitted part, in a
    thread, in order, while the caller renders the next part (leftover temp files are
    removed once, before the first part).

    Writing a big publish is mostly ``write`` and ``fsync`` calls, which let go of the GIL: on
    a second core they overlap the rendering instead of following it. At most ``queued``
    parts wait, so memory stays bounded. The first error (PublishError) stops the writes of
    the parts after it, as ``write_output`` stops at a failing file; ``submit`` raises it as
    soon as it is known, ``close`` (or leaving the ``with`` block) after the last write.
    """

    def __init__(self, output_dir: Path, *, queued: int = 1) -> None:
        self._output_dir = output_dir
        self._parts: queue.Queue[Mapping[str, bytes] | None] = queue.Queue(maxsize=queued)
        self._error: BaseException | None = None
        self.reports: list[WriteReport] = []  # one per part written, in order
        self._thread = threading.Thread(target=self._write_parts, name="publish-writer")
        self._thread.start()

    def _write_parts(self) -> None:
        prepared = False
        while (files := self._parts.get()) is not None:
            if self._error is None:  # after an error the parts are taken, not written
                try:
                    targets = {name: _target(self._output_dir, name) for name in sorted(files)}
                    if not prepared:
                        _prepare_folder(self._output_dir)
                        prepared = True
                    written, unchanged = _write_files(targets, files)
                    self.reports.append(WriteReport(tuple(written), tuple(unchanged)))
                # Handed to the rendering thread. Not only Exceptions: a writer ended by
                # any other would leave ``submit`` waiting for it forever.
                except BaseException as error:
                    self._error = error

    def submit(self, files: Mapping[str, bytes]) -> None:
        """Queue ``files`` (name -> bytes); waits while ``queued`` parts are waiting."""
        self._raise_error()
        self._parts.put(files)

    def close(self) -> list[WriteReport]:
        """Wait for every submitted part to be written; the reports, in order."""
        if self._thread.is_alive():
            self._parts.put(None)
            self._thread.join()
        self._raise_error()
        return self.reports

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if error is None:
            self.close()
        elif self._thread.is_alive():  # the caller failed: finish what was submitted, quietly
            self._parts.put(None)
            self._thread.join()


def _target(output_dir: Path, name: str) -> Path:
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or any(part in {".", ".."} for part in parts):
        raise ValueError(f"not a relative file name for the output folder: {name!r}")
    return output_dir.joinpath(*parts)


def _remove_leftover_temp_files(output_dir: Path) -> None:
    for leftover in output_dir.rglob(f".*{_TEMP_INFIX}*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)


def _remove_stale_files(output_dir: Path, files: Collection[str]) -> tuple[str, ...]:
    """Delete tag and partner files that were published before but are not in ``files``.

    Only names syndicator writes in its own folders: anything else an operator put in the
    output folder stays.
    """
    removed = []
    for folder, suffixes in _MANAGED.items():
        directory = output_dir / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            name = f"{folder}/{path.name}"
            stale = path.suffix in suffixes and name not in files and not path.name.startswith(".")
            if stale and path.is_file() and not path.is_symlink():
                try:
                    path.unlink()
                except OSError as exc:
                    raise PublishError(f"Could not remove {path}: {_reason(exc)}.") from exc
                removed.append(name)
    return tuple(sorted(removed))


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
