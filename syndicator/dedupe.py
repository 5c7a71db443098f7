"""Entries -> stories: which story each entry belongs to, and what changed. Pure functions.

Exact matching, first version (the story-clustering issue replaces the matching rules; the
interface stays): an entry joins a story when

1. the same partner entry (feed id + entry key) is already in it;
2. else its canonical URL is already in a story (a partner that changed its GUIDs, or
   another partner linking the same page with other decorations);
3. else its folded title equals the title of a story carried by *another* partner within
   ``TITLE_WINDOW`` of its date (the same press release on two sites);
4. else it starts a new story, whose id is minted once here and stored forever.

Two entries of one feed in one fetch never join the same story: the partner lists them as
two items, and recurring titles ("Weekly digest") must stay apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from syndicator.model import Credit, Entry, Partner, StoredEntry, Story

TITLE_WINDOW = timedelta(days=3)
MIN_TITLE_KEY_CHARS = 8  # shorter folded titles ("news", "update") are too common to match on

MatchRule = Literal["same entry", "canonical url", "title", "new story"]
EntryChange = Literal["new", "changed", "unchanged"]

FeedEntryKey = tuple[str, str]  # (feed id, entry key)


@dataclass(frozen=True, slots=True)
class TitleSighting:
    story_id: str
    feed_id: str
    published: datetime


@dataclass(slots=True)
class StoryIndex:
    """What earlier passes stored, shaped for matching. Built by ``store``, grown by
    ``record`` as each feed of a pass is applied, so later feeds match earlier ones."""

    by_entry: dict[FeedEntryKey, str] = field(default_factory=dict)
    by_url: dict[str, str] = field(default_factory=dict)
    by_title: dict[str, list[TitleSighting]] = field(default_factory=dict)
    entries_of_story: dict[str, set[FeedEntryKey]] = field(default_factory=dict)

    def add(self, entry: Entry, story_id: str) -> None:
        self.add_raw(
            (entry.feed_id, entry.entry_key),
            story_id,
            canonical_url=entry.canonical_url,
            title_key=entry.title_key,
            published=entry.published,
        )

    def add_raw(
        self,
        key: FeedEntryKey,
        story_id: str,
        *,
        canonical_url: str | None,
        title_key: str,
        published: datetime,
    ) -> None:
        self.by_entry[key] = story_id
        self.entries_of_story.setdefault(story_id, set()).add(key)
        if canonical_url and _is_specific_url(canonical_url):
            self.by_url.setdefault(canonical_url, story_id)
        if len(title_key) >= MIN_TITLE_KEY_CHARS:
            sighting = TitleSighting(story_id, key[0], published)
            sightings = self.by_title.setdefault(title_key, [])
            if sighting not in sightings:
                sightings.append(sighting)

    def record(self, assignments: Iterable[Assignment]) -> None:
        for assignment in assignments:
            self.add(assignment.entry, assignment.story_id)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Entry ``entry`` belongs to story ``story_id``, found by ``rule``."""

    entry: Entry
    story_id: str
    rule: MatchRule
    change: EntryChange
    score: float | None = None  # how strongly the match rule held (1.0 for exact rules)
    matched_with: str | None = None  # "feed id entry key" of the stored copy it matched

    @property
    def new_story(self) -> bool:
        return self.rule == "new story"


def _is_specific_url(canonical: str) -> bool:
    # A link to a partner's home page says nothing about which story it is.
    return urlsplit(canonical).path not in ("", "/")


def mint_story_id(authority: str, entry: Entry, first_seen: datetime) -> str:
    """A ``tag:`` URI (RFC 4151) for a new story, derived from the entry that started it.

    Computed once and stored; never recomputed, so later changes to the entry, the partner's
    GUIDs or which copy is shown cannot move it.
    """
    digest = hashlib.sha256(f"{entry.feed_id}\x00{entry.entry_key}".encode()).hexdigest()[:20]
    return f"tag:{authority},{first_seen:%Y-%m-%d}:{entry.feed_id}/{digest}"


def entry_change(
    old: StoredEntry | None, new: Entry, fetched_at: datetime
) -> tuple[Entry, EntryChange]:
    """Compare a fetched entry with the stored one; return the entry to store and the verdict.

    A date we had to guess (missing or in the future) keeps the first guess, so an undated
    entry does not climb back to the top on every fetch. Changed text without a newer
    partner ``updated`` date is stamped with the fetch time so readers see the update.
    """
    if old is None:
        return new, "new"
    stored = old.entry
    published = stored.published if new.published_is_guess else new.published
    if new.content_hash == stored.content_hash:
        kept = replace(new, published=published, updated=max(stored.updated, published))
        return kept, "unchanged"
    updated = new.updated if new.updated > stored.updated else fetched_at
    return replace(new, published=published, updated=max(updated, published)), "changed"


def assign_stories(
    entries: Sequence[Entry],
    index: StoryIndex,
    stored: Mapping[FeedEntryKey, StoredEntry],
    *,
    authority: str,
    fetched_at: datetime,
) -> list[Assignment]:
    """Decide the story of every entry of one feed's fetch. ``index`` is not modified."""
    assignments: list[Assignment] = []
    taken: set[str] = set()  # stories that already got an entry of this fetch
    listed = {(e.feed_id, e.entry_key) for e in entries}
    for fetched in entries:
        entry, change = entry_change(
            stored.get((fetched.feed_id, fetched.entry_key)), fetched, fetched_at
        )
        story_id, rule = _match(entry, index, taken, listed)
        if story_id is None:
            story_id, rule = mint_story_id(authority, entry, fetched_at), "new story"
        taken.add(story_id)
        assignments.append(Assignment(entry, story_id, rule, change))
    return assignments


def _match(
    entry: Entry, index: StoryIndex, taken: set[str], listed: set[FeedEntryKey]
) -> tuple[str | None, MatchRule]:
    known = index.by_entry.get((entry.feed_id, entry.entry_key))
    if known is not None:
        return known, "same entry"

    def open_to(story_id: str) -> bool:
        # Not a story this fetch already filled, nor one holding another entry this feed
        # still lists: those are distinct items in the partner's own eyes.
        if story_id in taken:
            return False
        members = index.entries_of_story.get(story_id, set())
        return not any(key in listed for key in members if key[0] == entry.feed_id)

    if entry.canonical_url:
        by_url = index.by_url.get(entry.canonical_url)
        if by_url is not None and open_to(by_url):
            return by_url, "canonical url"
    by_title = _title_match(entry, index, open_to)
    if by_title is not None:
        return by_title, "title"
    return None, "new story"


def _title_match(entry: Entry, index: StoryIndex, open_to: Callable[[str], bool]) -> str | None:
    if len(entry.title_key) < MIN_TITLE_KEY_CHARS:
        return None
    sightings = index.by_title.get(entry.title_key, [])
    feeds_of_story: dict[str, set[str]] = {}
    for sighting in sightings:
        feeds_of_story.setdefault(sighting.story_id, set()).add(sighting.feed_id)
    candidates = [
        s
        for s in sightings
        if abs(s.published - entry.published) <= TITLE_WINDOW
        and entry.feed_id not in feeds_of_story[s.story_id]
        and open_to(s.story_id)
    ]
    if not candidates:
        return None
    closest = min(candidates, key=lambda s: (abs(s.published - entry.published), s.story_id))
    return closest.story_id


def choose_shown_copy(copies: Sequence[StoredEntry], priorities: Mapping[str, int]) -> StoredEntry:
    """The copy of a story that members see.

    Highest feed ``priority`` first, then the partner that carried the story first (in one
    pass: the partner whose entry started the story), then the feed id, so the choice is
    stable. Within one feed the most recently seen entry wins: a partner that changed the
    entry's GUID still shows its latest text.
    """
    starter = next((c.entry.feed_id for c in copies if c.started_story), None)
    first_seen_by_feed: dict[str, datetime] = {}
    latest_by_feed: dict[str, StoredEntry] = {}
    for copy in copies:
        feed_id = copy.entry.feed_id
        if feed_id not in first_seen_by_feed or copy.first_seen < first_seen_by_feed[feed_id]:
            first_seen_by_feed[feed_id] = copy.first_seen
        current = latest_by_feed.get(feed_id)
        if current is None or (copy.last_seen, copy.entry.updated) > (
            current.last_seen,
            current.entry.updated,
        ):
            latest_by_feed[feed_id] = copy
    feed_id = min(
        latest_by_feed,
        key=lambda f: (-priorities.get(f, 0), first_seen_by_feed[f], f != starter, f),
    )
    return latest_by_feed[feed_id]


def build_story(
    story_id: str,
    copies: Sequence[StoredEntry],
    partners: Mapping[str, Partner],
    priorities: Mapping[str, int],
) -> Story:
    """A publishable story from all its stored copies.

    ``published`` is the earliest date any partner gave and ``updated`` the latest change of
    any copy, so neither moves back when a different copy becomes the shown one.
    """
    shown = choose_shown_copy(copies, priorities).entry
    feed_ids = sorted({c.entry.feed_id for c in copies} - {shown.feed_id})
    published = min(c.entry.published for c in copies)
    updated = max(c.entry.updated for c in copies)  # each is >= its own published
    others = {
        f: choose_shown_copy([c for c in copies if c.entry.feed_id == f], {}) for f in feed_ids
    }
    credit = {f: _partner(f, partners) for f in [shown.feed_id, *feed_ids]}
    tags = sorted({tag for partner in credit.values() for tag in partner.tags})
    return Story(
        story_id=story_id,
        kind=shown.kind,
        title=shown.title,
        link=shown.link,
        summary=shown.summary,
        content=shown.content,
        published=published,
        updated=updated,
        authors=shown.authors,
        categories=shown.categories,
        enclosures=shown.enclosures,
        thumbnail=shown.thumbnail,
        language=shown.language,
        source=credit[shown.feed_id],
        also_published_by=tuple(credit[f] for f in feed_ids),
        other_copies=tuple(Credit(credit[f], others[f].entry.link) for f in feed_ids),
        kind_rule=shown.kind_rule,
        event=shown.event,
        tags=tuple(tags),
    )


def _partner(feed_id: str, partners: Mapping[str, Partner]) -> Partner:
    # A feed removed from feeds.yaml keeps its stored stories; credit it by id.
    return partners.get(feed_id) or Partner(
        feed_id=feed_id, name=feed_id, feed_url="", site_url=None
    )


def cluster_entries(
    batches: Sequence[Sequence[Entry]],
    *,
    authority: str = "cluster.invalid",
    fetched_at: datetime | None = None,
) -> dict[FeedEntryKey, str]:
    """Cluster entries from scratch: the story id of every ``(feed id, entry key)``.

    Each batch is one fetch of one feed, taken in the order given, exactly as a pass
    applies feeds; this is what the labeled-data test and the clustering benchmark measure.
    """
    index = StoryIndex()
    result: dict[FeedEntryKey, str] = {}
    for batch in batches:
        when = fetched_at or max((e.published for e in batch), default=datetime(2026, 1, 1))
        assignments = assign_stories(batch, index, {}, authority=authority, fetched_at=when)
        index.record(assignments)
        for assignment in assignments:
            entry = assignment.entry
            result[(entry.feed_id, entry.entry_key)] = assignment.story_id
    return result
