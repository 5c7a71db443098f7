"""Per-feed health as one JSON-ready document (``syndicator status --json``).

The shape is documented in README ("status --json"); keep it stable, add fields only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syndicator.config import Config, FeedConfig
from syndicator.model import FeedState
from syndicator.store import Store

STATUS_VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def feed_health(feed: FeedConfig, state: FeedState | None) -> str:
    """One word: disabled, new (never fetched), ok, or failing."""
    if not feed.enabled:
        return "disabled"
    if state is None or state.last_attempt is None:
        return "new"
    return "failing" if state.consecutive_errors else "ok"


def next_due(feed: FeedConfig, state: FeedState | None, now: datetime) -> datetime | None:
    if not feed.enabled:
        return None
    if state is None or state.last_attempt is None:
        return now
    return state.last_attempt + feed.interval


def feed_status(feed: FeedConfig, state: FeedState | None, now: datetime) -> dict[str, Any]:
    return {
        "id": feed.id,
        "name": feed.name or (state.title if state else None) or feed.id,
        "url": feed.url,
        "line": feed.line,
        "kind": feed.kind,
        "enabled": feed.enabled,
        "health": feed_health(feed, state),
        "last_attempt": _iso(state.last_attempt if state else None),
        "last_success": _iso(state.last_success if state else None),
        "last_outcome": state.last_outcome if state else None,
        "http_status": state.http_status if state else None,
        "format": state.format if state else None,
        "entries": state.entry_count if state else 0,
        "consecutive_errors": state.consecutive_errors if state else 0,
        "last_error": state.last_error if state else None,
        "warning": state.warning if state else None,
        "next_due": _iso(next_due(feed, state, now)),
    }


def status_document(config: Config, store: Store, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``status`` shows, for people (as a table) and scripts (as JSON)."""
    moment = now or datetime.now(UTC)
    states = store.feed_states()
    counts = store.counts()
    return {
        "version": STATUS_VERSION,
        "config": str(config.path),
        "database": str(config.storage.database),
        "output_dir": str(config.storage.output_dir),
        "checked_at": _iso(moment),
        "stories": counts["stories"],
        "entries": counts["entries"],
        "feeds": [feed_status(feed, states.get(feed.id), moment) for feed in config.feeds],
    }
