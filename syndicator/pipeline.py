"""One pass: fetch -> parse -> normalize -> dedupe -> store, then publish.

Orchestration only: each decision is made by a stage module; this module calls them in
order, catches what belongs to one feed at that feed's boundary, and reports.

Speed (bench/, issue 8): bodies are parsed and normalized while the fetch goes on, in worker
processes once a pass has many (``prepare.Preparer``); dedupe and the store then take the
feeds one at a time in config order, one transaction each, so ids never depend on timing.
A pass where nothing changed loads no story index and parses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlsplit

from syndicator import __version__
from syndicator.config import Config, FeedConfig
from syndicator.dedupe import Assignment, StoryIndex, assign_stories, build_story
from syndicator.fetch import FetchRequest, FetchResult, fetch_all
from syndicator.model import FeedState, Partner, Story
from syndicator.parse import ParseError
from syndicator.prepare import PrepareJob, Preparer, prepare
from syndicator.publish import WriteReport, render_all, write_output
from syndicator.store import FeedUpdate, Store

log = logging.getLogger(__name__)

# Connections per httpx client in a pass: small pools cost half the CPU per request of
# pools of 20 (fetch.fetch_all), and a pass may have many clients.
FETCH_POOL_PER_CLIENT = 5

Outcome = Literal["ok", "not_modified", "failed"]


@dataclass(frozen=True, slots=True)
class FeedReport:
    """How one feed's fetch went, in one sentence an operator can act on."""

    feed_id: str
    outcome: Outcome
    message: str
    entries: int = 0  # entries in the partner feed
    new_stories: int = 0
    updated_entries: int = 0  # entries whose title or text changed
    warning: str | None = None  # the feed works, but the operator should know (moved, bozo)


@dataclass(frozen=True, slots=True)
class PassContext:
    """What every feed of one pass shares: the store and the growing story index."""

    store: Store
    index: StoryIndex
    authority: str  # of new story ids
    # Parses the pass's bodies, in worker processes for a big pass; None: parse in place.
    preparer: Preparer | None = None


@dataclass(frozen=True, slots=True)
class PassReport:
    feeds: tuple[FeedReport, ...]
    published: WriteReport | None

    def count(self, outcome: Outcome) -> int:
        return sum(1 for f in self.feeds if f.outcome == outcome)

    @property
    def new_stories(self) -> int:
        return sum(f.new_stories for f in self.feeds)

    @property
    def updated_entries(self) -> int:
        return sum(f.updated_entries for f in self.feeds)


def user_agent(config: Config) -> str:
    return f"syndicator/{__version__} (+{config.site.url})"


def story_id_authority(config: Config) -> str:
    """The ``tag:`` authority of new story ids: the host the output is published at."""
    return urlsplit(config.site.url).hostname or "syndicator.invalid"


def fetch_requests(
    feeds: Sequence[FeedConfig], states: Mapping[str, FeedState]
) -> list[FetchRequest]:
    requests = []
    for feed in feeds:
        state = states.get(feed.id)
        # Validators belong to the URL they came from: after an edit of feeds.yaml, refetch.
        same_url = state is not None and state.url == feed.url
        requests.append(
            FetchRequest(
                feed_id=feed.id,
                url=feed.url,
                timeout=feed.timeout.total_seconds(),
                max_size=feed.max_size,
                allow_private_networks=feed.allow_private_networks,
                etag=state.etag if state and same_url else None,
                last_modified=state.last_modified if state and same_url else None,
                body_hash=state.body_hash if state and same_url else None,
            )
        )
    return requests


def run_pass(
    config: Config,
    store: Store,
    feeds: Sequence[FeedConfig],
    *,
    on_fetched: Callable[[FetchResult], None] | None = None,
) -> PassReport:
    """Fetch ``feeds``, store what changed, publish once. Never raises for a partner's fault.

    Bodies are parsed as they arrive (in worker processes when there are many, see
    ``prepare.Preparer``); dedupe and the store then take the feeds one by one in the
    order given, so story ids do not depend on which partner answered first.
    """
    states = store.feed_states()
    configs = {feed.id: feed for feed in feeds}
    with Preparer([feed.id for feed in feeds]) as preparer:

        def fetched(result: FetchResult) -> None:
            try:  # a body not added is parsed here when its feed is stored
                if result.outcome == "ok" and result.feed_id in configs:
                    preparer.add(_prepare_job(configs[result.feed_id], result))
            finally:
                if on_fetched is not None:
                    on_fetched(result)

        requests = fetch_requests(feeds, states)
        results = asyncio.run(
            fetch_all(
                requests,
                user_agent=user_agent(config),
                concurrency=fetch_concurrency(len(requests)),
                on_result=fetched,
                pool_per_client=FETCH_POOL_PER_CLIENT,
            )
        )
        # Matching needs every stored entry; a pass where nothing changed needs none.
        changed = any(result.outcome == "ok" for result in results)
        index = store.story_index() if changed else StoryIndex()
        context = PassContext(store, index, story_id_authority(config), preparer)
        reports = []
        for feed, result in zip(feeds, results, strict=True):
            report = apply_fetch(feed, result, states.get(feed.id), context)
            _log_report(report)
            reports.append(report)
    return PassReport(feeds=tuple(reports), published=publish_from_store(config, store))


def fetch_concurrency(feed_count: int) -> int:
    """Connections of one pass: 20, up to 100 for passes of 1,000 feeds and more.

    Partners are slow and far away: with 20 connections a 1,000-feed pass waits for ~50
    round trips to partners in a row.
    """
    return max(20, min(100, feed_count // 10))


def _prepare_job(feed: FeedConfig, result: FetchResult) -> PrepareJob:
    return PrepareJob(
        feed_id=result.feed_id,
        kind=feed.kind,
        body=result.body or b"",
        content_type=result.content_type,
        url=result.final_url,
        # Whole seconds: the store keeps seconds, and a date must read back as it was decided.
        fetched_at=result.fetched_at.replace(microsecond=0),
        max_entries=feed.max_entries,
        iframe_hosts=feed.iframe_hosts,
    )


def _log_report(report: FeedReport) -> None:
    level = logging.WARNING if report.outcome == "failed" else logging.INFO
    log.log(level, "%s", report.message)
    if report.warning:
        log.warning("%s", report.warning)


def apply_fetch(
    feed: FeedConfig,
    result: FetchResult,
    old_state: FeedState | None,
    context: PassContext,
) -> FeedReport:
    """Turn one fetch result into stored state and entries; one transaction."""
    state = replace(
        old_state or FeedState(feed_id=feed.id),
        url=feed.url,
        last_attempt=result.fetched_at,
        http_status=result.status,
        last_outcome=result.outcome,
        # What the partner asked about the next poll; the service schedules by it.
        partner_delay=result.retry_after if result.outcome == "failed" else result.fresh_for,
    )
    if result.outcome == "failed":
        return _record_failure(context.store, state, result.error or f"{feed.id}: fetch failed")
    succeeded = replace(
        state,
        etag=result.etag,
        last_modified=result.last_modified,
        last_success=result.fetched_at,
        consecutive_errors=0,
        last_error=None,
        warning=_redirect_warning(feed, result),
    )
    if result.outcome == "not_modified":
        context.store.apply(FeedUpdate(succeeded))
        message = f"{feed.id}: not modified"
        return FeedReport(feed.id, "not_modified", message, warning=succeeded.warning)
    try:
        return _store_entries(feed, result, succeeded, context)
    except ParseError as error:
        return _record_failure(context.store, state, f"{feed.id}: {error} ({result.final_url})")
    except Exception as error:  # a bug or a feed we did not foresee: it stays with this feed
        log.exception("%s: unexpected error while processing the feed", feed.id)
        return _record_failure(context.store, state, f"{feed.id}: internal error: {error!r}")


def _redirect_warning(feed: FeedConfig, result: FetchResult) -> str | None:
    if result.permanent_redirect:
        return (
            f"{feed.id}: the feed moved permanently to {result.permanent_redirect}; "
            f"update its url in feeds.yaml (line {feed.line})"
        )
    return None


def _record_failure(store: Store, state: FeedState, message: str) -> FeedReport:
    # Validators and body hash stay as they were: the next fetch must not take a broken
    # body for "not modified". Stored entries are never deleted by a failure.
    failed = replace(
        state,
        last_outcome="failed",
        consecutive_errors=state.consecutive_errors + 1,
        last_error=message,
    )
    store.apply(FeedUpdate(failed))
    return FeedReport(state.feed_id, "failed", message)


def _store_entries(
    feed: FeedConfig,
    result: FetchResult,
    state: FeedState,
    context: PassContext,
) -> FeedReport:
    job = _prepare_job(feed, result)
    fetched_at = job.fetched_at
    prepared = context.preparer.take(job) if context.preparer else prepare(job)
    parsed, entries = prepared.feed, prepared.entries
    stored = context.store.stored_entries(feed.id, [e.entry_key for e in entries])
    assignments = assign_stories(
        entries, context.index, stored, authority=context.authority, fetched_at=fetched_at
    )
    warning = state.warning or (f"{feed.id}: {parsed.warning}" if parsed.warning else None)
    state = replace(
        state,
        title=parsed.title or None,
        site_url=parsed.link,
        format=parsed.format,
        body_hash=result.body_hash,
        entry_count=prepared.entry_count,
        warning=warning,
        ttl_minutes=parsed.ttl_minutes,
    )
    context.store.apply(FeedUpdate(state, assignments, seen_at=fetched_at))
    context.index.record(assignments)
    return _entries_report(feed.id, prepared.entry_count, assignments, warning)


def _entries_report(
    feed_id: str, count: int, assignments: Sequence[Assignment], warning: str | None
) -> FeedReport:
    new = sum(1 for a in assignments if a.new_story)
    merged = sum(1 for a in assignments if a.change == "new" and not a.new_story)
    changed = sum(1 for a in assignments if a.change == "changed")
    message = f"{feed_id}: {count} entries, {new} new stories, {changed} updated"
    if merged:
        message += f", {merged} new entries joined existing stories"
    return FeedReport(feed_id, "ok", message, count, new, changed, warning)


def partners(config: Config, states: Mapping[str, FeedState]) -> dict[str, Partner]:
    """Credit for every feed we hold stories of, including feeds since removed from config."""
    result = {
        feed_id: Partner(feed_id, state.title or feed_id, state.url, state.site_url)
        for feed_id, state in states.items()
    }
    for feed in config.feeds:
        state = states.get(feed.id)
        result[feed.id] = Partner(
            feed_id=feed.id,
            name=feed.name or (state.title if state and state.title else feed.id),
            feed_url=feed.url,
            site_url=state.site_url if state else None,
            kind=feed.kind,
            tags=feed.tags,
        )
    return result


def load_stories(config: Config, store: Store, credit: Mapping[str, Partner]) -> list[Story]:
    """The stories publish needs: the newest ``max_items`` overall and of each kind."""
    priorities = {feed.id: feed.priority for feed in config.feeds}
    stories: list[Story] = []
    for _ in range(2):
        stored = store.latest_stories(config.site.max_items)
        ids = list(stored)
        copies = store.story_copies(ids)
        stories = [build_story(i, copies[i], credit, priorities) for i in ids if copies[i]]
        # The stored kind and event start are the shown copy's, used to pick the stories of
        # each feed; a changed priority can change which copy is shown: fix them, pick again.
        stale = {
            s.story_id: (s.kind, s.event.start if s.event else None)
            for s in stories
            if (s.kind, s.event.start if s.event else None) != stored[s.story_id]
        }
        if not stale:
            break
        store.set_story_shown(stale)
    return stories


def publish_from_store(config: Config, store: Store) -> WriteReport:
    """Render every published file from the store and write the ones that changed."""
    states = store.feed_states()
    credit = partners(config, states)
    stories = load_stories(config, store, credit)
    enabled = [credit[feed.id] for feed in config.enabled_feeds]
    files = render_all(config.site, stories, enabled)
    report = write_output(config.storage.output_dir, files)
    log.info(
        "published %d files to %s (%d rewritten, %d unchanged)",
        len(files),
        config.storage.output_dir,
        len(report.written),
        len(report.unchanged),
    )
    return report
