"""When to poll a feed next: one pure decision over what we know of it.

    next_poll(feed, state, now) -> NextPoll(due, reason)

``syndicator run`` schedules each feed at ``due``; ``status`` shows the same ``due`` and
``reason``, so an operator sees exactly why a feed waits. The rules (issue 4):

- disabled in feeds.yaml: not polled (``due`` is None);
- never fetched, or its url was edited in feeds.yaml: now;
- the partner answered ``410 Gone`` for this url: not polled until feeds.yaml changes, and
  ``gone_sentence`` tells the operator to remove it (with its feeds.yaml line);
- otherwise ``last_attempt`` + a delay:
  - the feed's ``interval``; after n consecutive errors ``interval * 2**(n-1)`` (backoff);
  - never less than what the partner asked: ``Retry-After`` on 429/503, ``Cache-Control:
    max-age`` / ``Expires``, RSS ``<ttl>``;
  - never more than ``max_poll_interval`` (or the interval when that is longer): a failing
    feed keeps being probed, it never silently stops (miniflux/v2#879);
  - plus a jitter of up to 10% of the delay (at most 5 minutes), always later, never
    sooner, so 50 feeds on ``15m`` do not all fire in the same second. The jitter is derived
    from the feed id and the attempt time, so ``status`` and the service agree on ``due``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from syndicator.config import FeedConfig
from syndicator.model import FeedState

JITTER_FRACTION = 0.1
MAX_JITTER = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class NextPoll:
    due: datetime | None  # aware UTC; None: the feed is not polled
    reason: str  # why then, for status: "every 15m", "backing off after 3 errors", ...


def is_gone(feed: FeedConfig, state: FeedState | None) -> bool:
    """The partner's last answer for this very url was ``410 Gone``."""
    return (
        state is not None
        and state.url == feed.url
        and state.last_outcome == "failed"
        and state.http_status == 410
    )


def gone_sentence(feed: FeedConfig, state: FeedState) -> str:
    when = state.last_attempt.astimezone(UTC) if state.last_attempt else None
    since = f" since {when:%Y-%m-%d %H:%M} UTC" if when else ""
    return (
        f"{feed.id}: HTTP 410 Gone{since}; the partner removed this feed, so it is no longer "
        f"fetched: remove it from feeds.yaml (line {feed.line}), or give it a new url"
    )


def next_poll(feed: FeedConfig, state: FeedState | None, now: datetime) -> NextPoll:
    """When ``feed`` should be fetched next, and why (see the module docstring)."""
    if not feed.enabled:
        return NextPoll(None, f"disabled in feeds.yaml (line {feed.line})")
    if state is None or state.last_attempt is None:
        return NextPoll(now, "never fetched")
    if state.url != feed.url:
        return NextPoll(now, "its url changed in feeds.yaml")
    if is_gone(feed, state):
        return NextPoll(None, gone_sentence(feed, state))
    delay, reason = _delay(feed, state)
    return NextPoll(
        state.last_attempt + delay + _jitter(feed.id, state.last_attempt, delay), reason
    )


def _delay(feed: FeedConfig, state: FeedState) -> tuple[timedelta, str]:
    interval = feed.interval
    ceiling = max(feed.max_poll_interval, interval)
    failing = state.last_outcome == "failed" and state.consecutive_errors > 0
    if failing:
        errors = state.consecutive_errors
        # In seconds: interval * 2**(errors-1) soon overflows timedelta.
        doubled = interval.total_seconds() * 2.0 ** min(errors - 1, 64)
        delay = min(timedelta(seconds=min(doubled, ceiling.total_seconds())), ceiling)
        reason = f"every {duration_text(interval)}"
        if delay > interval:
            reason = f"backing off after {errors} consecutive errors"
    else:
        delay, reason = interval, f"every {duration_text(interval)}"
    asked, why = _partner_asked(state, failing)
    if asked > delay:
        delay = min(asked, ceiling)
        reason = f"the partner asked to wait {duration_text(asked)} ({why})"
    if delay == ceiling and delay > interval:
        reason += f", capped at max_poll_interval {duration_text(ceiling)}"
    return delay, reason


def _partner_asked(state: FeedState, failing: bool) -> tuple[timedelta, str]:
    """The longest wait the partner asked for, and which header or element said so."""
    asked, why = timedelta(0), ""
    if state.partner_delay:
        asked = timedelta(seconds=state.partner_delay)
        why = "Retry-After" if failing else "Cache-Control/Expires"
    if state.ttl_minutes and timedelta(minutes=state.ttl_minutes) > asked:
        asked, why = timedelta(minutes=state.ttl_minutes), "RSS <ttl>"
    return asked, why


def _jitter(feed_id: str, attempt: datetime, delay: timedelta) -> timedelta:
    spread = min(delay * JITTER_FRACTION, MAX_JITTER)
    fraction = zlib.crc32(f"{feed_id} {attempt.isoformat()}".encode()) / 2**32
    return spread * fraction


def duration_text(value: timedelta) -> str:
    """``15m``, ``2h``, ``1d``, ``90s``: the feeds.yaml units, the largest that fits exactly;
    else every unit that is not zero (``2h 59s``)."""
    seconds = round(value.total_seconds())
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    for unit, size in units[:3]:
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    if seconds < 120:
        return f"{seconds}s"
    parts = []
    for unit, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"
