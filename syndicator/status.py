"""Per-feed health as one JSON-ready document (``syndicator status --json``).

The shape is documented in README ("status --json"); keep it stable, add fields only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syndicator.config import Config, FeedConfig
from syndicator.lock import current_holder
from syndicator.model import FeedState
from syndicator.schedule import NextPoll, is_gone, next_poll
from syndicator.store import Store

STATUS_VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def feed_health(feed: FeedConfig, state: FeedState | None) -> str:
    """One word: disabled (in feeds.yaml, or 410 Gone), new (never fetched), ok, or failing."""
    if not feed.enabled or is_gone(feed, state):
        return "disabled"
    if state is None or state.last_attempt is None:
        return "new"
    return "failing" if state.consecutive_errors else "ok"


def feed_status(
    feed: FeedConfig,
    state: FeedState | None,
    now: datetime,
    scheduled: Mapping[str, datetime | None] | None = None,
) -> dict[str, Any]:
    """One feed's entry; ``scheduled`` is the running service's plan, when there is one."""
    plan = next_poll(feed, state, now)
    if scheduled is not None and plan.due is not None:
        # The service runs overdue feeds now, spread over a few seconds: show its real time.
        plan = NextPoll(scheduled.get(feed.id, plan.due), plan.reason)
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
        "next_due": _iso(plan.due),
        "next_due_reason": plan.reason,
        "disabled_reason": plan.reason if plan.due is None else None,
    }


def unreadable_config_document(
    config_path: Path, problems: Sequence[str], now: datetime | None = None
) -> dict[str, Any]:
    """The status document when feeds.yaml cannot be read: its shape, the problems, and
    null where the file would have said (the database and output paths come from it), so a
    script reading ``status --json`` always gets one document."""
    return {
        "version": STATUS_VERSION,
        "config": str(config_path.resolve()),
        "database": None,
        "output_dir": None,
        "checked_at": _iso(now or datetime.now(UTC)),
        "stories": None,
        "entries": None,
        "running": None,
        "config_problems": list(problems),
        "publish_error": None,
        "feeds": [],
    }


def status_document(
    config: Config,
    store: Store,
    now: datetime | None = None,
    *,
    scheduled: Mapping[str, datetime | None] | None = None,
    config_problems: Sequence[str] = (),
    publish_error: str | None = None,
) -> dict[str, Any]:
    """Everything ``status`` shows, for people (as a table) and scripts (as JSON).

    The service passes ``scheduled`` (its jobs' next run times), ``config_problems``
    (why the last edit of feeds.yaml was refused while it runs on the previous one) and
    ``publish_error`` (why its last publish failed).
    """
    moment = now or datetime.now(UTC)
    states = store.feed_states()
    counts = store.counts()
    holder = current_holder(config.storage.database)
    return {
        "version": STATUS_VERSION,
        "config": str(config.path),
        "database": str(config.storage.database),
        "output_dir": str(config.storage.output_dir),
        "checked_at": _iso(moment),
        "stories": counts["stories"],
        "entries": counts["entries"],
        "running": asdict(holder) if holder else None,
        "config_problems": list(config_problems),
        "publish_error": publish_error,
        "feeds": [
            feed_status(feed, states.get(feed.id), moment, scheduled) for feed in config.feeds
        ],
    }
