"""Entries -> stories: story clustering, ids that never move. Pure functions over plain data.

How an entry finds its story (``assign_stories``), first rule that holds:

1. **same entry**: the feed's entry key is already stored;
2. **new guid**: a partner that regenerates GUIDs: an entry of the *same feed*, no longer
   listed by it, with the same canonical URL, or the same title and (nearly) the same text.
   The new entry takes the old one's place (``Assignment.replaces``) instead of piling up;
3. a copy carried by **another feed**, found without comparing every pair: candidates come
   from blocking on the canonical URL, on the cleaned title, and on the LSH bands of a
   MinHash of the text's lead (``similarity``); each candidate is then verified
   (``_url_or_titles``, ``_text_verdict``): **canonical url** (not a home page), or, for
   entries of the same kind whose titles carry the
   same numbers, **title** (same title words within ``TITLE_DAYS``, texts not
   contradicting), **title and text** (same title, same text, within ``LATE_COPY_DAYS``: a
   syndication copy days later) or **text** (close titles, same text, ``TEXT_DAYS``);
4. else a **new story**, whose id is minted here once and stored forever.

Entries of one feed only ever join by rules 1-2: a partner's two items are two stories in
the partner's own eyes, however alike ("Weekly digest", two notes on one topic). For the
same reason a story already holding an entry of a feed takes no other entry of that feed.

When an entry verifies against two stories, they were one all along: the newer is merged
into the older (``Assignment.merges``); the older keeps its id and the newer id becomes an
alias that is no longer published. Two stories that both hold entries of one feed are never
merged.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple, Protocol
from urllib.parse import urlsplit

from syndicator import similarity
from syndicator.model import Credit, Entry, Kind, Partner, StoredEntry, Story
from syndicator.normalize import sanitized_text

TITLE_DAYS = timedelta(days=3)
LATE_COPY_DAYS = timedelta(days=30)
TEXT_DAYS = timedelta(days=14)
MIN_TITLE_WORDS = 3  # "Weekly digest" says too little to match on
SPECIFIC_TITLE_WORDS = 6  # a title this long, word for word, is not a coincidence
MIN_LEAD_SHINGLES = 8  # fewer: too little text to confirm or contradict a title match
TITLE_TEXT_AGREES = 0.3  # lead containment that does not contradict a same-title match
# A long title in common, with texts sharing less than this (the names and figures two
# summaries of one story share): two stories, e.g. two partners' "... roundup for this week".
LONG_TITLE_TEXT_FLOOR = 0.05
TEXT_MATCHES = 0.6  # lead containment that says "the same text"
SAME_TEXT_IN_FEED = 0.9  # a GUID-churning partner's entry: nearly identical text
CLOSE_TITLES = 0.6  # title word Jaccard of a reworded title
# Newest entries kept per block. A URL or title block that big is a recurring title; a band
# block that big is boilerplate ("Register now for our webinar..."): a real copy shares many
# bands with its original and is usually days from it, so few per band are enough.
BLOCK_LIMIT = 64
BAND_BLOCK_LIMIT = 6

MatchRule = Literal[
    "same entry", "new guid", "canonical url", "title", "title and text", "text", "new story"
]
EntryChange = Literal["new", "changed", "unchanged"]

FeedEntryKey = tuple[str, str]  # (feed id, entry key)


class Previous(Protocol):
    """What ``entry_change`` needs of the stored version of an entry."""

    @property
    def published(self) -> datetime: ...
    @property
    def updated(self) -> datetime: ...
    @property
    def content_hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Decoded:
    """The parts of a signature the index keeps or looks up by."""

    title_words: tuple[int, ...]  # hashes, sorted, no repeats (as stored)
    title_numbers: tuple[int, ...]
    band_keys: list[int]  # of the MinHash's LSH bands; none without a MinHash

    @classmethod
    def of(cls, signature: bytes) -> Decoded:
        title_words, title_numbers = similarity.decode_title(signature)
        return cls(title_words, title_numbers, _band_keys(similarity.minhash_of(signature)))


class IndexedEntry(NamedTuple):
    """A stored (or just assigned) entry, as matching sees it.

    ``StoryIndex`` keeps it as a plain tuple of strings, numbers, bytes and dates, which the
    cyclic garbage collector stops tracking (it tracks every instance of a class, a named
    tuple's too): an index of 100,000 entries then adds nothing to a full collection.
    """

    ordinal: int  # its place in ``StoryIndex.rows``; -1 for an entry not in the index
    key: FeedEntryKey
    story_id: str  # as assigned; ``StoryIndex.story_of`` follows merges
    canonical_url: str | None
    title_key: str
    published: datetime
    updated: datetime
    kind: Kind
    content_hash: str
    signature: bytes  # as stored; its text lead decoded only when compared
    # Decoded once: the title is what rules most candidates out, and cheaply.
    title_words: tuple[int, ...]
    title_numbers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A candidate that holds: the rule, how strongly, and which stored copy it matched."""

    rule: MatchRule
    score: float
    via: FeedEntryKey
    # False: the title alone, with no text on one side to confirm it. Enough to join a
    # story, not to merge two (a copy without text agrees with every same-titled story).
    confirmed: bool = True


Block = tuple[int, ...]  # ordinals in StoryIndex.rows, oldest first
_Row = tuple[Any, ...]  # an IndexedEntry as a plain tuple
_STORY_ID = IndexedEntry._fields.index("story_id")
_KEY = IndexedEntry._fields.index("key")


@dataclass(slots=True)
class StoryIndex:
    """Every stored entry, shaped for matching. Built by ``store``, grown by ``record`` as
    each feed of a pass is applied, so later feeds match earlier ones.

    Entries are numbered in the order they are added (``rows``) and blocks are tuples of
    those numbers. An index of 100,000 entries has 1.2 million LSH band keys, nearly all
    held by one entry: a band maps to its newest entry only, and each entry's band points
    back to the previous holder (``earlier_with_band``), so adding an entry creates no
    object per band. The cyclic garbage collector re-scans every list, set and dict it
    tracks (tuples of ints and strings it stops tracking), and the cache misses of many
    small objects are what grew clustering faster than the number of entries.
    """

    entries: dict[FeedEntryKey, int] = field(default_factory=dict)  # -> its row
    rows: list[_Row | None] = field(default_factory=list)  # IndexedEntry tuples; None: removed
    # Per row, apart from it: most candidates are ruled out by feed or date alone, without
    # reading their row (scattered in memory) at all.
    feed_of: list[str] = field(default_factory=list)
    published_at: array[float] = field(default_factory=lambda: array("d"))  # POSIX seconds
    # The title's words as a 64-bit set (bit = hash % 64) and how many; its numbers' hash.
    title_bits: array[int] = field(default_factory=lambda: array("Q"))
    title_size: array[int] = field(default_factory=lambda: array("I"))
    numbers_key: array[int] = field(default_factory=lambda: array("q"))
    by_url: dict[str, Block] = field(default_factory=dict)
    by_title: dict[bytes, Block] = field(default_factory=dict)
    newest_with_band: dict[int, int] = field(default_factory=dict)  # band key -> row
    # [row * BANDS + band]: the previous row with that band key, or -1
    earlier_with_band: array[int] = field(default_factory=lambda: array("q"))
    entries_of_story: dict[str, tuple[FeedEntryKey, ...]] = field(default_factory=dict)
    # Order in which stories began (the store's insertion order, then this pass's): of two
    # stories found to be one, the older keeps its id. Seconds can tie; this cannot.
    created: dict[str, int] = field(default_factory=dict)
    merged_into: dict[str, str] = field(default_factory=dict)  # alias -> the story kept

    def story_of(self, key: FeedEntryKey) -> str | None:
        ordinal = self.entries.get(key)
        row = None if ordinal is None else self.rows[ordinal]
        return None if row is None else self.resolve(row[_STORY_ID])

    def entry(self, key: FeedEntryKey) -> IndexedEntry | None:
        ordinal = self.entries.get(key)
        return None if ordinal is None else self.row(ordinal)

    def row(self, ordinal: int) -> IndexedEntry | None:
        row = self.rows[ordinal]
        return None if row is None else IndexedEntry._make(row)

    def resolve(self, story_id: str) -> str:
        while story_id in self.merged_into:
            story_id = self.merged_into[story_id]
        return story_id

    def add(
        self, entry: Entry, story_id: str, decoded: Decoded | None = None, *, new: bool = False
    ) -> None:
        self.add_stored(
            (entry.feed_id, entry.entry_key),
            story_id,
            canonical_url=entry.canonical_url,
            title_key=entry.title_key,
            published=entry.published,
            updated=entry.updated,
            kind=entry.kind,
            content_hash=entry.content_hash,
            signature=entry.signature or signature_of(entry),
            decoded=decoded,
            new=new,
        )

    def add_stored(
        self,
        key: FeedEntryKey,
        story_id: str,
        *,
        canonical_url: str | None,
        title_key: str,
        published: datetime,
        updated: datetime,
        kind: Kind,
        content_hash: str,
        signature: bytes,
        decoded: Decoded | None = None,
        new: bool = False,
    ) -> None:
        """Index an entry. ``new``: the caller knows ``key`` is not indexed yet (an entry
        ``assign_stories`` did not find), which saves looking it up."""
        story_id = self.resolve(story_id)
        known = None if new else self.entry(key)
        if known is not None:
            # An entry seen again (every entry of a changed feed body is): what matching
            # looks it up by unchanged, its row is updated in place; else it is re-added, so
            # blocks and stories never hold it twice.
            same_story = self.resolve(known.story_id) == story_id
            if same_story and (known.signature, known.canonical_url, known.published) == (
                signature, canonical_url, published,
            ):  # fmt: skip
                row = known._replace(
                    title_key=title_key, updated=updated, kind=kind, content_hash=content_hash
                )
                self.rows[known.ordinal] = tuple(row)
                return
            self.remove(key)
        decoded = decoded or Decoded.of(signature)
        ordinal = len(self.rows)
        indexed = IndexedEntry(
            ordinal, key, story_id, canonical_url, title_key, published, updated, kind,
            content_hash, signature, decoded.title_words, decoded.title_numbers,
        )  # fmt: skip
        self.entries[key] = ordinal
        self.rows.append(tuple(indexed))
        self.feed_of.append(sys.intern(key[0]))
        self.published_at.append(published.timestamp())
        self.title_bits.append(_title_bits(decoded.title_words))
        self.title_size.append(len(decoded.title_words))
        self.numbers_key.append(hash(decoded.title_numbers))
        self.entries_of_story[story_id] = (*self.entries_of_story.get(story_id, ()), key)
        self.began(story_id)
        if canonical_url and _is_specific_url(canonical_url):
            _append(self.by_url, canonical_url, ordinal, BLOCK_LIMIT)
        title_block = similarity.title_block(signature, MIN_TITLE_WORDS)
        if title_block is not None:
            _append(self.by_title, title_block, ordinal, BLOCK_LIMIT)
        self._add_bands(ordinal, decoded.band_keys)

    def _add_bands(self, ordinal: int, band_keys: Sequence[int]) -> None:
        earlier = self.earlier_with_band
        if not band_keys:
            earlier.extend(_NO_BANDS)
            return
        newest = self.newest_with_band
        for band_key in band_keys:
            before = newest.setdefault(band_key, ordinal)  # one dict operation for a new key
            if before == ordinal:
                earlier.append(-1)
            else:
                earlier.append(before)
                newest[band_key] = ordinal

    def remove(self, key: FeedEntryKey) -> None:
        """Forget an entry (replaced by its new-guid self); blocks skip removed rows."""
        ordinal = self.entries.pop(key, None)
        gone = None if ordinal is None else self.rows[ordinal]
        if ordinal is not None and gone is not None:
            self.rows[ordinal] = None
            story_id = self.resolve(gone[_STORY_ID])
            kept = tuple(k for k in self.entries_of_story.get(story_id, ()) if k != key)
            self.entries_of_story[story_id] = kept

    def merge(self, alias: str, kept: str) -> None:
        alias, kept = self.resolve(alias), self.resolve(kept)
        if alias == kept:
            return
        self.merged_into[alias] = kept
        moved = self.entries_of_story.pop(alias, ())
        self.entries_of_story[kept] = (*self.entries_of_story.get(kept, ()), *moved)
        if alias in self.created:
            began = self.created.pop(alias)
            self.created[kept] = min(began, self.created.get(kept, began))

    def began(self, story_id: str) -> None:
        """Note that ``story_id`` exists, after every story noted before it."""
        self.created.setdefault(story_id, len(self.created) + len(self.merged_into))

    def record(self, assignments: Iterable[Assignment]) -> None:
        for assignment in assignments:
            if assignment.replaces is not None:
                self.remove(assignment.replaces)
            for alias in assignment.merges:
                self.merge(alias, assignment.story_id)
            # Only "same entry" is an entry the index holds (a fetch's keys are distinct).
            new = assignment.rule != "same entry"
            self.add(assignment.entry, assignment.story_id, assignment.decoded, new=new)

    def feeds_of_story(self, story_id: str) -> set[str]:
        return {key[0] for key in self.entries_of_story.get(story_id, ())}

    def story_has_feed(self, story_id: str, feed_id: str) -> bool:
        return any(key[0] == feed_id for key in self.entries_of_story.get(story_id, ()))

    def candidates(self, probe: IndexedEntry, band_keys: Sequence[int]) -> Candidates:
        """Stored entries that may be the same story as ``probe``: same URL, title or text
        lead band (``band_keys``).

        Those of the probe's feed are all kept (the new-guid rule has no date window). Those
        of other feeds are screened with what ``_url_or_titles`` tests first, from arrays,
        without reading their rows (most candidates of a busy day fail here): too far apart
        in time, other title numbers, or too few title words in common for any title rule
        (a Jaccard of 0.5) - unless they have the same URL.
        """
        # feed_of holds interned ids, so ``is`` compares them (most rows: another feed)
        feed_id, feed_of, published_at = sys.intern(probe.key[0]), self.feed_of, self.published_at
        when, window = probe.published.timestamp(), LATE_COPY_DAYS.total_seconds()
        earliest, latest = when - window, when + window
        url = probe.canonical_url
        same_url: Block = self.by_url.get(url, ()) if url else ()
        found = dict.fromkeys(same_url)  # each row once, in the order first found
        title_block = similarity.title_block(probe.signature, MIN_TITLE_WORDS)
        if title_block is not None:
            found.update(dict.fromkeys(self.by_title.get(title_block, ())))
        newest, earlier, bands = self.newest_with_band, self.earlier_with_band, similarity.BANDS
        for band, band_key in enumerate(band_keys):
            row = newest.get(band_key, -1)
            for _ in range(BAND_BLOCK_LIMIT):  # the newest rows with the band, newest first
                if row == -1:
                    break
                # In a big index most are another feed's, months away: not even noted.
                if feed_of[row] is feed_id or earliest <= published_at[row] <= latest:
                    found[row] = None
                row = earlier[row * bands + band]
        numbers, words = hash(probe.title_numbers), len(probe.title_words)
        bits = _title_bits(probe.title_words)
        collisions = words - bits.bit_count()  # words sharing a bit with another
        same_feed: list[int] = []
        others: list[int] = []
        for row in found:
            if feed_of[row] is feed_id:
                same_feed.append(row)
                continue
            if row not in same_url:
                if not earliest <= published_at[row] <= latest:
                    continue
                if self.numbers_key[row] != numbers:
                    continue
                size, its_bits = self.title_size[row], self.title_bits[row]
                shared = (bits & its_bits).bit_count() + min(
                    collisions, size - its_bits.bit_count()
                )
                if 3 * shared < size + words:  # shared: at most so many words in common
                    continue
            others.append(row)
        return Candidates(same_feed, others, same_url)


@dataclass(frozen=True, slots=True)
class Candidates:
    """What ``StoryIndex.candidates`` found: rows (removed ones included) of the entry's
    feed and of other feeds, and the rows of the URL block (the same URL, dated any time)."""

    same_feed: list[int]
    others: list[int]
    same_url: Block


def _title_bits(words: Iterable[int]) -> int:
    """A title's word hashes as a 64-bit set: two titles sharing s words share at least
    s - (collisions within either) bits, so few shared bits rule a pair out."""
    bits = 0
    for word in words:
        bits |= 1 << (word & 63)
    return bits


def _band_keys(minhash: bytes) -> list[int]:
    # Keys live in one process's memory only, so its salted hash() of each band's rows will
    # do; "+ band" keeps equal rows in two bands apart.
    return [hash(rows) + band for band, rows in enumerate(similarity.band_rows(minhash))]


_NO_BANDS = array("q", [-1] * similarity.BANDS)


def _append(blocks: dict[Any, Block], block_key: Any, ordinal: int, limit: int) -> None:
    block = blocks.get(block_key, ())
    if len(block) >= limit:
        block = block[len(block) - limit + 1 :]
    blocks[block_key] = (*block, ordinal)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Entry ``entry`` belongs to story ``story_id``, found by ``rule``."""

    entry: Entry
    story_id: str
    rule: MatchRule
    change: EntryChange
    score: float | None = None  # how strongly the rule held (1.0 for exact rules)
    matched_with: str | None = None  # "feed id entry key" of the stored copy it matched
    replaces: FeedEntryKey | None = None  # new guid: the stored entry this one takes over
    merges: tuple[str, ...] = ()  # stories found to be this one: their ids become aliases
    # For each of ``merges``: the rule and score by which this entry matched that story.
    merged_by: tuple[tuple[MatchRule, float], ...] = ()
    # What matching decoded of the entry's signature, so recording it does not decode again.
    decoded: Decoded | None = field(default=None, compare=False, repr=False)

    @property
    def new_story(self) -> bool:
        return self.rule == "new story"


def _is_specific_url(canonical: str) -> bool:
    # A link to a partner's home page says nothing about which story it is. Canonical URLs
    # are "https://host/path?query" without a trailing slash (normalize.canonical_url).
    rest = canonical.partition("://")[2]
    slash, query = rest.find("/"), rest.find("?")
    return slash != -1 and (query == -1 or slash < query)


def signature_of(entry: Entry) -> bytes:
    """The clustering signature of a normalized entry (``similarity.signature_of``)."""
    # Both texts: one partner's summary may be the other's only text, or its first lines.
    texts = [entry.content, entry.summary] if entry.content else [entry.summary]
    return similarity.signature_of(entry.title, *(_lead_text(text) for text in texts))


def signed(entries: Iterable[Entry]) -> list[Entry]:
    """``entries`` with their signature computed (where normalize runs: worker processes)."""
    return [e if e.signature else replace(e, signature=signature_of(e)) for e in entries]


def _lead_text(sanitized_html: str) -> str:
    # Only the lead is compared: the start of a long text is enough, cut before a tag the
    # slice may have split.
    head = sanitized_html[:8000]
    cut = head.rfind("<")
    if cut > head.rfind(">"):
        head = head[:cut]
    return sanitized_text(head)


def mint_story_id(
    authority: str,
    entry: Entry,
    first_seen: datetime,
    taken: Callable[[str], bool] = lambda _: False,
) -> str:
    """A ``tag:`` URI (RFC 4151) for a new story, derived from the entry that started it.

    Computed once and stored; never recomputed, so later changes to the entry, the partner's
    GUIDs or which copy is shown cannot move it. An id already ``taken`` (a GUID given to
    another item the same day, its first item having moved on under a key of its own) is
    derived again with the item's page (or title) and a counter.
    """
    seed = f"{entry.feed_id}\x00{entry.entry_key}"
    page = entry.canonical_url or entry.title_key
    for attempt in itertools.count():
        if attempt:
            seed = f"{entry.feed_id}\x00{entry.entry_key}\x00{page}\x00{attempt}"
        digest = hashlib.sha256(seed.encode()).hexdigest()[:20]
        story_id = f"tag:{authority},{first_seen:%Y-%m-%d}:{entry.feed_id}/{digest}"
        if not taken(story_id):
            return story_id
    raise AssertionError("unreachable: itertools.count() does not end")


def entry_change(
    old: StoredEntry | Previous | None, new: Entry, fetched_at: datetime
) -> tuple[Entry, EntryChange]:
    """Compare a fetched entry with the stored one; return the entry to store and the verdict.

    An entry keeps the earliest ``published`` it had: a date we had to guess (missing or in
    the future) keeps the first guess, so an undated entry does not climb back to the top on
    every fetch, and a partner that re-dates an edit, or stamps every build's time, does not
    move the story to the top either (an update is shown by ``updated``). Changed text
    without a newer partner ``updated`` date is stamped with the fetch time so readers see
    the update. An unchanged entry keeps its stored link: partners that rotate tracking
    parameters or flip http/https, ``www.`` or a trailing slash have changed nothing, and
    the published files stay as they were.
    """
    if old is None:
        return new, "new"
    stored = old.entry if isinstance(old, StoredEntry) else old
    published = stored.published if new.published_is_guess else min(new.published, stored.published)
    if new.content_hash == stored.content_hash or _same_but_link_form(stored, new):
        kept = replace(new, published=published, updated=max(stored.updated, published))
        if isinstance(stored, Entry):
            kept = replace(
                kept,
                link=stored.link,
                canonical_url=stored.canonical_url,
                content_hash=stored.content_hash,
            )
        return kept, "unchanged"
    updated = new.updated if new.updated > stored.updated else fetched_at
    return replace(new, published=published, updated=max(updated, published)), "changed"


def _same_but_link_form(old: Entry | Previous, new: Entry) -> bool:
    """Whether ``new`` is ``old`` with its link written another way (http/https, ``www.``,
    a trailing slash: the same canonical URL)."""
    return (
        isinstance(old, Entry)
        and old.canonical_url is not None
        and old.canonical_url == new.canonical_url
        and (old.title, old.summary, old.content, old.enclosures)
        == (new.title, new.summary, new.content, new.enclosures)
    )


def _items_of_one_page(a: str | None, b: str | None) -> bool:
    """Whether two canonical URLs are one page with different queries (``board.php?id=12``
    and ``?id=13``; tracking parameters are already gone): the site says they are two items,
    whatever their titles."""
    if not a or not b or a == b:
        return False
    return a.partition("?")[0] == b.partition("?")[0]


class _Titles(NamedTuple):
    """How the titles of two entries compare, when they do not rule the pair out."""

    jaccard: float  # of their words
    same: bool  # one's words are all in the other's, most of them shared
    shortest: int  # words of the shorter title


def _url_or_titles(
    new: IndexedEntry, old: IndexedEntry, *, same_url: bool
) -> Verdict | _Titles | None:
    """Whether stored ``old`` (of another feed) may be a copy of the story of ``new``, by
    the cheap tests: a canonical-url verdict, or how the titles compare when they do not
    rule ``old`` out (``_text_verdict`` then decides), or None. ``same_url``: ``old`` came
    from the URL block (the same canonical URL, not a home page)."""
    if not same_url and abs(new.published - old.published) > LATE_COPY_DAYS:
        return None
    if _items_of_one_page(new.canonical_url, old.canonical_url):
        return None
    # One page for a series ("/webinars") is not one story: its episodes' numbers differ.
    numbers_agree = new.title_numbers == old.title_numbers
    if same_url:
        both = new.title_numbers and old.title_numbers
        return Verdict("canonical url", 1.0, old.key) if numbers_agree or not both else None
    if not numbers_agree:
        return None
    words, old_words = new.title_words, old.title_words
    shortest = min(len(words), len(old_words))
    shared = len(set(words).intersection(old_words))  # both without repeats
    union = len(words) + len(old_words) - shared
    jaccard = shared / union if union else 0.0
    same_title = shortest >= MIN_TITLE_WORDS and shared == shortest and jaccard >= 0.5
    if not same_title and (shortest < MIN_TITLE_WORDS or jaccard < CLOSE_TITLES):
        return None
    return _Titles(jaccard, same_title, shortest)


def _lead_containment(a: frozenset[int], b: frozenset[int]) -> float | None:
    """How much of the shorter text lead is in the other; None when either is too short to
    confirm or contradict anything."""
    if min(len(a), len(b)) < MIN_LEAD_SHINGLES:
        return None
    return similarity.containment(a, b)


def _text_verdict(
    new: IndexedEntry, old: IndexedEntry, titles: _Titles, text: float | None
) -> Verdict | None:
    """Whether ``old`` is a copy of the story of ``new``, whose titles agree (``titles``):
    the texts' leads decide (``text``: their ``_lead_containment``)."""
    same_kind = new.kind == old.kind
    apart = abs(new.published - old.published)
    # A long title, word for word, the same days, is one story even when each partner
    # wrote its own summary, unless the texts share nothing (a recurring column's title);
    # a short one ("Smart cities news roundup") needs the text to agree.
    text_agrees = (
        text is None
        or text >= TITLE_TEXT_AGREES
        or (titles.shortest >= SPECIFIC_TITLE_WORDS and text >= LONG_TITLE_TEXT_FLOOR)
    )
    if same_kind and titles.same and apart <= TITLE_DAYS and text_agrees:
        score = titles.jaccard if text is None else (titles.jaccard + text) / 2
        return Verdict("title", round(score, 3), old.key, confirmed=text is not None)
    if text is None or text < TEXT_MATCHES:
        return None
    score = round((titles.jaccard + text) / 2, 3)
    # Kinds may differ: a feed's kind is a default (a think tank's feed carrying a press
    # release); the same title and the same text say more.
    if titles.same:
        return Verdict("title and text", score, old.key)
    if same_kind and apart <= TEXT_DAYS:
        return Verdict("text", score, old.key)
    return None


def _same_item_new_guid(new: IndexedEntry, old: IndexedEntry) -> Verdict | None:
    """Whether ``old``, of the same feed and no longer listed, is ``new`` under a new GUID.

    The same link with a like title (a partner may fix a typo as it churns GUIDs), or the
    same title and text; without links on either, a like title and most of the text. A new
    item on an old item's page ("/webinars") is not the old item.
    """
    a, b = similarity.decode(new.signature), similarity.decode(old.signature)
    if not _numbers_agree(a, b):
        return None
    text = _lead_containment(a.lead, b.lead)
    same_title = new.title_key == old.title_key
    if new.canonical_url and new.canonical_url == old.canonical_url:
        like_title = same_title or similarity.jaccard(a.title_words, b.title_words) >= 0.5
        if like_title or (text is not None and text >= TEXT_MATCHES):
            return Verdict("new guid", 1.0, old.key)
        return None
    if not (new.canonical_url or old.canonical_url) and text is not None:
        # Neither has a link: its key is a hash of its title and text, which any edit
        # changes. A like title over most of the same text is the item edited.
        like_title = same_title or similarity.jaccard(a.title_words, b.title_words) >= 0.5
        if like_title and text >= TEXT_MATCHES:
            return Verdict("new guid", round(text, 3), old.key)
    if not same_title or len(new.title_key) < 8:
        return None
    if new.content_hash == old.content_hash:
        return Verdict("new guid", 1.0, old.key)
    if text is not None and text >= SAME_TEXT_IN_FEED:
        return Verdict("new guid", round(text, 3), old.key)
    return None


def _numbers_agree(a: similarity.Signature, b: similarity.Signature) -> bool:
    return not (a.title_numbers and b.title_numbers) or a.title_numbers == b.title_numbers


def assign_stories(
    entries: Sequence[Entry],
    index: StoryIndex,
    stored: Mapping[FeedEntryKey, StoredEntry],
    *,
    authority: str,
    fetched_at: datetime,
) -> list[Assignment]:
    """Decide the story of every entry of one feed's fetch. ``index`` is not modified.

    ``stored`` holds the stored versions of these entries (same feed id and entry key);
    entries missing from it are compared with the index's record.
    """
    listed: list[tuple[Entry, IndexedEntry | None]] = []  # each entry, its indexed self
    listed_urls = {e.canonical_url for e in entries if e.canonical_url}
    for listed_entry in entries:
        signed = listed_entry if listed_entry.signature else _with_signature(listed_entry)
        indexed = index.entry((signed.feed_id, signed.entry_key))
        entry = _own_key_if_reused(signed, indexed, listed_urls, index)
        if entry is not signed:
            indexed = index.entry((entry.feed_id, entry.entry_key))
        listed.append((entry, indexed))
    listed_keys = {(e.feed_id, e.entry_key) for e, _ in listed}
    fetch = _Fetch(index, stored, listed_keys, authority, fetched_at)
    assignments: list[Assignment] = []
    for entry, indexed in listed:
        if indexed is not None:
            previous = stored.get((entry.feed_id, entry.entry_key)) or indexed
            kept, change = entry_change(previous, entry, fetched_at)
            story_id = index.resolve(indexed.story_id)
            assignment = Assignment(kept, story_id, "same entry", change, 1.0)
        else:
            assignment = fetch.assign_new_key(entry)
        fetch.taken.add(assignment.story_id)
        assignments.append(assignment)
    return assignments


def _with_signature(entry: Entry) -> Entry:
    return replace(entry, signature=signature_of(entry))


def _own_key_if_reused(
    entry: Entry, old: IndexedEntry | None, listed_urls: set[str], index: StoryIndex
) -> Entry:
    """``entry`` under a key of its own when its GUID names another item, ``old``.

    Partners that number items by their place in the feed give "guid 1" to each new item:
    as the same entry, the new item took the old one's story (and id) and the old item took
    the next one's. Another page, another title and texts with nothing in common (a post
    whose headline and slug were rewritten keeps its text) is another item, and so is one
    without text to compare when the pages moved along the GUIDs (``_pages_moved_along``).
    Its key then adds its canonical URL (as ``normalize`` tells apart items sharing a
    GUID), and the old items, no longer listed under their GUIDs, come back by the new-guid
    rule.
    """
    if old is None or not entry.canonical_url or not old.canonical_url:
        return entry
    if old.canonical_url == entry.canonical_url:
        return entry
    a, b = similarity.decode(entry.signature), similarity.decode(old.signature)
    if similarity.jaccard(a.title_words, b.title_words) >= CLOSE_TITLES / 2:
        return entry  # a moved page with a reworded title is still the partner's item
    text = _lead_containment(a.lead, b.lead)
    if text is not None:
        if text >= TITLE_TEXT_AGREES:
            return entry
    elif not _pages_moved_along(entry, old, listed_urls, index):
        # Too little text to tell (a listing of titles and links): the GUID says it is the
        # same item, as when a placeholder ("Webinar: TBA", /webinars/tba) gets its title
        # and page.
        return entry
    return replace(entry, entry_key=f"{entry.entry_key} | link: {entry.canonical_url}")


def _pages_moved_along(
    entry: Entry, old: IndexedEntry, listed_urls: set[str], index: StoryIndex
) -> bool:
    """Whether the pages moved from GUID to GUID: the page the GUID named is still listed
    (under another GUID), or the page it names now was stored under another GUID of the
    feed (the oldest item falls off a feed numbered by place: its GUID names the next)."""
    if not (old.canonical_url and entry.canonical_url):
        return False
    if _is_specific_url(old.canonical_url) and old.canonical_url in listed_urls:
        return True
    return any(
        row is not None and row[_KEY][0] == entry.feed_id and row[_KEY] != old.key
        for row in map(index.rows.__getitem__, index.by_url.get(entry.canonical_url, ()))
    )


@dataclass(slots=True)
class _Fetch:
    """One feed's fetch being assigned: what its entries may and may not join."""

    index: StoryIndex
    stored: Mapping[FeedEntryKey, StoredEntry]  # the stored versions of this feed's entries
    unavailable: set[FeedEntryKey]  # this feed's entries listed now, or already replaced
    authority: str
    fetched_at: datetime
    taken: set[str] = field(default_factory=set)  # stories given an entry of this fetch

    def assign_new_key(self, entry: Entry) -> Assignment:
        decoded = Decoded.of(entry.signature)
        probe = _indexed(entry, "", decoded)
        candidates = self.index.candidates(probe, decoded.band_keys)
        renamed = self._same_item_new_guid(entry, probe, candidates)
        if renamed is not None:
            return replace(renamed, decoded=decoded)
        best = self._verified_stories(probe, candidates)
        if not best:
            story_id = mint_story_id(self.authority, entry, self.fetched_at, self._taken_id)
            return Assignment(entry, story_id, "new story", "new", decoded=decoded)
        kept, merges = _merge_plan(best, self.index)
        verdict = best[kept]
        return Assignment(
            entry, kept, verdict.rule, "new", verdict.score, _via(verdict),
            merges=merges, merged_by=tuple((best[m].rule, best[m].score) for m in merges),
            decoded=decoded,
        )  # fmt: skip

    def _taken_id(self, story_id: str) -> bool:
        index = self.index
        return story_id in index.created or story_id in index.merged_into or story_id in self.taken

    def _same_item_new_guid(
        self, entry: Entry, probe: IndexedEntry, candidates: Candidates
    ) -> Assignment | None:
        for row in candidates.same_feed:
            old = self.index.row(row)
            if old is None or old.key in self.unavailable:
                continue
            key = old.key
            story_id = self.index.resolve(old.story_id)
            verdict = _same_item_new_guid(probe, old)
            if verdict is None or story_id in self.taken:
                continue
            self.unavailable.add(key)
            # The stored version has the link members were given (the index has not).
            kept, change = entry_change(self.stored.get(key) or old, entry, self.fetched_at)
            return Assignment(
                kept, story_id, "new guid", change, verdict.score, _via(verdict),
                replaces=key,
            )  # fmt: skip
        return None

    def _verified_stories(self, probe: IndexedEntry, candidates: Candidates) -> dict[str, Verdict]:
        """The best verdict for each story a candidate of another feed belongs to."""
        feed_id, index = probe.key[0], self.index
        decoded: similarity.Signature | None = None
        best: dict[str, Verdict] = {}
        contradicted: set[str] = set()  # a copy's title agrees, its text says otherwise
        for row in candidates.others:
            old = index.row(row)
            same_url = row in candidates.same_url
            found = None if old is None else _url_or_titles(probe, old, same_url=same_url)
            if old is None or found is None:
                continue
            story_id = self.index.resolve(old.story_id)
            if story_id in self.taken or self.index.story_has_feed(story_id, feed_id):
                continue
            if isinstance(found, Verdict):
                verdict: Verdict | None = found
            else:  # the texts decide; the new entry's lead is decoded once, if ever
                decoded = decoded or similarity.decode(probe.signature)
                text = _lead_containment(decoded.lead, similarity.decode(old.signature).lead)
                verdict = _text_verdict(probe, old, found, text)
                if verdict is None and text is not None and text < TITLE_TEXT_AGREES:
                    contradicted.add(story_id)
            if verdict is not None and (
                story_id not in best or verdict.score > best[story_id].score
            ):
                best[story_id] = verdict
        # A title alone (a copy without text) is no match for a story whose copies with
        # text disagree with this entry's: joined through the bare copy, the story would
        # gather stories their texts keep apart.
        return {s: v for s, v in best.items() if v.confirmed or s not in contradicted}


def _merge_plan(best: Mapping[str, Verdict], index: StoryIndex) -> tuple[str, tuple[str, ...]]:
    """The story the entry joins and the stories merged into it.

    Stories are taken confirmed verdicts first, then best first; each joins the group
    unless it shares a feed with it (a partner's two items stay two stories) or its verdict
    is not ``confirmed``. The oldest story of the group keeps its id.
    """
    ranked = sorted(best, key=lambda s: (not best[s].confirmed, -best[s].score, s))
    group = [ranked[0]]
    feeds = set(index.feeds_of_story(ranked[0]))
    for story_id in ranked[1:]:
        story_feeds = index.feeds_of_story(story_id)
        if best[story_id].confirmed and feeds.isdisjoint(story_feeds):
            group.append(story_id)
            feeds |= story_feeds
    kept = min(group, key=lambda s: (index.created.get(s, len(index.created)), s))
    return kept, tuple(sorted(s for s in group if s != kept))


def _via(verdict: Verdict) -> str:
    return f"{verdict.via[0]} {verdict.via[1]}"


def _indexed(entry: Entry, story_id: str, decoded: Decoded) -> IndexedEntry:
    return IndexedEntry(
        -1, (entry.feed_id, entry.entry_key), story_id, entry.canonical_url, entry.title_key,
        entry.published, entry.updated, entry.kind, entry.content_hash,
        entry.signature, decoded.title_words, decoded.title_numbers,
    )  # fmt: skip


def choose_shown_copy(copies: Sequence[StoredEntry], priorities: Mapping[str, int]) -> StoredEntry:
    """The copy of a story that members see.

    Highest feed ``priority`` first, then the most complete copy (``completeness``: a full
    text beats an excerpt), then the partner that carried the story first (in one pass: the
    partner whose entry started the story), then the feed id, so the choice is stable.
    Within one feed the most recently seen entry wins: a partner that changed the entry's
    GUID still shows its latest text.
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
        key=lambda f: (
            -priorities.get(f, 0),
            -completeness(latest_by_feed[f].entry),
            first_seen_by_feed[f],
            f != starter,
            f,
        ),
    )
    return latest_by_feed[feed_id]


def completeness(entry: Entry) -> int:
    """How much of a story a copy gives members, in coarse steps so small edits don't flip
    the shown copy: any text, its text in steps of 500 characters (up to 10), full text, a
    link, files."""
    text = entry.content or entry.summary
    return (
        bool(text.strip())  # some text beats none, however short
        + min(len(text) // 500, 10)
        + bool(entry.content)
        + bool(entry.link)
        + bool(entry.enclosures)
        + bool(entry.thumbnail)
    )


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
        title=_without_own_name(shown.title, credit[shown.feed_id]),
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
        other_copies=tuple(
            Credit(credit[f], _other_page(others[f].entry, shown)) for f in feed_ids
        ),
        kind_rule=shown.kind_rule,
        event=shown.event,
        tags=tuple(tags),
        shown_copy=shown.feed_id,
    )


_NAME_BEHIND = re.compile(r"\s+(?:\||-|–|—|::|»)\s+([^|]+?)\s*$")  # noqa: RUF001


def _without_own_name(title: str, partner: Partner) -> str:
    """``title`` without its partner's name behind it (" | SmartCitiesWorld", " - WeGO"):
    the credit names the partner, and in a merged feed of many partners the suffix is
    noise. Only the partner's own name, site or feed host goes; other subtitles stay."""
    behind = _NAME_BEHIND.search(title)
    if behind is None:
        return title
    named = _letters(behind.group(1))
    first_word = partner.name.split()[0] if partner.name.split() else ""
    own = {_letters(partner.name), _letters(first_word) if len(first_word) >= 4 else ""}
    for url in (partner.site_url, partner.feed_url):
        host = ((urlsplit(url).hostname or "") if url else "").removeprefix("www.")
        own |= {_letters(host), _letters(host.rsplit(".", 1)[0])}
    return title[: behind.start()] if named and named in own else title


def _letters(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def _other_page(copy: Entry, shown: Entry) -> str | None:
    """The link to another partner's copy, unless it is the shown copy's page under another
    address (tracking parameters, http, ``www.``): a credit then names the partner only."""
    if copy.canonical_url is not None and copy.canonical_url == shown.canonical_url:
        return None
    return copy.link


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
    Story ids follow merges: an entry of a story merged later gets the id that was kept.
    """
    index = StoryIndex()
    replaced: dict[FeedEntryKey, str] = {}  # keys a new guid took over: no longer indexed
    for batch in batches:
        when = fetched_at or max(
            (e.published for e in batch), default=datetime(2026, 1, 1, tzinfo=UTC)
        )
        assignments = assign_stories(batch, index, {}, authority=authority, fetched_at=when)
        replaced.update((a.replaces, a.story_id) for a in assignments if a.replaces is not None)
        index.record(assignments)
    stories = {key: index.resolve(story_id) for key, story_id in replaced.items()}
    for key, row in index.entries.items():  # every other key given, in the order indexed
        indexed = index.rows[row]
        assert indexed is not None  # the rows of indexed keys are never removed
        stories[key] = index.resolve(indexed[_STORY_ID])
    return stories
