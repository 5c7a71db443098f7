"""SQLite storage: feed states, entries and stories. The only module that speaks SQL.

WAL mode, a schema version (``PRAGMA user_version``) with forward migrations, and one
transaction per feed update, so a crash leaves either the old or the new state of a feed.
Nothing here decides anything: dedupe decides, this module applies.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syndicator.dedupe import Assignment, FeedEntryKey, StoryIndex
from syndicator.model import KINDS, Enclosure, Entry, Event, FeedState, Kind, StoredEntry

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE feeds (
        feed_id TEXT PRIMARY KEY,
        url TEXT NOT NULL DEFAULT '',
        title TEXT,
        site_url TEXT,
        format TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_attempt TEXT,
        last_success TEXT,
        http_status INTEGER,
        entry_count INTEGER NOT NULL DEFAULT 0,
        consecutive_errors INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_outcome TEXT,
        warning TEXT
    );
    CREATE TABLE stories (
        story_id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        published TEXT NOT NULL,
        updated TEXT NOT NULL
    );
    CREATE INDEX stories_by_kind ON stories (kind, published DESC);
    CREATE INDEX stories_by_published ON stories (published DESC);
    CREATE TABLE entries (
        feed_id TEXT NOT NULL,
        entry_key TEXT NOT NULL,
        story_id TEXT NOT NULL REFERENCES stories (story_id),
        match_rule TEXT NOT NULL,
        guid TEXT,
        link TEXT,
        canonical_url TEXT,
        title TEXT NOT NULL,
        title_key TEXT NOT NULL,
        summary TEXT NOT NULL,
        content TEXT NOT NULL,
        published TEXT NOT NULL,
        updated TEXT NOT NULL,
        authors TEXT NOT NULL,
        categories TEXT NOT NULL,
        enclosures TEXT NOT NULL,
        thumbnail TEXT,
        language TEXT,
        kind TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        published_is_guess INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (feed_id, entry_key)
    );
    CREATE INDEX entries_by_story ON entries (story_id);
    """,
    # 2: what the partner asked about polling, for the service's schedule (schedule.py)
    """
    ALTER TABLE feeds ADD COLUMN ttl_minutes INTEGER;
    ALTER TABLE feeds ADD COLUMN partner_delay REAL
    """,
    # 3: story clustering (how each entry was matched, aliases of merged stories),
    # content kinds (which rule decided) and webinar times
    """
    ALTER TABLE entries ADD COLUMN match_score REAL;
    ALTER TABLE entries ADD COLUMN matched_with TEXT;
    ALTER TABLE entries ADD COLUMN signature BLOB;
    ALTER TABLE entries ADD COLUMN kind_rule TEXT NOT NULL DEFAULT 'feed kind';
    ALTER TABLE entries ADD COLUMN event_start TEXT;
    ALTER TABLE entries ADD COLUMN event_end TEXT;
    ALTER TABLE entries ADD COLUMN event_timezone TEXT;
    ALTER TABLE entries ADD COLUMN event_source TEXT;
    ALTER TABLE stories ADD COLUMN event_start TEXT;
    CREATE INDEX stories_by_event ON stories (kind, event_start);
    CREATE TABLE story_aliases (
        alias_id TEXT PRIMARY KEY,
        story_id TEXT NOT NULL REFERENCES stories (story_id),
        merged_at TEXT NOT NULL,
        rule TEXT NOT NULL,
        score REAL,
        via TEXT
    );
    CREATE INDEX aliases_by_story ON story_aliases (story_id)
    """,
    # 4: which copy of each story was published, and since when (a change moves `updated`)
    """
    ALTER TABLE stories ADD COLUMN shown_copy TEXT;
    ALTER TABLE stories ADD COLUMN shown_since TEXT
    """,
)

_ENTRY_COLUMNS = (
    "feed_id, entry_key, story_id, match_rule, guid, link, canonical_url, title, title_key, "
    "summary, content, published, updated, authors, categories, enclosures, thumbnail, "
    "language, kind, content_hash, published_is_guess, first_seen, last_seen, "
    "match_score, matched_with, signature, kind_rule, event_start, event_end, "
    "event_timezone, event_source"
)
_FEED_COLUMNS = tuple(f.name for f in fields(FeedState))


_INSERT_STORY = (
    "INSERT OR IGNORE INTO stories (story_id, created_at, kind, published, updated, event_start) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
# first_seen and story_id (with the rule that found it) never change once stored.
_UPSERT_ENTRY = (
    f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES ({', '.join('?' * 31)}) "
    "ON CONFLICT (feed_id, entry_key) DO UPDATE SET "
    "guid=excluded.guid, link=excluded.link, canonical_url=excluded.canonical_url, "
    "title=excluded.title, title_key=excluded.title_key, summary=excluded.summary, "
    "content=excluded.content, published=excluded.published, updated=excluded.updated, "
    "authors=excluded.authors, categories=excluded.categories, "
    "enclosures=excluded.enclosures, thumbnail=excluded.thumbnail, "
    "language=excluded.language, kind=excluded.kind, "
    "content_hash=excluded.content_hash, "
    "published_is_guess=excluded.published_is_guess, last_seen=excluded.last_seen, "
    "signature=excluded.signature, kind_rule=excluded.kind_rule, "
    "event_start=excluded.event_start, event_end=excluded.event_end, "
    "event_timezone=excluded.event_timezone, event_source=excluded.event_source"
)
_REFRESH_STORY = (
    "UPDATE stories SET "
    "published = (SELECT MIN(published) FROM entries WHERE story_id = ?1), "
    "updated = (SELECT MAX(updated) FROM entries WHERE story_id = ?1) "
    "WHERE story_id = ?1"
)
# json.dumps(..., ensure_ascii=False) builds a new encoder on every call.
_TEXT_JSON = json.JSONEncoder(ensure_ascii=False)


class StoreError(Exception):
    """The database cannot be opened or used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """Everything one fetch of one feed changes, applied in one transaction."""

    state: FeedState
    assignments: Sequence[Assignment] = ()
    seen_at: datetime | None = None  # fetch time: first_seen / last_seen of the entries


@dataclass(frozen=True, slots=True)
class StoryRow:
    story_id: str
    created_at: datetime
    kind: str
    published: datetime
    updated: datetime


@dataclass(frozen=True, slots=True)
class EntryMatch:
    """How an entry joined its story (``dedupe.Assignment``, as stored)."""

    rule: str
    score: float | None
    matched_with: str | None  # "feed id entry key"


@dataclass(frozen=True, slots=True)
class AliasRow:
    """A story found to be another: ``alias_id`` is no longer published, ``story_id`` is."""

    alias_id: str
    story_id: str
    merged_at: datetime
    rule: str
    score: float | None
    via: str | None  # "feed id entry key" of the entry that showed they were one


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _required_dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Store:
    """An open syndicator database. Use as a context manager, or call ``close``."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open (create, upgrade) the database at ``path``. Without ``create`` (status, serve)
        a database that does not exist yet is not created: it reads as an empty one, made in
        memory. (A read-only connection is no answer: on a WAL database it leaves -wal and
        -shm files behind, which a root ``status`` would leave root-owned.)"""
        self.path = path
        try:
            if not create and not path.exists():
                self._db = sqlite3.connect(":memory:", isolation_level=None)
                self._migrate()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                # isolation_level=None: we open transactions ourselves, one per feed update.
                self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("PRAGMA foreign_keys=ON")
                self._migrate()
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"cannot use the database {path}: {error}") from error

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise StoreError(
                f"the database {self.path} has schema version {current}, newer than this "
                f"syndicator knows ({len(MIGRATIONS)}); upgrade syndicator"
            )
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self._transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- feeds -------------------------------------------------------------------------

    def feed_states(self) -> dict[str, FeedState]:
        rows = self._db.execute(f"SELECT {', '.join(_FEED_COLUMNS)} FROM feeds")
        return {row[0]: _feed_state(row) for row in rows}

    def feed_state(self, feed_id: str) -> FeedState | None:
        row = self._db.execute(
            f"SELECT {', '.join(_FEED_COLUMNS)} FROM feeds WHERE feed_id = ?", (feed_id,)
        ).fetchone()
        return _feed_state(row) if row else None

    def _save_state(self, state: FeedState) -> None:
        # Not astuple(): it deep-copies every value, a third of a not-modified feed's cost.
        row = (getattr(state, name) for name in _FEED_COLUMNS)
        values = [_iso(v) if isinstance(v, datetime) else v for v in row]
        placeholders = ", ".join("?" for _ in _FEED_COLUMNS)
        self._db.execute(
            f"INSERT OR REPLACE INTO feeds ({', '.join(_FEED_COLUMNS)}) VALUES ({placeholders})",
            values,
        )

    # -- entries and stories -----------------------------------------------------------

    def story_index(self) -> StoryIndex:
        """Every stored entry, shaped for dedupe's matching (aliases followed)."""
        index = StoryIndex()
        for alias, kept in self._db.execute("SELECT alias_id, story_id FROM story_aliases"):
            index.merged_into[alias] = kept
        for (story_id,) in self._db.execute("SELECT story_id FROM stories ORDER BY rowid"):
            index.began(story_id)
        rows = self._db.execute(
            "SELECT feed_id, entry_key, story_id, canonical_url, title_key, published, "
            "updated, kind, content_hash, signature "
            "FROM entries ORDER BY first_seen, feed_id, entry_key"
        )
        for row in rows:
            (feed_id, key, story_id, canonical, title, published, updated, kind, *rest) = row
            feed_id = sys.intern(feed_id)  # one string per feed, not per entry
            content_hash, signature = rest
            index.add_stored(
                (feed_id, key),
                story_id,
                canonical_url=canonical,
                title_key=title,
                published=_required_dt(published),
                updated=_required_dt(updated),
                kind=kind if kind in KINDS else "article",
                content_hash=content_hash,
                signature=signature or b"",
            )
        return index

    def entries_without_signature(self, limit: int) -> list[StoredEntry]:
        """Entries stored before signatures existed (schema < 3), to compute theirs."""
        rows = self._db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE signature IS NULL LIMIT ?", (limit,)
        )
        return [_stored_entry(row) for row in rows]

    def set_signatures(self, signatures: Mapping[FeedEntryKey, bytes]) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE entries SET signature = ? WHERE feed_id = ? AND entry_key = ?",
                [(sig, feed_id, key) for (feed_id, key), sig in signatures.items()],
            )

    def has_entries(self, feed_id: str) -> bool:
        """Whether any entry of ``feed_id`` is stored (the primary key's prefix: one probe)."""
        row = self._db.execute("SELECT 1 FROM entries WHERE feed_id = ? LIMIT 1", (feed_id,))
        return row.fetchone() is not None

    def stored_entries(self, feed_id: str, keys: Iterable[str]) -> dict[FeedEntryKey, StoredEntry]:
        wanted = list(keys)
        result: dict[FeedEntryKey, StoredEntry] = {}
        for chunk, marks in _in_chunks(wanted):
            rows = self._db.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE feed_id = ? AND entry_key IN "
                f"({marks})",
                (feed_id, *chunk),
            )
            for row in rows:
                stored = _stored_entry(row)
                result[(feed_id, stored.entry.entry_key)] = stored
        return result

    def apply(self, update: FeedUpdate) -> None:
        """Write one feed's fetch: its state, its entries, the stories they touch."""
        with self._transaction():
            self._save_state(update.state)
            if not update.assignments:
                return
            seen = _iso(update.seen_at or datetime.now(UTC))
            # A partner's new GUID for an entry we hold: the row takes the new key, keeping
            # its story, first sighting and the rule that first placed it.
            self._db.executemany(
                "UPDATE entries SET entry_key = ? WHERE feed_id = ? AND entry_key = ?",
                [
                    (a.entry.entry_key, a.replaces[0], a.replaces[1])
                    for a in update.assignments
                    if a.replaces is not None
                ],
            )
            # Whole batches (executemany): a 1,000-feed pass writes 50,000 entries (bench/).
            new = [a for a in update.assignments if a.new_story]
            inserted = self._db.executemany(_INSERT_STORY, [_story_row(a, seen) for a in new])
            self._db.executemany(_UPSERT_ENTRY, [_entry_row(a, seen) for a in update.assignments])
            merged = self._merge_stories(update.assignments, seen)
            # A story inserted just now with a single entry already has that entry's dates;
            # every other story touched gets its dates recomputed from all its entries.
            entries_of = Counter(a.story_id for a in update.assignments)
            fresh = (
                {a.story_id for a in new if entries_of[a.story_id] == 1}
                if inserted.rowcount == len(new)
                else set()  # an id already existed (INSERT OR IGNORE): recompute them all
            )
            self._db.executemany(
                _REFRESH_STORY,
                [(story_id,) for story_id in entries_of.keys() | merged if story_id not in fresh],
            )

    def _merge_stories(self, assignments: Sequence[Assignment], seen: str | None) -> set[str]:
        """Move the entries of merged stories to the story kept; their ids become aliases."""
        kept_ids: set[str] = set()
        for assignment in assignments:
            for alias, (rule, score) in zip(assignment.merges, assignment.merged_by, strict=True):
                kept = assignment.story_id
                self._db.execute(
                    "UPDATE entries SET story_id = ? WHERE story_id = ?", (kept, alias)
                )
                self._db.execute(
                    "UPDATE story_aliases SET story_id = ? WHERE story_id = ?", (kept, alias)
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO story_aliases "
                    "(alias_id, story_id, merged_at, rule, score, via) VALUES (?, ?, ?, ?, ?, ?)",
                    (alias, kept, seen, rule, score, _key_text(assignment)),
                )
                self._db.execute("DELETE FROM stories WHERE story_id = ?", (alias,))
                kept_ids.add(kept)
        return kept_ids

    def set_story_shown(self, shown: Mapping[str, tuple[Kind, datetime | None]]) -> None:
        """Record each story's kind and event start (those of its shown copy), for queries."""
        with self._transaction():
            self._db.executemany(
                "UPDATE stories SET kind = ?, event_start = ? WHERE story_id = ?",
                [(kind, _iso(start), story_id) for story_id, (kind, start) in shown.items()],
            )

    def latest_stories(self, per_feed: int) -> dict[str, tuple[Kind, datetime | None]]:
        """The newest ``per_feed`` stories overall and of each kind: stored kind, event start."""
        columns = "SELECT story_id, kind, event_start FROM stories"
        order = "ORDER BY published DESC, story_id LIMIT ?"
        rows = list(self._db.execute(f"{columns} {order}", (per_feed,)))
        for kind in KINDS:
            rows.extend(self._db.execute(f"{columns} WHERE kind = ? {order}", (kind, per_feed)))
        return {story_id: (kind, _dt(start)) for story_id, kind, start in rows}

    def shown_copies(
        self, story_ids: Sequence[str]
    ) -> dict[str, tuple[str | None, datetime | None]]:
        """The copy last published of each story (its feed, ``Story.shown_copy``; None before
        it was first recorded) and since when it is (None: since the story began)."""
        shown: dict[str, tuple[str | None, datetime | None]] = {}
        for chunk, marks in _in_chunks(story_ids):
            rows = self._db.execute(
                "SELECT story_id, shown_copy, shown_since FROM stories "
                f"WHERE story_id IN ({marks})",
                chunk,
            )
            shown.update((story_id, (copy, _dt(since))) for story_id, copy, since in rows)
        return shown

    def set_shown_copies(self, shown: Mapping[str, tuple[str, datetime | None]]) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE stories SET shown_copy = ?, shown_since = ? WHERE story_id = ?",
                [(copy, _iso(since), story_id) for story_id, (copy, since) in shown.items()],
            )

    def story_copies(self, story_ids: Sequence[str]) -> dict[str, list[StoredEntry]]:
        """Every stored entry of each story, by story id."""
        copies: dict[str, list[StoredEntry]] = {story_id: [] for story_id in story_ids}
        for chunk, marks in _in_chunks(story_ids):
            rows = self._db.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE story_id IN ({marks}) "
                "ORDER BY first_seen, feed_id, entry_key",
                chunk,
            )
            for row in rows:
                stored = _stored_entry(row)
                copies[stored.story_id].append(stored)
        return copies

    def resolve_story(self, reference: str, canonical: str | None) -> str | None:
        """The story a story id, an alias of a merged story, or an entry's link names."""
        alias = self._db.execute(
            "SELECT story_id FROM story_aliases WHERE alias_id = ?", (reference,)
        ).fetchone()
        if alias is not None:
            return str(alias[0])
        row = self._db.execute(
            "SELECT story_id FROM stories WHERE story_id = ?1 UNION ALL "
            "SELECT story_id FROM entries WHERE link = ?1 OR canonical_url = ?2 OR guid = ?1 "
            "LIMIT 1",
            (reference, canonical),
        ).fetchone()
        return str(row[0]) if row else None

    def story_row(self, story_id: str) -> StoryRow | None:
        row = self._db.execute(
            "SELECT story_id, created_at, kind, published, updated FROM stories WHERE story_id = ?",
            (story_id,),
        ).fetchone()
        if row is None:
            return None
        return StoryRow(
            row[0], _required_dt(row[1]), row[2], _required_dt(row[3]), _required_dt(row[4])
        )

    def entry_matches(self, story_id: str) -> dict[FeedEntryKey, EntryMatch]:
        """How each entry of a story joined it: rule, score, the copy it matched."""
        rows = self._db.execute(
            "SELECT feed_id, entry_key, match_rule, match_score, matched_with FROM entries "
            "WHERE story_id = ?",
            (story_id,),
        )
        return {(f, k): EntryMatch(rule, score, via) for f, k, rule, score, via in rows}

    def aliases(self, story_id: str) -> list[AliasRow]:
        """Stories merged into ``story_id``, oldest merge first."""
        rows = self._db.execute(
            "SELECT alias_id, story_id, merged_at, rule, score, via FROM story_aliases "
            "WHERE story_id = ? ORDER BY merged_at, alias_id",
            (story_id,),
        )
        return [AliasRow(a, s, _required_dt(m), r, sc, v) for a, s, m, r, sc, v in rows]

    def alias(self, alias_id: str) -> AliasRow | None:
        row = self._db.execute(
            "SELECT alias_id, story_id, merged_at, rule, score, via FROM story_aliases "
            "WHERE alias_id = ?",
            (alias_id,),
        ).fetchone()
        if row is None:
            return None
        return AliasRow(row[0], row[1], _required_dt(row[2]), row[3], row[4], row[5])

    def counts(self) -> dict[str, int]:
        """Stories and entries stored, for status and the pass summary."""
        stories = self._db.execute("SELECT COUNT(*) FROM stories").fetchone()[0]
        entries = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        return {"stories": int(stories), "entries": int(entries)}

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    # -- read-only queries of publish (pipeline.load_stories) ----------------------------
    # Each returns story id -> (stored kind, stored event start), in the order of the file
    # that needs them; kind and start are the shown copy's (set_story_shown).

    def newest_stories(
        self, limit: int, *, kind: Kind | None = None, feed_ids: Sequence[str] | None = None
    ) -> dict[str, tuple[Kind, datetime | None]]:
        """The newest ``limit`` stories (published, then id), of ``kind`` and carried by one
        of ``feed_ids`` (an entry of that feed is in the story) when given."""
        conditions: list[str] = []
        parameters: list[Any] = []
        if kind is not None:
            conditions.append("kind = ?")
            parameters.append(kind)
        if feed_ids is not None:
            if not feed_ids:
                return {}
            marks = ", ".join("?" for _ in feed_ids)
            conditions.append(
                f"story_id IN (SELECT story_id FROM entries WHERE feed_id IN ({marks}))"
            )
            parameters.extend(feed_ids)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._db.execute(
            f"SELECT story_id, kind, event_start FROM stories{where} "
            "ORDER BY published DESC, story_id LIMIT ?",
            (*parameters, limit),
        )
        return {story_id: (kind_, _dt(start)) for story_id, kind_, start in rows}

    def webinar_stories(
        self, now: datetime, since: datetime, limit: int
    ) -> tuple[dict[str, tuple[Kind, datetime | None]], dict[str, tuple[Kind, datetime | None]]]:
        """(upcoming, recent) webinars: starting after ``now``, soonest first; and started
        between ``since`` and ``now``, latest first; ``limit`` each. A webinar without a
        known start counts as starting at its published date (publish.select_webinars)."""
        start = "COALESCE(event_start, published)"
        columns = "SELECT story_id, kind, event_start FROM stories WHERE kind = 'webinar' AND"
        upcoming = self._db.execute(
            f"{columns} {start} > ? ORDER BY {start}, story_id LIMIT ?", (_iso(now), limit)
        )
        recent = self._db.execute(
            f"{columns} {start} <= ? AND {start} >= ? ORDER BY {start} DESC, story_id LIMIT ?",
            (_iso(now), _iso(since), limit),
        )
        return (
            {story_id: (kind, _dt(event)) for story_id, kind, event in upcoming},
            {story_id: (kind, _dt(event)) for story_id, kind, event in recent},
        )

    def feed_story_versions(
        self, feed_ids: Sequence[str], limit: int
    ) -> dict[str, list[tuple[str, str]]]:
        """Per feed, its newest ``limit`` stories (published, then id) with a version of each:
        a digest of the copy shown (and since when) and of every copy's identity, content
        hash and ``last_seen``, which changes whenever an entry of the story is written
        again, moves in or out (merges), another copy is shown, or what members see changes.
        Reads the small columns of every entry, once."""
        wanted = set(feed_ids)
        published: dict[str, str] = {}
        shown: dict[str, str] = {}
        stories = self._db.execute(
            "SELECT story_id, published, shown_copy, shown_since FROM stories"
        )
        for story_id, when, copy, since in stories:
            published[story_id], shown[story_id] = when, f"{when}\n{copy}\n{since}"
        digests: dict[str, Any] = {}
        carried: dict[str, set[str]] = {feed_id: set() for feed_id in feed_ids}
        rows = self._db.execute(
            "SELECT story_id, feed_id, entry_key, content_hash, last_seen FROM entries "
            "ORDER BY story_id, feed_id, entry_key"
        )
        for story_id, feed_id, entry_key, content_hash, last_seen in rows:
            digest = digests.get(story_id)
            if digest is None:
                digest = digests[story_id] = hashlib.sha256(shown.get(story_id, "").encode())
            digest.update(f"\n{feed_id}\n{entry_key}\n{content_hash}\n{last_seen}".encode())
            if feed_id in wanted:
                carried[feed_id].add(story_id)
        result: dict[str, list[tuple[str, str]]] = {}
        for feed_id in feed_ids:
            ordered = sorted(carried[feed_id] & published.keys())
            ordered.sort(key=published.__getitem__, reverse=True)  # stable: ties in id order
            result[feed_id] = [(s, digests[s].hexdigest()) for s in ordered[:limit]]
        return result


_IN_CHUNK = 500  # values bound in one query (older SQLite allows 999 at most)


def _in_chunks(values: Sequence[str]) -> Iterator[tuple[Sequence[str], str]]:
    """``values`` in chunks small enough for one ``IN (...)``, each with its ``?, ?, ...``."""
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start : start + _IN_CHUNK]
        yield chunk, ", ".join("?" * len(chunk))


def _story_row(assignment: Assignment, created_at: str | None) -> tuple[Any, ...]:
    entry = assignment.entry
    return (
        assignment.story_id,
        created_at,
        entry.kind,
        _iso(entry.published),
        _iso(entry.updated),
        _iso(entry.event.start) if entry.event else None,
    )


def _entry_row(assignment: Assignment, seen: str | None) -> tuple[Any, ...]:
    entry = assignment.entry
    return (
        entry.feed_id,
        entry.entry_key,
        assignment.story_id,
        assignment.rule,
        entry.guid,
        entry.link,
        entry.canonical_url,
        entry.title,
        entry.title_key,
        entry.summary,
        entry.content,
        _iso(entry.published),
        _iso(entry.updated),
        _TEXT_JSON.encode(entry.authors),
        _TEXT_JSON.encode(entry.categories),
        json.dumps([[e.url, e.type, e.length] for e in entry.enclosures]),
        entry.thumbnail,
        entry.language,
        entry.kind,
        entry.content_hash,
        int(entry.published_is_guess),
        seen,
        seen,
        assignment.score,
        assignment.matched_with,
        entry.signature or None,
        entry.kind_rule,
        _iso(entry.event.start) if entry.event else None,
        _iso(entry.event.end) if entry.event else None,
        entry.event.timezone if entry.event else None,
        entry.event.source if entry.event else None,
    )


def _feed_state(row: Sequence[Any]) -> FeedState:
    values = dict(zip(_FEED_COLUMNS, row, strict=True))
    for name in ("last_attempt", "last_success"):
        values[name] = _dt(values[name])
    return FeedState(**values)


def _stored_entry(row: Sequence[Any]) -> StoredEntry:
    (
        feed_id,
        entry_key,
        story_id,
        rule,
        guid,
        link,
        canonical,
        title,
        title_key,
        summary,
        content,
        published,
        updated,
        authors,
        categories,
        enclosures,
        thumbnail,
        language,
        kind,
        content_hash,
        published_is_guess,
        first_seen,
        last_seen,
        _score,
        _matched_with,
        signature,
        kind_rule,
        event_start,
        event_end,
        event_timezone,
        event_source,
    ) = row
    entry = Entry(
        feed_id=feed_id,
        entry_key=entry_key,
        guid=guid,
        link=link,
        canonical_url=canonical,
        title=title,
        title_key=title_key,
        summary=summary,
        content=content,
        published=_required_dt(published),
        updated=_required_dt(updated),
        authors=tuple(json.loads(authors)),
        categories=tuple(json.loads(categories)),
        enclosures=tuple(
            Enclosure(url, type_, length) for url, type_, length in json.loads(enclosures)
        ),
        thumbnail=thumbnail,
        language=language,
        kind=kind if kind in KINDS else "article",
        content_hash=content_hash,
        published_is_guess=bool(published_is_guess),
        kind_rule=kind_rule,
        event=_event(event_start, event_end, event_timezone, event_source),
        signature=signature or b"",
    )
    return StoredEntry(
        entry=entry,
        story_id=story_id,
        first_seen=_required_dt(first_seen),
        last_seen=_required_dt(last_seen),
        started_story=rule == "new story",
    )


def _event(
    start: str | None, end: str | None, timezone: str | None, source: str | None
) -> Event | None:
    if not start:
        return None
    return Event(_required_dt(start), _dt(end), timezone, source or "")


def _key_text(assignment: Assignment) -> str:
    entry = assignment.entry
    return f"{entry.feed_id} {entry.entry_key}"
