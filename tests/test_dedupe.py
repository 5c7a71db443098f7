"""dedupe: which story an entry joins, and ids that never move (pure functions, plain data)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from syndicator.dedupe import (
    Assignment,
    StoryIndex,
    assign_stories,
    build_story,
    choose_shown_copy,
    cluster_entries,
    entry_change,
    mint_story_id,
)
from syndicator.model import Entry, Kind, Partner, StoredEntry
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
    assert churned.story_id == first.story_id and churned.rule == "new guid"
    assert churned.replaces == ("scw", "old-guid")


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


def test_an_entry_keeps_its_earliest_date_when_the_partner_re_dates_it() -> None:
    # Re-dated edits (and pubDates stamped at every build) moved the story to the top.
    first = entry("lisbon", "k", "Lisbon opens a data hub", "https://lx.pt/hub", NOW - 7 * DAY)
    stored = StoredEntry(first, "s", NOW - 7 * DAY, NOW - 7 * DAY)
    edited = replace(first, title="Lisbon opens its data hub", content_hash="h2", published=NOW)
    kept, verdict = entry_change(stored, edited, NOW)
    assert (verdict, kept.published, kept.updated) == ("changed", NOW - 7 * DAY, NOW)
    bumped = replace(first, published=NOW - DAY, updated=NOW - DAY)
    kept, verdict = entry_change(stored, bumped, NOW)
    assert (verdict, kept.published) == ("unchanged", NOW - 7 * DAY)
    earlier = replace(first, published=NOW - 9 * DAY)  # a correction back in time is taken
    assert entry_change(stored, earlier, NOW)[0].published == NOW - 9 * DAY


def test_a_link_written_another_way_is_no_update_and_the_stored_link_stays() -> None:
    first = entry("flip", "tln-1", "Tallinn permits", "http://www.tallinn.example/permits")
    stored = StoredEntry(first, "s", NOW - DAY, NOW - DAY)
    for link in (
        "https://tallinn.example/permits/",
        "http://www.tallinn.example/permits?utm_source=rss&utm_campaign=poll7",
    ):
        # (The hash of a link with tracking parameters is the same: normalize's tests.)
        fetched = replace(first, link=link, canonical_url=canonical_url(link), content_hash=link)
        kept, verdict = entry_change(stored, fetched, NOW)
        assert verdict == "unchanged"
        assert (kept.link, kept.content_hash, kept.updated) == (
            first.link,
            first.content_hash,
            first.updated,
        )
    moved = "https://tallinn.example/permits-2026"  # another page: an update
    fetched = replace(first, link=moved, canonical_url=canonical_url(moved), content_hash=moved)
    assert entry_change(stored, fetched, NOW)[1] == "changed"


def test_a_new_guid_with_rotated_tracking_parameters_keeps_the_stored_link() -> None:
    # GUID churn and utm_* rotation in one poll: the item is unchanged, and its published
    # link stays as first stored (it used to take the new parameters, rewriting the files).
    index = StoryIndex()
    link = "https://www.scw.net/n/seoul?utm_source=a"
    [first] = run([replace(entry("scw", "churn-1", "Seoul twin", link), content_hash="h")], index)
    key = ("scw", "churn-1")
    stored = {key: StoredEntry(first.entry, first.story_id, NOW - DAY, NOW - DAY)}
    rotated = "https://www.scw.net/n/seoul?utm_source=zz"
    churned = replace(entry("scw", "churn-2", "Seoul twin", rotated), content_hash="h")
    [again] = run([churned], index, stored)
    assert (again.rule, again.change, again.replaces) == ("new guid", "unchanged", key)
    assert again.entry.link == link


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


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        (
            "PRESS RELEASE: Seoul opens a data hub | SmartCitiesWorld",
            "PRESS RELEASE: Seoul opens a data hub",
        ),
        ("Seoul opens a data hub - SmartCitiesWorld News", "Seoul opens a data hub"),
        ("Seoul opens a data hub | smartcitiesworld.net", "Seoul opens a data hub"),
        ("Seoul opens a data hub – SCW", "Seoul opens a data hub"),  # its feed host
        ("Seoul vs Tokyo | A comparison", "Seoul vs Tokyo | A comparison"),
        ("Data hubs - the next decade", "Data hubs - the next decade"),
        ("SmartCitiesWorld", "SmartCitiesWorld"),
    ],
)
def test_the_shown_title_loses_its_own_partners_name_behind_it(title: str, shown: str) -> None:
    # The credit names the partner; " | SmartCitiesWorld" on the title is noise in a merged
    # feed (a member audit saw it on the shown copy of a three-partner story).
    partner = Partner(
        "scw",
        "SmartCitiesWorld News",
        "https://scw.example/rss",
        "https://www.smartcitiesworld.net/",
    )
    copy = StoredEntry(entry("scw", "1", title, "https://scw.example/1"), "s", NOW, NOW)
    assert build_story("tag:x,2026:s", [copy], {"scw": partner}, {}).title == shown


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


def test_another_copy_at_the_shown_page_is_credited_without_a_second_link() -> None:
    # WeGO links SCW's article with its own tracking parameters: the same page, so the
    # credit names WeGO but links nowhere new (members saw "Also published by" and a
    # related link pointing back at the article they were reading).
    partners = {
        "scw": Partner("scw", "SmartCitiesWorld", "https://scw.net/rss", None),
        "wego": Partner("wego", "WeGO", "https://we-gov.org/feed/", None),
        "cities": Partner("cities", "Cities Today", "https://ct.org/feed", None),
    }
    shown = StoredEntry(entry("scw", "1", "T", "https://scw.net/news/11901/"), "s", NOW, NOW)
    same_page = "http://www.scw.net/news/11901?utm_campaign=wego&fbclid=abc"
    wego = StoredEntry(entry("wego", "2", "T", same_page), "s", NOW, NOW)
    elsewhere = StoredEntry(entry("cities", "3", "T", "https://ct.org/a/7"), "s", NOW, NOW)
    story = build_story("tag:x,2026:s", [shown, wego, elsewhere], partners, {"scw": 1})
    assert story.link == "https://scw.net/news/11901/"
    assert [(c.partner.name, c.link) for c in story.other_copies] == [
        ("Cities Today", "https://ct.org/a/7"),
        ("WeGO", None),
    ]


def test_in_one_pass_the_partner_that_started_the_story_is_shown() -> None:
    # Both copies first seen in the same pass: the feed id must not decide ("scw" < "wego").
    wego = StoredEntry(entry("wego", "1", "T", "https://a/1"), "s", NOW, NOW, started_story=True)
    scw = StoredEntry(entry("scw", "2", "T", "https://b/1"), "s", NOW, NOW)
    assert choose_shown_copy([scw, wego], {}) is wego


# --- clustering rules (issue 5) ---------------------------------------------------------------

RELEASE = (
    "The World Smart Sustainable Cities Organization and SmartCitiesWorld will share news, "
    "research and webinar invitations with each other's audiences from January, the two "
    "organisations announced in Seoul on Tuesday. Member cities will also be able to publish "
    "their own case studies on the SmartCitiesWorld site and join its monthly editorial call."
)
OTHER = (
    "Almaty has finished replacing forty thousand street lights with connected LED fixtures "
    "that dim when streets are empty, report faults on their own and cut the city's energy "
    "bill for lighting by a third, the mayor's office said in a statement on Friday."
)


def texted(
    feed_id: str,
    key: str,
    title: str,
    text: str,
    published: datetime = NOW,
    *,
    kind: Kind = "article",
    link: str | None = None,
) -> Entry:
    base = entry(feed_id, key, title, link or f"https://{feed_id}.example/{key}", published)
    return replace(base, summary=f"<p>{text}</p>", kind=kind, content_hash=f"h-{title}-{text}")


def test_excerpt_with_decorated_title_joins_the_full_text() -> None:
    index = StoryIndex()
    [full] = run([texted("wego", "1", "WeGO and SCW share content with members", RELEASE)], index)
    excerpt = " ".join(RELEASE.split()[:35]) + " [&hellip;] Read more"
    [copy] = run(
        [
            texted(
                "scw",
                "2",
                "PRESS RELEASE: WeGO And SCW Share Content With Members | SCW",
                excerpt,
                NOW + 2 * DAY,
            )
        ],
        index,
    )
    assert copy.story_id == full.story_id and copy.rule == "title"
    assert copy.score is not None and copy.score > 0.8
    assert copy.matched_with == "wego 1"


def test_numbers_in_titles_keep_episodes_apart() -> None:
    index = StoryIndex()
    boiler = "Join city leaders for the next episode of our smart mobility webinar series. " * 3
    [three] = run([texted("hub", "3", "Smart Mobility Webinar #3", boiler, kind="webinar")], index)
    [four] = run([texted("scw", "4", "Smart Mobility Webinar #4", boiler, kind="webinar")], index)
    assert three.story_id != four.story_id


def test_same_short_title_with_other_text_stays_apart() -> None:
    index = StoryIndex()
    [a] = run([texted("wego", "1", "Smart cities news roundup", RELEASE)], index)
    [b] = run([texted("scw", "2", "Smart cities news roundup", OTHER)], index)
    assert a.story_id != b.story_id


def test_long_same_title_merges_even_when_each_partner_wrote_its_own_summary() -> None:
    index = StoryIndex()
    [a] = run(
        [texted("wego", "1", "Almaty finishes its connected street lighting roll-out", OTHER)],
        index,
    )
    [b] = run(
        [
            texted(
                "scw",
                "2",
                "Almaty Finishes Its Connected Street Lighting Roll-Out",
                "A short note of our own on the news.",
            )
        ],
        index,
    )
    assert b.story_id == a.story_id and b.rule == "title"


def test_late_copy_needs_the_same_text() -> None:
    index = StoryIndex()
    [original] = run(
        [texted("wego", "1", "WeGO and SCW share content with members", RELEASE)], index
    )
    [late] = run(
        [texted("lab", "9", "WeGO and SCW share content with members", RELEASE, NOW + 9 * DAY)],
        index,
    )
    assert late.story_id == original.story_id and late.rule == "title and text"
    [other] = run(
        [texted("hub", "7", "WeGO and SCW share content with members", OTHER, NOW + 20 * DAY)],
        index,
    )
    assert other.story_id != original.story_id


def test_other_kind_joins_only_with_the_same_text() -> None:
    index = StoryIndex()
    [paper] = run(
        [
            texted(
                "papers",
                "1",
                "Financing digital twins lessons from Curitiba",
                RELEASE,
                kind="whitepaper",
            )
        ],
        index,
    )
    [webinar] = run(
        [
            texted(
                "events",
                "2",
                "Financing digital twins lessons from Curitiba",
                OTHER,
                kind="webinar",
            )
        ],
        index,
    )
    [news] = run(
        [texted("news", "3", "Financing digital twins lessons from Curitiba", RELEASE)], index
    )
    assert webinar.story_id != paper.story_id
    assert news.story_id == paper.story_id and news.rule == "title and text"


def test_query_parameter_that_selects_content_keeps_stories_apart() -> None:
    index = StoryIndex()
    [a] = run([texted("x", "1", "Item twelve", RELEASE, link="https://p.org/item?id=12")], index)
    [b] = run([texted("y", "2", "Item thirteen", OTHER, link="https://p.org/item?id=13")], index)
    [c] = run(
        [texted("z", "3", "Item 12", "", link="https://p.org/item?id=12&utm_source=x")], index
    )
    assert a.story_id != b.story_id and c.story_id == a.story_id and c.rule == "canonical url"


def test_one_long_title_on_two_items_of_one_page_stays_two_stories() -> None:
    # A title of six words or more, word for word, is one story by the title rule even when
    # the texts differ; but ?id=12 and ?id=13 of one page are two items by the site's word.
    title = "WeGO board notice: call for proposals and annual accounts"
    index = StoryIndex()
    [a] = run(
        [texted("wego", "1", title, RELEASE, link="https://we-gov.org/board.php?id=12")], index
    )
    link = "https://we-gov.org/board.php?id=13&utm_source=scw"
    [b] = run([texted("scw", "2", title, OTHER, NOW + DAY / 24, link=link)], index)
    assert a.story_id != b.story_id and b.rule == "new story"
    elsewhere = "https://scw.example/news/wego-board-notice"  # a copy on its own page still joins
    [c] = run([texted("cw", "3", title, OTHER, NOW + DAY / 12, link=elsewhere)], index)
    assert c.story_id in (a.story_id, b.story_id) and c.rule in ("title", "title and text")


def test_a_long_title_in_common_with_texts_sharing_nothing_is_two_stories() -> None:
    # Two partners' weekly roundups, each with a title of seven words: word for word the
    # same title is no coincidence for a headline, but it is for a recurring column.
    title = "Smart city news roundup for this week"
    barcelona = (
        "This week: Barcelona expands its superblocks to four more districts, Helsinki tests "
        "autonomous buses on a new suburban route, and Singapore opens its digital twin to "
        "researchers. Also: a new report on smart lighting procurement."
    )
    toronto = (
        "In this edition: Toronto revisits waterfront data governance after public "
        "consultation, Amsterdam publishes its algorithm register, and Seoul adds 5,000 smart "
        "streetlights. Plus our pick of upcoming webinars on mobility data."
    )
    index = StoryIndex()
    [first] = run([texted("one", "r1", title, barcelona)], index)
    [second] = run([texted("two", "r2", title, toronto, NOW + 2 * DAY)], index)
    assert second.rule == "new story" and second.story_id != first.story_id
    # The same headline over two summaries each partner wrote itself: names and figures
    # in common (two 3-word shingles of 27) are enough.
    headline = "Seoul opens its city-wide digital twin to member cities"
    own = (
        "The Seoul Metropolitan Government announced on Tuesday that its S-Map digital twin, "
        "which models all 25 districts in 3D, will be shared with WeGO member cities from "
        "January."
    )
    theirs = (
        "WeGO member cities will get access to Seoul's S-Map from January 2027. The digital "
        "twin covers all 25 districts of the Korean capital and is used for urban planning "
        "and disaster response, the city said."
    )
    [a] = run([texted("one", "s1", headline, own)], index)
    [b] = run([texted("two", "s2", headline, theirs, NOW + DAY)], index)
    assert (b.story_id, b.rule) == (a.story_id, "title")


def test_a_copy_without_text_does_not_merge_two_stories_kept_apart() -> None:
    # Two partners' roundups under one long title stay apart by their texts; a third
    # partner's title-only copy agrees with both (nothing to contradict) and merged them,
    # for good. It joins one of them.
    title = "Smart city news roundup for this week"
    barcelona = (
        "This week: Barcelona expands its superblocks to four more districts, Helsinki tests "
        "autonomous buses on a new suburban route, and Singapore opens its digital twin."
    )
    toronto = (
        "In this edition: Toronto revisits waterfront data governance after public "
        "consultation, Amsterdam publishes its algorithm register, and Seoul adds lights."
    )
    index = StoryIndex()
    [first] = run([texted("one", "r1", title, barcelona)], index)
    [second] = run([texted("two", "r2", title, toronto, NOW + 2 * DAY)], index)
    assert second.story_id != first.story_id
    [third] = run([texted("three", "r3", title, "", NOW + DAY)], index)
    assert third.rule == "title" and third.story_id in (first.story_id, second.story_id)
    assert third.merges == ()
    # The title-only copy first: the first roundup joins it, and the second, whose text
    # contradicts the first's, used to join the same story through it.
    index = StoryIndex()
    [bare] = run([texted("three", "r3", title, "", NOW + DAY)], index)
    [one] = run([texted("one", "r1", title, barcelona)], index)
    [two] = run([texted("two", "r2", title, toronto, NOW + 2 * DAY)], index)
    assert one.story_id == bare.story_id
    assert two.rule == "new story" and two.story_id != one.story_id


def test_a_copy_with_a_short_text_is_shown_before_one_without() -> None:
    # Text counted in steps of 500 characters: 230 characters tied with none, and the
    # partner seen first, with no text at all, was the copy members read.
    bare = replace(texted("three", "r3", "Roundup", ""), summary="", content="")
    short = texted("one", "r1", "Roundup", "Barcelona expands its superblocks. " * 6)
    copies = [
        StoredEntry(bare, "s", NOW - DAY, NOW, started_story=True),
        StoredEntry(short, "s", NOW, NOW),
    ]
    assert choose_shown_copy(copies, {}).entry.feed_id == "one"


def _by_position(*items: tuple[str, str, str]) -> list[Entry]:
    """A fetch of a partner that numbers its items by place: guid 1 is the newest."""
    return [
        texted("pos", str(place), title, text, link=f"https://pos.example/{slug}")
        for place, (slug, title, text) in enumerate(items, start=1)
    ]


OSLO = ("oslo", "Oslo electrifies its city ferries", "Oslo " + RELEASE)
BOGOTA = ("bogota", "Bogota adds bike lanes downtown", "Bogota " + OTHER)
ACCRA = (
    "accra",
    "Accra maps street lights with residents",
    "Volunteers in Accra walked every district with a phone app to record which street "
    "lights work, and the city will publish the map as open data next month for anyone.",
)


def test_a_guid_given_to_another_item_does_not_hand_it_the_old_story() -> None:
    # guid 1 was Oslo; a new item took place 1 (and guid 1), Oslo moved to 2, Bogota to 3.
    index = StoryIndex()
    oslo, bogota = run(_by_position(OSLO, BOGOTA), index)
    accra, oslo_again, bogota_again = run(_by_position(ACCRA, OSLO, BOGOTA), index)
    assert accra.rule == "new story" and accra.story_id not in (oslo.story_id, bogota.story_id)
    assert (oslo_again.story_id, oslo_again.rule) == (oslo.story_id, "new guid")
    assert (bogota_again.story_id, bogota_again.rule) == (bogota.story_id, "new guid")
    again = run(_by_position(ACCRA, OSLO, BOGOTA), index)  # the next poll: nothing new
    assert [a.story_id for a in again] == [accra.story_id, oslo.story_id, bogota.story_id]
    assert all(not a.new_story for a in again)
    # An item that only moved its page or reworded its title is still the partner's item.
    moved = texted(
        "pos", "1", "Accra maps its street lights", ACCRA[2], link="https://pos.example/a"
    )
    same, *_ = run([moved, *_by_position(ACCRA, OSLO, BOGOTA)[1:]], index)
    assert (same.rule, same.story_id, same.change) == ("same entry", accra.story_id, "changed")


def test_a_guid_given_to_another_item_with_no_text_does_not_hand_it_the_old_story() -> None:
    # Listings with a title and a link only (webinar boards): no text to compare. The GUID
    # that named Oslo's page now names another, and Oslo's page is still listed (under
    # guid 2): trusting the GUID hid Accra under Oslo's id, which readers never show as new.
    # (A GUID whose old page is gone is still the same item: test_same_entry_keeps_its_story.)
    index = StoryIndex()
    listing = [(slug, title, "") for slug, title, _ in (OSLO, BOGOTA, ACCRA)]
    oslo, bogota = run(_by_position(*listing[:2]), index)
    accra, oslo_again, bogota_again = run(_by_position(listing[2], *listing[:2]), index)
    assert accra.rule == "new story" and accra.story_id not in (oslo.story_id, bogota.story_id)
    assert (oslo_again.story_id, oslo_again.rule) == (oslo.story_id, "new guid")
    assert (bogota_again.story_id, bogota_again.rule) == (bogota.story_id, "new guid")
    again = run(_by_position(listing[2], *listing[:2]), index)
    assert [a.story_id for a in again] == [accra.story_id, oslo.story_id, bogota.story_id]
    # A reworded title on the same page, or the same title on a new page: the same item.
    reworded = texted(
        "pos", "1", "Accra maps its street lights", "", link="https://pos.example/accra"
    )
    moved = texted("pos", "1", ACCRA[1], "", link="https://pos.example/news/accra-lights")
    for edited in (reworded, moved):
        same, *_ = run([edited, *_by_position(listing[2], *listing[:2])[1:]], index)
        assert (same.rule, same.story_id) == ("same entry", accra.story_id)


def test_a_guid_given_to_another_item_with_no_text_as_the_oldest_falls_off() -> None:
    # A feed of three numbered by place: as Accra comes, Bogota (guid 3) falls off, and
    # guid 3 names Oslo while Bogota's page is gone. Oslo's page is stored under guid 2.
    index = StoryIndex()
    listing = [(slug, title, "") for slug, title, _ in (OSLO, BOGOTA, ACCRA)]
    new_york = ("new-york", "New York opens a curb data exchange", "")
    first = run(_by_position(new_york, listing[0], listing[1]), index)
    then = run(_by_position(listing[2], new_york, listing[0]), index)
    assert then[0].rule == "new story"
    assert [(a.story_id, a.rule) for a in then[1:]] == [
        (first[0].story_id, "new guid"),
        (first[1].story_id, "new guid"),
    ]


def test_an_item_without_guid_or_link_keeps_its_story_through_edits() -> None:
    # Its key is a hash of its title and text, so each edit makes a new key: the edited
    # item was a new story every time, and the old versions stayed published beside it.
    def linkless(key: str, title: str, text: str) -> Entry:
        return replace(texted("nolink", key, title, text), link=None, canonical_url=None)

    text = (
        "Traffic lights in Seoul are getting smarter with sensors across the city centre "
        "districts, and the city will publish their timings as open data from March."
    )
    index = StoryIndex()
    [first] = run([linkless("h1", "Traffic lights in Seoul", text)], index)
    [titled] = run([linkless("h2", "Smart traffic lights in Seoul", text)], index)
    assert (titled.rule, titled.story_id, titled.replaces) == (
        "new guid",
        first.story_id,
        ("nolink", "h1"),
    )
    edited = text.replace("from March", "from April, after a pilot")
    [retexted] = run([linkless("h3", "Smart traffic lights in Seoul", edited)], index)
    assert (retexted.rule, retexted.story_id) == ("new guid", first.story_id)
    # Another item of the feed, also without a link, is another story.
    other = "Busan opens a harbour data platform to start-ups and researchers from next year."
    [busan] = run([linkless("h4", "Busan harbour data platform", other)], index)
    assert busan.rule == "new story"


def test_a_guid_used_again_the_same_day_mints_a_story_id_of_its_own() -> None:
    # Numbered by place, two a feed: [Oslo, Bogota], [New York, Oslo], [Lyon, New York].
    # Guid 1 is free again for Lyon (Oslo moved on under a key of its own), and the id
    # minted from "feed + guid 1" on the same day was Oslo's: Lyon took Oslo's story.
    lyon = ("lyon", "Robot parking garage opens in Lyon", "")
    new_york = ("new-york", "New York opens a curb data exchange", "")
    oslo, bogota = ((slug, title, "") for slug, title, _ in (OSLO, BOGOTA))
    index = StoryIndex()
    first = run(_by_position(oslo, bogota), index)
    second = run(_by_position(new_york, oslo), index)
    third = run(_by_position(lyon, new_york), index)
    assert second[1].story_id == first[0].story_id  # Oslo keeps its id
    assert third[0].rule == "new story"
    assert third[0].story_id not in {a.story_id for a in (*first, *second)}
    assert third[1].story_id == second[0].story_id  # New York keeps its id


def test_a_story_takes_no_second_entry_of_one_feed() -> None:
    index = StoryIndex()
    [a] = run([texted("wego", "1", "WeGO and SCW share content with members", RELEASE)], index)
    [b] = run([texted("scw", "2", "WeGO and SCW share content with members", RELEASE)], index)
    [b2, c] = run(
        [
            texted("scw", "2", "WeGO and SCW share content with members", RELEASE),
            texted("scw", "3", "WeGO and SCW share content with members", RELEASE),
        ],
        index,
    )
    assert b.story_id == b2.story_id == a.story_id
    assert c.story_id != a.story_id and c.rule == "new story"  # scw lists two items


def test_entry_matching_two_stories_merges_them_into_the_older() -> None:
    index = StoryIndex()
    title = "WeGO and SCW share content with members"
    first_half, second_half = RELEASE[:200], RELEASE[200:]
    [old] = run([texted("wego", "1", title, first_half)], index)
    [new] = run([texted("scw", "2", title, second_half, NOW + 5 * DAY)], index)
    assert old.story_id != new.story_id
    [bridge] = run([texted("lab", "3", title, RELEASE, NOW + 2 * DAY)], index)
    assert bridge.story_id == old.story_id and bridge.merges == (new.story_id,)
    assert index.resolve(new.story_id) == old.story_id
    assert index.story_of(("scw", "2")) == old.story_id


def test_stories_sharing_a_feed_are_never_merged() -> None:
    index = StoryIndex()
    title = "WeGO and SCW share content with members"
    first_half, second_half = RELEASE[:200], RELEASE[200:]
    run([texted("wego", "1", title, first_half)], index)
    [a] = run([texted("scw", "2", title, first_half)], index)
    [b] = run([texted("wego", "3", title, second_half, NOW + 5 * DAY)], index)
    [bridge] = run([texted("lab", "4", title, RELEASE, NOW + 2 * DAY)], index)
    assert a.story_id != b.story_id and bridge.merges == ()


def test_chinese_titles_without_spaces_match() -> None:
    index = StoryIndex()
    text = "首尔市政府宣布向世界智慧可持续城市组织的会员城市开放其全市范围的数字孪生平台。"
    [a] = run([texted("wego-zh", "1", "首尔向会员城市开放数字孪生平台", text)], index)
    [b] = run([texted("scw-zh", "2", "新闻稿：首尔向会员城市开放数字孪生平台", "")], index)
    [c] = run([texted("hub-zh", "3", "首尔向会员城市开放交通数据平台", "")], index)
    assert b.story_id == a.story_id and c.story_id != a.story_id


def test_cluster_entries_follows_merges() -> None:
    title = "WeGO and SCW share content with members"
    batches = [
        [texted("wego", "1", title, RELEASE[:200])],
        [texted("scw", "2", title, RELEASE[200:], NOW + 5 * DAY)],
        [texted("lab", "3", title, RELEASE, NOW + 2 * DAY)],
    ]
    stories = cluster_entries(batches)
    assert len(set(stories.values())) == 1 and len(stories) == 3


def test_a_new_item_on_an_old_items_page_is_a_new_story() -> None:
    index = StoryIndex()
    page = "https://events.example/webinars"
    [three] = run([texted("hub", "w3", "Smart Mobility Webinar #3", OTHER, link=page)], index)
    # Next month the partner lists only the next episode, on the same page.
    [four] = run([texted("hub", "w4", "Smart Mobility Webinar #4", RELEASE, link=page)], index)
    assert four.story_id != three.story_id and four.replaces is None
    [other] = run([texted("scw", "x", "Smart Mobility Webinar #5", RELEASE, link=page)], index)
    assert other.story_id not in (three.story_id, four.story_id)
    # A typo fixed while the GUID churns is still the same item.
    fixed = texted("hub", "w4-new", "Smart Mobility Webinar #4 (updated)", RELEASE, link=page)
    [again] = run([fixed], index)
    assert again.story_id == four.story_id and again.replaces == ("hub", "w4")


def test_an_entry_seen_again_is_indexed_once() -> None:
    # Every entry of a changed feed body is recorded again; it used to be added again too,
    # and six polls of a busy feed pushed other partners' entries out of the LSH blocks.
    index = StoryIndex()
    member = "Member cities to share case studies and news"
    [original] = run([texted("b", "y", member, RELEASE)], index)
    [unrelated] = run([texted("a", "x", "Almaty street lights cut energy bill", RELEASE)], index)
    assert unrelated.story_id != original.story_id
    for _ in range(6):
        [again] = run([texted("a", "x", "Almaty street lights cut energy bill", RELEASE)], index)
        assert again.rule == "same entry"
    assert index.entries_of_story[unrelated.story_id] == (("a", "x"),)
    # found through the text's LSH bands only (another title, another link)
    [copy] = run([texted("c", "z", "Member cities to share their case studies", RELEASE)], index)
    assert copy.story_id == original.story_id and copy.rule == "text"


def test_an_entry_whose_text_changed_is_indexed_by_its_new_text() -> None:
    index = StoryIndex()
    [first] = run([texted("a", "x", "Member cities to share case studies and news", OTHER)], index)
    [changed] = run(
        [texted("a", "x", "Member cities to share case studies and news", RELEASE)], index
    )
    assert changed.story_id == first.story_id and changed.change == "changed"
    assert index.entries_of_story[first.story_id] == (("a", "x"),)
    [copy] = run([texted("c", "z", "Member cities to share their case studies", RELEASE)], index)
    assert copy.story_id == first.story_id and copy.rule == "text"


def test_home_page_link_is_no_canonical_url_match() -> None:
    # A home page says nothing about which story an entry is (the URL blocks skip them);
    # two partners' items with the site's address as link used to merge as "canonical url"
    # as soon as their texts shared an LSH band.
    index = StoryIndex()
    link = "https://partner.example/"
    [a] = run([texted("x", "1", "Seoul opens a digital twin", RELEASE, link=link)], index)
    [b] = run([texted("y", "2", "Busan budget for sensors", RELEASE, link=link)], index)
    assert b.story_id != a.story_id
