"""The demo's sample partners: their dates move on with the calendar, by whole weeks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from syndicator.demo import (
    DEMO_FEEDS,
    demo_feeds_dir,
    shift_dates,
    weeks_to_shift,
    write_partner_files,
)
from syndicator.parse import parse_feed


def test_dates_of_every_kind_move_and_keep_their_weekday() -> None:
    text = (
        '<pubDate>Wed, 18 Nov 2026 14:05:00 +0000</pubDate> "id": "scw-webinar-2026-12-10", '
        '"date_published": "2026-11-09T09:00:00+01:00" <p>Thursday 10 December 2026, 14:00 GMT'
    )
    assert shift_dates(text, 7 * 7) == (
        '<pubDate>Wed, 06 Jan 2027 14:05:00 +0000</pubDate> "id": "scw-webinar-2027-01-28", '
        '"date_published": "2026-12-28T09:00:00+01:00" <p>Thursday 28 January 2027, 14:00 GMT'
    )


def test_what_is_not_a_date_stays() -> None:
    text = (
        "news-2026/seoul-digital-twin /wp-content/uploads/2026/11/partnership.jpg "
        "Connectivity trend report 2026 스마트 시티 리더스 포럼 2026 "
    )
    assert shift_dates(text, 70) == text


def at(day: int, hour: int = 12, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_weeks_to_shift_turn_when_the_first_webinar_has_passed() -> None:
    assert weeks_to_shift(at(25, month=11)) == 0  # written: all three webinars ahead
    assert weeks_to_shift(at(26, 9, month=11)) == 0
    assert weeks_to_shift(at(2)) == 0  # a Wednesday: 26 November is still the one just past
    assert weeks_to_shift(at(3, 9)) == 0  # the week turns at 10:00 UTC on Thursdays
    assert weeks_to_shift(at(3, 11)) == 1
    assert weeks_to_shift(at(7)) == 1
    assert weeks_to_shift(datetime(2026, 1, 1, tzinfo=UTC)) == 0  # before: as written


@pytest.mark.parametrize("day", range(26, 26 + 14))
def test_one_demo_webinar_has_just_passed_and_two_are_ahead(tmp_path: Path, day: int) -> None:
    now = datetime(2026, 11, 1, 12, tzinfo=UTC) + timedelta(days=day - 1)
    folder = write_partner_files(tmp_path, now=now)
    webinars = json.loads((folder / "scw-webinars.json").read_text(encoding="utf-8"))
    starts = [
        date.fromisoformat(item["id"].removeprefix("scw-webinar-")) for item in webinars["items"]
    ]
    # at noon, after the 10:00 start of a Thursday's webinar; the others are a week apart
    assert sum(start <= now.date() for start in starts) == 1, (now, starts)


def test_partner_files_written_months_later_still_have_upcoming_webinars(
    tmp_path: Path,
) -> None:
    folder = write_partner_files(tmp_path, now=datetime(2027, 3, 1, tzinfo=UTC))  # 13 weeks on
    webinars = json.loads((folder / "scw-webinars.json").read_text(encoding="utf-8"))
    assert [item["id"] for item in webinars["items"]] == [
        "scw-webinar-2027-03-11",
        "scw-webinar-2027-03-04",
        "scw-webinar-2027-02-25",
    ]
    assert "Thursday 11 March 2027, 14:00 GMT" in webinars["items"][0]["content_html"]
    for _, file_name, *_ in DEMO_FEEDS:
        url = f"http://127.0.0.1/{file_name}"
        moved = parse_feed((folder / file_name).read_bytes(), content_type=None, url=url)
        written = parse_feed(
            (demo_feeds_dir() / file_name).read_bytes(), content_type=None, url=url
        )
        assert moved.warning is None and len(moved.entries) == len(written.entries) > 0
        for after, before in zip(moved.entries, written.entries, strict=True):
            assert after.title == before.title
            moved_date, written_date = (
                after.published or after.updated,
                before.published or before.updated,
            )
            assert moved_date is not None and written_date is not None
            assert (moved_date - written_date).days == 13 * 7
