"""dedupe: which story an entry joins, and ids that never move (pure functions, plain data)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from syndicator.dedupe import (
    Assignment,
    StoryIndex,
    assign_stories,
    build_story,
    choose_shown_copy,
    entry_change,
    mint_story_id,
)
from syndicator.model import Entry, Partner, StoredEntry
from syndicator.normalize import canonical_url, title_key

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def entry(feed_id: str, key: str, title: str, link: str | None, published: datetime = NOW) -> Entry:
    return Entry(
        feed_id=feed_id,
        entry_key=key,
        guid=key,
        link=link,
        canonical_url=canonical_url(link),
        title=title,
        title_key=title_key(title),
        summary=f"<p>{title}</p>",
        content="",
        published=published,
        updated=published,
        authors=(),
        categories=(),
        enclosures=(),
        thumbnail=None,
        language="en",
        kind="article",
        content_hash=f"hash-{title}-{link}",
    )


def run(
    entries: list[Entry],
    index: StoryIndex,
    stored: dict[tuple[str, str], StoredEntry] | None = None,
) -> list[Assignment]:
    result = assign_stories(
        entries, index, stored or {}, authority="feeds.example.org", fetched_at=NOW
    )
    index.record(result)
    return result


def test_new_entries_get_new_tag_ids() -> None:
    [a] = run([entry("wego", "p1", "Partnership signed", "https://we-gov.org/n/p")], StoryIndex())
    assert a.rule == "new story" and a.new_story
    assert a.story_id.startswith("tag:feeds.example.org,2026-11-20:wego/")
    assert a.story_id == mint_story_id("feeds.example.org", a.entry, NOW)


def test_same_press_release_from_two_partners_is_one_story_by_title() -> None:
    index = StoryIndex()
    [first] = run(
        [entry("wego", "p1", "WeGO and SCW sign a partnership", "https://we-gov.org/n/p")], index
    )
    [second] = run(
        [
            entry(
                "scw", "s9", "WeGO And SCW Sign A Partnership!", "https://scw.net/n/p-1", NOW + DAY
            )
        ],
        index,
    )
    assert second.story_id == first.story_id and second.rule == "title"


def test_title_match_needs_the_date_window() -> None:
    index = StoryIndex()
    [first] = run(
        [entry("wego", "p1", "Weekly digest of city news", "https://we-gov.org/d/1")], index
    )
    [later] = run(
        [entry("scw", "s1", "Weekly digest of city news", "https://scw.net/d/2", NOW + 8 * DAY)],
        index,
    )
    assert later.story_id != first.story_id


def test_title_match_never_within_one_feed() -> None:
    index = StoryIndex()
    [one, two] = run(
        [
            entry("scw", "s1", "Smart city news roundup", "https://scw.net/a"),
            entry("scw", "s2", "Smart city news roundup", "https://scw.net/b"),
        ],
        index,
    )
    assert one.story_id != two.story_id


def test_url_match_with_decorations_and_guid_change() -> None:
    index = StoryIndex()
    [first] = run(
        [entry("scw", "old-guid", "Seoul twin", "https://www.scw.net/n/seoul/?utm_source=rss")],
        index,
    )
    [churned] = run(
        [entry("scw", "new-guid", "Seoul twin (updated)", "http://scw.net/n/seoul#x")], index
    )
    assert churned.story_id == first.story_id and churned.rule == "canonical url"


def test_same_entry_keeps_its_story() -> None:
    index = StoryIndex()
    [first] = run([entry("scw", "k", "Title one", "https://scw.net/1")], index)
    [again] = run([entry("scw", "k", "Totally new title", "https://scw.net/other")], index)
    assert again.story_id == first.story_id and again.rule == "same entry"


def test_two_items_of_one_fetch_sharing_a_link_stay_apart() -> None:
    index = StoryIndex()
    [a, b] = run(
        [
            entry("hub", "w3", "Smart Mobility Webinar #3", "https://events.org/webinars"),
            entry("hub", "w4", "Smart Mobility Webinar #4", "https://events.org/webinars"),
        ],
        index,
    )
    assert a.story_id != b.story_id
    # and on the next fetch, while both are still listed, they keep their own stories
    [a2, b2] = run(
        [
            entry("hub", "w3", "Smart Mobility Webinar #3", "https://events.org/webinars"),
            entry("hub", "w4", "Smart Mobility Webinar #4", "https://events.org/webinars"),
        ],
        index,
    )
    assert (a2.story_id, b2.story_id) == (a.story_id, b.story_id)


def test_home_page_links_do_not_merge() -> None:
    index = StoryIndex()
    [a] = run([entry("x", "1", "First story here", "https://partner.org/")], index)
    [b] = run([entry("y", "2", "Another story there", "https://www.partner.org")], index)
    assert a.story_id != b.story_id


def test_short_titles_do_not_merge() -> None:
    index = StoryIndex()
    [a] = run([entry("x", "1", "News", "https://x.org/1")], index)
    [b] = run([entry("y", "2", "news", "https://y.org/2")], index)
    assert a.story_id != b.story_id


def test_entry_change_verdicts() -> None:
    old_entry = entry("scw", "k", "Title", "https://scw.net/1", NOW - DAY)
    stored = StoredEntry(old_entry, "tag:x,2026-11-19:scw/1", NOW - DAY, NOW - DAY)
    assert entry_change(None, old_entry, NOW) == (old_entry, "new")
    same, verdict = entry_change(stored, old_entry, NOW)
    assert verdict == "unchanged" and same.updated == old_entry.updated
    edited = replace(old_entry, title="Title v2", content_hash="h2")
    changed, verdict = entry_change(stored, edited, NOW)
    assert verdict == "changed" and changed.updated == NOW and changed.published == NOW - DAY


def test_guessed_date_keeps_the_first_guess() -> None:
    first = replace(entry("scw", "k", "Undated", None, NOW - DAY), published_is_guess=True)
    stored = StoredEntry(first, "s", NOW - DAY, NOW - DAY)
    refetched = replace(first, published=NOW, updated=NOW)
    kept, verdict = entry_change(stored, refetched, NOW)
    assert verdict == "unchanged" and kept.published == NOW - DAY


def test_shown_copy_priority_then_first_partner_then_latest_in_feed() -> None:
    wego = StoredEntry(entry("wego", "1", "T", "https://a/1"), "s", NOW, NOW)
    scw_old = StoredEntry(entry("scw", "old", "T old", "https://b/1"), "s", NOW - DAY, NOW - DAY)
    scw_new = StoredEntry(entry("scw", "new", "T new", "https://b/1"), "s", NOW, NOW)
    copies = [wego, scw_old, scw_new]
    assert choose_shown_copy(copies, {}) is scw_new  # scw carried it first; its latest entry
    assert choose_shown_copy(copies, {"wego": 5}) is wego


def test_build_story_dates_and_credit() -> None:
    partners = {
        "wego": Partner("wego", "WeGO News", "https://we-gov.org/feed/", "https://we-gov.org/"),
        "scw": Partner("scw", "SmartCitiesWorld", "https://scw.net/rss", None),
    }
    a = StoredEntry(entry("wego", "1", "T", "https://a/1", NOW - DAY), "s", NOW - DAY, NOW)
    b = StoredEntry(
        replace(entry("scw", "2", "T2", "https://b/1", NOW), updated=NOW + DAY), "s", NOW, NOW
    )
    story = build_story("tag:x,2026:s", [a, b], partners, {})
    assert story.source.name == "WeGO News" and story.title == "T"
    assert [p.name for p in story.also_published_by] == ["SmartCitiesWorld"]
    assert story.published == NOW - DAY and story.updated == NOW + DAY
    gone = build_story("tag:x,2026:s", [a], {}, {})
    assert gone.source.name == "wego"


def test_in_one_pass_the_partner_that_started_the_story_is_shown() -> None:
    # Both copies first seen in the same pass: the feed id must not decide ("scw" < "wego").
    wego = StoredEntry(entry("wego", "1", "T", "https://a/1"), "s", NOW, NOW, started_story=True)
    scw = StoredEntry(entry("scw", "2", "T", "https://b/1"), "s", NOW, NOW)
    assert choose_shown_copy([scw, wego], {}) is wego
