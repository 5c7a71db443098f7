"""schedule.next_poll: when a feed is polled next, and why; plus the partner hints reaching it
through the real pipeline (PartnerServer, fetch, store)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path

import pytest
from partner_server import PartnerServer

from syndicator.config import FeedConfig, load_config
from syndicator.model import FeedState
from syndicator.pipeline import run_pass
from syndicator.schedule import duration_text, is_gone, next_poll
from syndicator.store import MIGRATIONS, Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
URL = "https://www.smartcitiesworld.net/rss"
FEED = FeedConfig(id="scw-news", url=URL, line=14, interval=timedelta(minutes=15))


def state(**changes: object) -> FeedState:
    base = FeedState(
        feed_id="scw-news",
        url=URL,
        last_attempt=NOW,
        last_success=NOW,
        http_status=200,
        last_outcome="ok",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def delay(feed: FeedConfig, current: FeedState) -> timedelta:
    due = next_poll(feed, current, NOW).due
    assert due is not None
    return due - NOW


def test_interval_plus_at_most_ten_percent_jitter_never_sooner() -> None:
    plan = next_poll(FEED, state(), NOW)
    assert plan.reason == "every 15m"
    assert timedelta(minutes=15) <= delay(FEED, state()) <= timedelta(minutes=16, seconds=30)


def test_jitter_spreads_feeds_and_is_the_same_for_the_same_attempt() -> None:
    dues = {next_poll(replace(FEED, id=f"feed-{n}"), state(), NOW).due for n in range(50)}
    assert len(dues) == 50  # 50 feeds on 15m: not one second in common
    assert next_poll(FEED, state(), NOW) == next_poll(FEED, state(), NOW + timedelta(minutes=3))


def test_jitter_is_capped_at_five_minutes() -> None:
    daily = replace(FEED, interval=timedelta(days=7), max_poll_interval=timedelta(days=7))
    assert delay(daily, state()) <= timedelta(days=7, minutes=5)


def test_never_fetched_or_url_edited_is_due_now() -> None:
    assert next_poll(FEED, None, NOW).due == NOW
    assert next_poll(FEED, state(last_attempt=None), NOW).reason == "never fetched"
    moved = next_poll(replace(FEED, url="https://scw.net/new"), state(), NOW)
    assert (moved.due, moved.reason) == (NOW, "its url changed in feeds.yaml")


def test_disabled_feed_is_not_polled() -> None:
    plan = next_poll(replace(FEED, enabled=False), state(), NOW)
    assert (plan.due, plan.reason) == (None, "disabled in feeds.yaml (line 14)")


@pytest.mark.parametrize(
    ("errors", "expected"),
    [(1, timedelta(minutes=15)), (2, timedelta(minutes=30)), (3, timedelta(hours=1))],
)
def test_errors_back_off_exponentially(errors: int, expected: timedelta) -> None:
    failing = state(last_outcome="failed", http_status=500, consecutive_errors=errors)
    assert expected <= delay(FEED, failing) <= expected * 1.1
    if errors > 1:
        plan = next_poll(FEED, failing, NOW)
        assert plan.reason == f"backing off after {errors} consecutive errors"


def test_backoff_is_capped_and_keeps_probing() -> None:
    failing = state(last_outcome="failed", http_status=None, consecutive_errors=500)
    assert timedelta(days=1) <= delay(FEED, failing) <= timedelta(days=1, minutes=5)
    assert next_poll(FEED, failing, NOW).reason == (
        "backing off after 500 consecutive errors, capped at max_poll_interval 1d"
    )
    weekly = replace(FEED, max_poll_interval=timedelta(hours=2))
    assert delay(weekly, failing) <= timedelta(hours=2, minutes=5)


def test_retry_after_is_honoured_never_faster() -> None:
    limited = state(
        last_outcome="failed", http_status=429, consecutive_errors=1, partner_delay=3600.0
    )
    assert timedelta(hours=1) <= delay(FEED, limited) <= timedelta(hours=1, minutes=5)
    assert next_poll(FEED, limited, NOW).reason == "the partner asked to wait 1h (Retry-After)"
    short = replace(limited, partner_delay=5.0)  # less than the interval: the interval wins
    assert next_poll(FEED, short, NOW).reason == "every 15m"


def test_cache_control_and_ttl_stretch_the_interval_up_to_the_maximum() -> None:
    cached = state(partner_delay=7200.0)
    assert (
        next_poll(FEED, cached, NOW).reason
        == "the partner asked to wait 2h (Cache-Control/Expires)"
    )
    ttl = state(ttl_minutes=60, partner_delay=600.0)
    assert next_poll(FEED, ttl, NOW).reason == "the partner asked to wait 1h (RSS <ttl>)"
    huge = state(partner_delay=365 * 86400.0)
    assert delay(FEED, huge) <= timedelta(days=1, minutes=5)
    assert next_poll(FEED, huge, NOW).reason.endswith("capped at max_poll_interval 1d")


def test_410_gone_stops_polling_until_the_url_changes() -> None:
    gone = state(last_outcome="failed", http_status=410, consecutive_errors=3)
    assert is_gone(FEED, gone)
    plan = next_poll(FEED, gone, NOW)
    assert plan.due is None
    assert plan.reason == (
        "scw-news: HTTP 410 Gone since 2026-11-25 12:00 UTC; the partner removed this feed, so "
        "it is no longer fetched: remove it from feeds.yaml (line 14), or give it a new url"
    )
    assert next_poll(replace(FEED, url="https://scw.net/new"), gone, NOW).due == NOW
    assert not is_gone(FEED, replace(gone, last_outcome="ok", http_status=200))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(90, "90s"), (900, "15m"), (7200, "2h"), (86400, "1d"), (5400, "90m"), (7259, "2h 59s")],
)
def test_duration_text_uses_the_feeds_yaml_units(seconds: int, text: str) -> None:
    assert duration_text(timedelta(seconds=seconds)) == text


# --- partner hints through the real pipeline --------------------------------------------------

RSS_WITH_TTL = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><link>https://p.example/"
    b"</link><description>d</description><ttl>90</ttl><item><title>A</title>"
    b"<link>https://p.example/a</link></item></channel></rss>"
)
RSS = RSS_WITH_TTL.replace(b"<ttl>90</ttl>", b"")


def one_feed_config(folder: Path, url: str) -> Path:
    path = folder / "feeds.yaml"
    path.write_text(
        "site:\n  title: T\n  url: https://feeds.example.org/\n"
        "allow_private_networks: true\n"
        f"feeds:\n  - id: partner\n    url: {url}\n    interval: 10m\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (RSS, {"Cache-Control": "public, max-age=3600"}, 200, "wait 1h (Cache-Control/Expires)"),
        (
            RSS,
            {"Expires": formatdate(time.time() + 7260, usegmt=True)},
            200,
            "(Cache-Control/Expires)",
        ),
        (RSS, {"Expires": "0"}, 200, "every 10m"),
        (RSS, {"Cache-Control": "no-cache, max-age=3600"}, 200, "every 10m"),
        (RSS_WITH_TTL, {}, 200, "wait 90m (RSS <ttl>)"),
        (b"busy", {"Retry-After": "1800"}, 503, "wait 30m (Retry-After)"),
    ],
)
def test_partner_hints_reach_the_schedule(
    tmp_path: Path, body: bytes, headers: dict[str, str], status: int, reason: str
) -> None:
    with PartnerServer() as server:
        server.set("/feed", body, headers=headers, status=status)
        config = load_config(one_feed_config(tmp_path, server.url("/feed")))
        with Store(config.storage.database) as store:
            run_pass(config, store, list(config.feeds))
            current = store.feed_state("partner")
    plan = next_poll(config.feeds[0], current, datetime.now(UTC))
    assert plan.reason.endswith(reason)


def test_ttl_survives_a_304(tmp_path: Path) -> None:
    with PartnerServer() as server:
        server.set("/feed", RSS_WITH_TTL)
        config = load_config(one_feed_config(tmp_path, server.url("/feed")))
        with Store(config.storage.database) as store:
            run_pass(config, store, list(config.feeds))
            report = run_pass(config, store, list(config.feeds))
            current = store.feed_state("partner")
    assert report.feeds[0].outcome == "not_modified"
    assert current is not None and current.ttl_minutes == 90


def test_a_version_1_database_is_migrated_keeping_its_feeds(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO feeds (feed_id, url, consecutive_errors) VALUES ('scw-news', 'u', 2)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store(path) as store:
        migrated = store.feed_state("scw-news")
    assert migrated is not None
    assert (migrated.consecutive_errors, migrated.ttl_minutes, migrated.partner_delay) == (
        2,
        None,
        None,
    )
