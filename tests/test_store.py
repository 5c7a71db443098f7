"""store: a real SQLite file; schema version, one transaction per feed update, nothing lost."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndicator.dedupe import StoryIndex, assign_stories, signature_of
from syndicator.model import Enclosure, Entry, FeedState
from syndicator.normalize import canonical_url, title_key
from syndicator.store import MIGRATIONS, FeedUpdate, Store, StoreError

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def entry(key: str, title: str, feed_id: str = "scw-news") -> Entry:
    link = f"https://scw.net/n/{key}"
    return Entry(
        feed_id=feed_id,
        entry_key=key,
        guid=key,
        link=link,
        canonical_url=canonical_url(link),
        title=title,
        title_key=title_key(title),
        summary="<p>s</p>",
        content="<p>c</p>",
        published=NOW - timedelta(hours=1),
        updated=NOW - timedelta(hours=1),
        authors=("Sarah Wray",),
        categories=("Data", "스마트 시티"),
        enclosures=(Enclosure("https://scw.net/r.pdf", "application/pdf", 1234),),
        thumbnail=None,
        language="en",
        kind="whitepaper",
        content_hash=f"h-{title}",
    )


def apply(store: Store, entries: list[Entry], index: StoryIndex | None = None) -> StoryIndex:
    index = index or store.story_index()
    stored = store.stored_entries(entries[0].feed_id, [e.entry_key for e in entries])
    assignments = assign_stories(entries, index, stored, authority="x.org", fetched_at=NOW)
    state = FeedState(feed_id=entries[0].feed_id, url="https://scw.net/rss", etag='"e1"')
    store.apply(FeedUpdate(state, assignments, seen_at=NOW))
    index.record(assignments)
    return index


def test_new_database_has_current_schema_and_wal(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.integrity_ok()
    mode = sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_newer_schema_is_refused_with_a_sentence(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99, newer than"):
        Store(tmp_path / "s.db")


def test_a_store_that_may_not_create_reads_a_missing_database_as_empty(tmp_path: Path) -> None:
    missing = tmp_path / "none" / "s.db"
    with Store(missing, create=False) as store:
        assert store.feed_states() == {} and store.counts() == {"stories": 0, "entries": 0}
    assert not missing.parent.exists()
    with Store(tmp_path / "s.db") as store:
        apply(store, [entry("a", "Seoul opens a data hub", "scw")])
    with Store(tmp_path / "s.db", create=False) as store:
        assert store.counts() == {"stories": 1, "entries": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]  # no -wal, no -shm left


def test_a_merge_is_recorded_with_the_rule_that_matched_the_merged_story(tmp_path: Path) -> None:
    # The bridge matched the older story by title and the newer by canonical URL: the alias
    # used to be recorded with the title verdict (that of the story kept).
    title = "WeGO and SCW share content with members"
    text = (
        "<p>WeGO and SmartCitiesWorld will share articles, research and webinar listings "
        "with the members of both networks from January, the two organisations said.</p>"
    )  # the bridge's title match with the old story confirmed by the text (a title alone
    # joins one story and merges none)
    other = "<p>Readers of the site can now find partner news in a section of its own.</p>"
    old = replace(entry("1", title, "wego"), published=NOW - timedelta(days=2), summary=text)
    newer = replace(entry("2", title, "scw"), published=NOW + timedelta(days=3), summary=other)
    bridge = replace(entry("2", title, "lab"), summary=text)  # scw's page, between the dates
    with Store(tmp_path / "s.db") as store:
        index = apply(store, [old])
        index = apply(store, [newer], index)
        assert index.story_of(("wego", "1")) != index.story_of(("scw", "2"))
        index = apply(store, [bridge], index)
        kept = index.story_of(("wego", "1"))
        assert kept is not None and index.story_of(("scw", "2")) == kept
        [alias] = store.aliases(kept)
        assert (alias.rule, alias.score, alias.via) == ("canonical url", 1.0, "lab 2")


def test_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot use the database"):
        Store(tmp_path / "file" / "s.db")


def test_entries_round_trip_and_survive_reopen(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        apply(store, [entry("a", "Alpha story"), entry("b", "Beta story")])
    with Store(tmp_path / "s.db") as store:
        stored = store.stored_entries("scw-news", ["a", "b", "missing"])
        assert set(stored) == {("scw-news", "a"), ("scw-news", "b")}
        # Stored with the signature clustering computed for it, else as it was given.
        alpha = entry("a", "Alpha story")
        assert stored[("scw-news", "a")].entry == replace(alpha, signature=signature_of(alpha))
        assert store.counts() == {"stories": 2, "entries": 2}
        state = store.feed_state("scw-news")
        assert state is not None and state.etag == '"e1"'
        index = store.story_index()
        assert index.story_of(("scw-news", "a")) == stored[("scw-news", "a")].story_id


def test_update_keeps_story_id_and_first_seen(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        index = apply(store, [entry("a", "Alpha story")])
        before = store.stored_entries("scw-news", ["a"])[("scw-news", "a")]
        apply(store, [entry("a", "Alpha story, corrected")], index)
        after = store.stored_entries("scw-news", ["a"])[("scw-news", "a")]
        assert after.story_id == before.story_id
        assert after.first_seen == before.first_seen
        assert after.entry.title == "Alpha story, corrected"
        assert store.counts() == {"stories": 1, "entries": 1}


def test_failed_transaction_leaves_the_feed_as_it_was(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        apply(store, [entry("a", "Alpha story")])
        broken = [entry("b", "Beta story")]
        assignments = assign_stories(
            broken, store.story_index(), {}, authority="x.org", fetched_at=NOW
        )
        # a story id that does not exist breaks the foreign key halfway through the update
        bad = [replace(assignments[0], story_id="tag:missing", rule="canonical url")]
        with pytest.raises(sqlite3.IntegrityError):
            store.apply(FeedUpdate(FeedState("scw-news", etag='"e2"'), bad, seen_at=NOW))
        assert store.counts() == {"stories": 1, "entries": 1}
        state = store.feed_state("scw-news")
        assert state is not None and state.etag == '"e1"'
        assert store.integrity_ok()


def test_latest_stories_per_kind(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        apply(store, [entry(f"k{i}", f"Story number {i}") for i in range(5)])
        latest = store.latest_stories(3)
        assert len(latest) == 3 and set(latest.values()) == {("whitepaper", None)}
        store.set_story_shown({next(iter(latest)): ("webinar", NOW)})
        assert ("webinar", NOW) in store.latest_stories(3).values()


def test_schema_2_database_upgrades_keeping_its_entries(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        apply(store, [entry("a", "Alpha story")])
    # Make it the database a syndicator of schema 2 would have left.
    db = sqlite3.connect(tmp_path / "s.db")
    db.executescript(
        "DROP TABLE story_aliases; DROP INDEX stories_by_event;"
        "ALTER TABLE stories DROP COLUMN event_start;"
        "ALTER TABLE stories DROP COLUMN shown_copy; ALTER TABLE stories DROP COLUMN shown_since;"
        + "".join(
            f"ALTER TABLE entries DROP COLUMN {column};"
            for column in (
                "match_score",
                "matched_with",
                "signature",
                "kind_rule",
                "event_start",
                "event_end",
                "event_timezone",
                "event_source",
            )
        )
        + "PRAGMA user_version = 2;"
    )
    db.close()
    with Store(tmp_path / "s.db") as store:
        assert store.schema_version == len(MIGRATIONS) == 4
        [stored] = store.stored_entries("scw-news", ["a"]).values()
        assert stored.entry.title == "Alpha story" and stored.entry.kind_rule == "feed kind"
        assert stored.entry.signature == b"" and stored.entry.event is None
        assert [s.entry.entry_key for s in store.entries_without_signature(10)] == ["a"]
        assert store.aliases(stored.story_id) == []
