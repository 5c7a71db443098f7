"""Plain data passed between pipeline stages.

Only values here: no I/O, no behaviour beyond small derived properties.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Kind = Literal["article", "whitepaper", "webinar"]
KINDS: tuple[Kind, ...] = ("article", "whitepaper", "webinar")


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A file attached to an entry (a whitepaper PDF, a podcast)."""

    url: str
    type: str = "application/octet-stream"
    length: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """When a webinar (or any event) takes place."""

    start: datetime  # aware UTC
    end: datetime | None = None  # aware UTC; None when the partner gave no end or duration
    timezone: str | None = None  # as the partner gave it: IANA name, abbreviation or offset
    source: str = ""  # where the start was found: "json feed", "xcal", "ev", "json-ld", "text"


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One entry as the partner wrote it, before any cleaning.

    Strings are as found in the feed: ``title`` may hold markup when ``title_is_html``;
    ``summary`` and ``content`` are unsanitized HTML; links may be relative. ``base`` is the
    entry's in-scope ``xml:base`` (absolute), None when the feed declares none.
    """

    guid: str | None
    link: str | None
    title: str
    title_is_html: bool
    summary: str
    content: str
    published: datetime | None
    updated: datetime | None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    thumbnail: str | None = None
    language: str | None = None
    base: str | None = None
    event: Event | None = None  # from structured data in the feed (JSON Feed, xCal, ev:)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a partner feed said about itself, and its entries."""

    format: str  # "rss20", "rss10", "rss090", "atom10", "atom03", "json11", "json10", ...
    title: str
    link: str | None
    language: str | None
    entries: tuple[ParsedEntry, ...]
    warning: str | None = None  # feedparser's bozo reason when entries were still usable
    ttl_minutes: int | None = None  # RSS <ttl>


@dataclass(frozen=True, slots=True)
class Entry:
    """One normalized entry of one partner feed: safe to store and publish."""

    feed_id: str
    entry_key: str  # identity within the feed: raw guid, else link, else content hash
    guid: str | None
    link: str | None  # absolute http(s) URL, as the partner gave it
    canonical_url: str | None  # for comparison only (see normalize.canonical_url)
    title: str  # plain text
    title_key: str  # folded title for matching (see normalize.title_key)
    summary: str  # sanitized HTML
    content: str  # sanitized HTML
    published: datetime  # aware UTC
    updated: datetime  # aware UTC, never before published
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    enclosures: tuple[Enclosure, ...]
    thumbnail: str | None
    language: str | None
    kind: Kind
    content_hash: str  # hash of what a member sees: title, summary, content, link, enclosures
    published_is_guess: bool = False  # the partner gave no usable date: first seen, or clamped
    kind_rule: str = "feed kind"  # what decided ``kind`` (a feeds.yaml rule, a heuristic, ...)
    event: Event | None = None  # webinars: when it takes place, if the partner says
    # What clustering compares (dedupe.signature): computed once where the entry is
    # normalized, stored with it, so matching never re-reads the text. b"": not computed.
    signature: bytes = b""


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner feed as credited in published output."""

    feed_id: str
    name: str  # feeds.yaml `name`, else the partner feed's own title, else the id
    feed_url: str  # the partner feed's URL (OPML xmlUrl, RSS <source url>)
    site_url: str | None  # the partner's web site (OPML htmlUrl, Atom source link)
    kind: Kind = "article"
    tags: tuple[str, ...] = ()
    max_stories: int | None = None  # feeds.yaml cap of this feed's stories in merged feeds


@dataclass(frozen=True, slots=True)
class Credit:
    """One partner's copy of a story: who, and where their copy is."""

    partner: Partner
    link: str | None


@dataclass(frozen=True, slots=True)
class Story:
    """A story ready to publish: the shown copy plus credit to every partner that carried it."""

    story_id: str  # never changes for this story
    kind: Kind
    title: str  # plain text
    link: str | None
    summary: str  # sanitized HTML
    content: str  # sanitized HTML
    published: datetime  # aware UTC
    updated: datetime  # aware UTC
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    enclosures: tuple[Enclosure, ...]
    thumbnail: str | None
    language: str | None
    source: Partner  # the partner whose copy is shown
    also_published_by: tuple[Partner, ...] = ()  # other partners carrying the same story
    other_copies: tuple[Credit, ...] = ()  # every copy not shown, one per partner feed
    kind_rule: str = "feed kind"  # what decided ``kind`` for the shown copy
    event: Event | None = None  # webinars: when it takes place
    tags: tuple[str, ...] = ()  # feeds.yaml tags of every feed that carried the story
    # The feed whose copy is shown: a story holds one entry of a feed (a new GUID replaces
    # it), so the feed names the copy, and a partner churning GUIDs does not change it.
    shown_copy: str = ""


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as the store keeps it: which story it belongs to and when we saw it."""

    entry: Entry
    story_id: str
    first_seen: datetime
    last_seen: datetime
    started_story: bool = False  # this entry's arrival created the story (and minted its id)


@dataclass(frozen=True, slots=True)
class FeedState:
    """What we know about fetching one partner feed; ``status`` shows it."""

    feed_id: str
    url: str = ""
    title: str | None = None  # the partner feed's own title
    site_url: str | None = None  # the partner feed's <link>
    format: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    http_status: int | None = None
    entry_count: int = 0  # entries in the partner feed at the last successful parse
    consecutive_errors: int = 0
    last_error: str | None = None
    last_outcome: str | None = None  # "ok", "not_modified", "failed"
    warning: str | None = None  # a bozo feed we still used, or a permanent redirect
    ttl_minutes: int | None = None  # RSS <ttl> at the last successful parse
    # Seconds the partner asked us to wait after last_attempt: Retry-After on 429/503,
    # Cache-Control max-age or Expires otherwise (see schedule.next_poll).
    partner_delay: float | None = None
