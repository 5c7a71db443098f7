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
import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal
from urllib.parse import urlsplit

from syndicator import __version__
from syndicator.config import Config, FeedConfig
from syndicator.dedupe import (
    Assignment,
    FeedEntryKey,
    StoryIndex,
    assign_stories,
    build_story,
    signature_of,
)
from syndicator.discover import discover_feeds, looks_like_html
from syndicator.fetch import FetchRequest, FetchResult, fetch_all
from syndicator.model import KINDS, FeedState, Kind, Partner, StoredEntry, Story
from syndicator.parse import ParseError
from syndicator.prepare import PrepareJob, Preparer, prepare
from syndicator.publish import (
    RENDERER_DIGEST,
    BackgroundWriter,
    EntryCache,
    WriteReport,
    partner_file,
    read_fingerprints,
    render_all,
    render_partner_files,
    select_newest,
    select_webinars,
    write_fingerprints,
    write_output,
)
from syndicator.store import FeedUpdate, Store
from syndicator.wording import counted

log = logging.getLogger(__name__)

# Connections per httpx client in a pass: small pools cost half the CPU per request of
# pools of 20 (fetch.fetch_all), and a pass may have many clients.
FETCH_POOL_PER_CLIENT = 5
# Partner files rendered (and their stories held) at once when publishing.
PARTNER_FILES_AT_ONCE = 50

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

    @property
    def warnings(self) -> list[str]:
        """Each thing ``warning`` warns of (one a line), to log as events of their own."""
        return self.warning.split(_WARNINGS_APART) if self.warning else []


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
                config_line=feed.line or None,
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
        reports = _apply_fetches(config, store, feeds, results, states=states, preparer=preparer)
    return PassReport(feeds=reports, published=publish_from_store(config, store))


def _apply_fetches(
    config: Config,
    store: Store,
    feeds: Sequence[FeedConfig],
    results: Sequence[FetchResult],
    *,
    states: Mapping[str, FeedState],
    preparer: Preparer,
) -> tuple[FeedReport, ...]:
    """Store every feed's fetch, in the order given. The story index lives only as long as
    this call: publishing, after it, does not need the index's memory too."""
    # Matching needs every stored entry; a pass where nothing changed needs none.
    changed = any(result.outcome == "ok" for result in results)
    index = load_story_index(store) if changed else StoryIndex()
    context = PassContext(store, index, story_id_authority(config), preparer)
    reports = []
    for feed, result in zip(feeds, results, strict=True):
        report = apply_fetch(feed, result, states.get(feed.id), context)
        _log_report(report)
        reports.append(report)
    return tuple(reports)


def load_story_index(store: Store) -> StoryIndex:
    """The story index, after giving entries stored before signatures existed their own."""
    while missing := store.entries_without_signature(1000):
        store.set_signatures(
            {(s.entry.feed_id, s.entry.entry_key): signature_of(s.entry) for s in missing}
        )
    return store.story_index()


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
        rules=feed.rules,
        filters=feed.filters,
    )


def _log_report(report: FeedReport) -> None:
    level = logging.WARNING if report.outcome == "failed" else logging.INFO
    log.log(level, "%s", report.message)
    for warning in report.warnings:
        log.warning("%s", warning)


def apply_fetch(
    feed: FeedConfig,
    result: FetchResult,
    old_state: FeedState | None,
    context: PassContext,
) -> FeedReport:
    """Turn one fetch result into stored state and entries; one transaction."""
    same_url = old_state is not None and old_state.url == feed.url
    state = replace(
        old_state or FeedState(feed_id=feed.id),
        url=feed.url,
        # A new url's errors are its own: the old one's would start it deep in back-off.
        consecutive_errors=old_state.consecutive_errors if old_state and same_url else 0,
        # Its end: the wait to the next poll counts from there, or a partner that takes
        # longer than the interval (or the back-off) to answer would be asked back to back.
        last_attempt=_second_up(result.fetched_at + timedelta(seconds=result.duration)),
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
        # When this fetch began: the moment its entries count as seen (``last_seen``).
        last_success=result.fetched_at,
        consecutive_errors=0,
        last_error=None,
        warning=_redirect_warning(feed, result),
    )
    if result.outcome == "not_modified":
        # The same body: what its parse warned of (cut off, entries dropped) still holds.
        body_warning = _body_warning(feed, old_state) if same_url else None
        succeeded = replace(succeeded, warning=_warnings(succeeded.warning, body_warning))
        context.store.apply(FeedUpdate(succeeded))
        message = f"{feed.id}: not modified"
        return FeedReport(feed.id, "not_modified", message, warning=succeeded.warning)
    try:
        return _store_entries(feed, result, succeeded, context)
    except ParseError as error:
        message = f"{feed.id}: {error} ({result.final_url}){_announced(feed, result)}"
        return _record_failure(context.store, state, message)
    except Exception as error:  # a bug or a feed we did not foresee: it stays with this feed
        log.exception("%s: unexpected error while processing the feed", feed.id)
        return _record_failure(context.store, state, f"{feed.id}: internal error: {error!r}")


def _second_up(moment: datetime) -> datetime:
    """``moment`` rounded up to a whole second, as the store keeps it: rounded down, a
    second could come off the wait to the next poll."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def _redirect_warning(feed: FeedConfig, result: FetchResult) -> str | None:
    if result.permanent_redirect:
        return (
            f"{_moved_prefix(feed)}{result.permanent_redirect}; "
            f"update its url in feeds.yaml (line {feed.line})"
        )
    return None


def _moved_prefix(feed: FeedConfig) -> str:
    return f"{feed.id}: the feed moved permanently to "


def _body_warning(feed: FeedConfig, state: FeedState | None) -> str | None:
    """The stored warnings, less the redirect's (which each fetch says anew)."""
    stored = state.warning.split(_WARNINGS_APART) if state and state.warning else []
    return _warnings(*(w for w in stored if not w.startswith(_moved_prefix(feed))))


# A feed can warn of two things at once (moved, and its body cut off): one sentence a line,
# each starting with the feed id, so `status` prints each as a problem of its own.
_WARNINGS_APART = "\n"


def _warnings(*warnings: str | None) -> str | None:
    return _WARNINGS_APART.join(w for w in warnings if w) or None


def _announced(feed: FeedConfig, result: FetchResult) -> str:
    """Where a web page served instead of the feed says the feed is: a partner that moved
    its feed often leaves such a page behind."""
    body = result.body or b""
    if not looks_like_html(body, result.content_type):
        return ""
    found = [f.url for f in discover_feeds(body, result.final_url)][:3]
    if not found:
        return ""
    which = "that is the feed" if len(found) == 1 else "one of them is the feed"
    return (
        f"; the page announces {', '.join(found)}: if {which}, put it in feeds.yaml "
        f"(line {feed.line})"
    )


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


class StoredOfFeed(Mapping[FeedEntryKey, StoredEntry]):
    """The stored versions of a fetch's entries, read at once, and of any other entry of the
    feed that dedupe asks for (the one a new GUID replaces: its stored link is kept when
    nothing but the link's form changed), read when asked."""

    def __init__(self, store: Store, feed_id: str, keys: Sequence[str]) -> None:
        self._store, self._feed_id = store, feed_id
        self._read = store.stored_entries(feed_id, keys)
        self._absent: set[FeedEntryKey] = set()

    def __getitem__(self, key: FeedEntryKey) -> StoredEntry:
        if key not in self._read and key not in self._absent and key[0] == self._feed_id:
            self._read.update(self._store.stored_entries(self._feed_id, [key[1]]))
            if key not in self._read:
                self._absent.add(key)
        return self._read[key]

    def __iter__(self) -> Iterator[FeedEntryKey]:
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)


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
    stored = StoredOfFeed(context.store, feed.id, [e.entry_key for e in entries])
    assignments = assign_stories(
        entries, context.index, stored, authority=context.authority, fetched_at=fetched_at
    )
    warning = _warnings(
        state.warning,
        f"{feed.id}: {parsed.warning}" if parsed.warning else None,
        _emptied_warning(feed, prepared.entry_count, context.store),
    )
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
    report = _entries_report(feed.id, prepared.entry_count, assignments, warning)
    if prepared.excluded:
        note = f", {prepared.excluded} excluded by feeds.yaml filters"
        report = replace(report, message=report.message + note)
    return report


def _emptied_warning(feed: FeedConfig, entry_count: int, store: Store) -> str | None:
    """A feed that lists nothing where it listed entries: still "ok" (a partner may clear
    its feed on purpose), but said, so a broken feed generator does not go unnoticed."""
    if entry_count or not store.has_entries(feed.id):
        return None
    return (
        f"{feed.id}: the feed lists no entries now; the stories it carried stay published; "
        "tell the partner if that is not expected"
    )


def _entries_report(
    feed_id: str, count: int, assignments: Sequence[Assignment], warning: str | None
) -> FeedReport:
    new = sum(1 for a in assignments if a.new_story)
    joined = sum(1 for a in assignments if a.change == "new" and not a.new_story)
    renamed = sum(1 for a in assignments if a.replaces is not None)
    merges = sum(len(a.merges) for a in assignments)
    changed = sum(1 for a in assignments if a.change == "changed")
    parts = [counted(count, "entry"), counted(new, "new story"), f"{changed} updated"]
    if joined:
        stories = "an existing story" if joined == 1 else "existing stories"
        parts.append(f"{counted(joined, 'new entry')} joined {stories}")
    if renamed:
        parts.append(f"{counted(renamed, 'entry')} came back under a new guid")
    if merges:
        others = "another" if merges == 1 else "others"
        parts.append(f"{counted(merges, 'story')} merged into {others}")
    message = f"{feed_id}: {', '.join(parts)}"
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
            max_stories=feed.max_stories,
        )
    return result


StoredShown = dict[str, tuple[Kind, datetime | None]]  # story id -> stored kind, event start


class _StoryLoader:
    """Builds stories from the store on demand, each once; remembers what the store said of
    each story's kind and event start, to find the ones that are stale."""

    def __init__(
        self, store: Store, credit: Mapping[str, Partner], priorities: Mapping[str, int]
    ) -> None:
        self._store = store
        self._credit = credit
        self._priorities = priorities
        self.built: dict[str, Story] = {}
        self.copies: dict[str, list[StoredEntry]] = {}
        self.stored: StoredShown = {}

    def stories(self, stored: StoredShown) -> list[Story]:
        """The stories of ``stored``, in its order (those without any entry left out)."""
        self.stored.update(stored)
        missing = [story_id for story_id in stored if story_id not in self.copies]
        self.copies.update(self._store.story_copies(missing))
        for story_id in missing:
            if self.copies[story_id]:
                copies = self.copies[story_id]
                self.built[story_id] = build_story(story_id, copies, self._credit, self._priorities)
        return [self.built[i] for i in stored if i in self.built]

    def stale(self) -> StoredShown:
        return {
            s.story_id: (s.kind, s.event.start if s.event else None)
            for story_id, s in self.built.items()
            if story_id in self.stored
            and (s.kind, s.event.start if s.event else None) != self.stored[story_id]
        }


def load_stories(
    config: Config,
    store: Store,
    credit: Mapping[str, Partner],
    *,
    now: datetime | None = None,
) -> list[Story]:
    """The stories of the merged feeds: all, each kind, each tag, and the webinars.

    Only what the files can hold is read: the newest ``max_items`` of each feed, more when a
    feed's ``max_stories`` cap skips some (read in pages until the file is full or the store
    has no more), and for ``webinars.*`` the upcoming and recent ones as of ``now``.
    """
    loader = _story_loader(config, store, credit)
    moment = _utc_now(now)
    _load_merged(config, store, loader, moment)
    return _dated_by_shown_copy(store, list(loader.built.values()), moment)


def _dated_by_shown_copy(store: Store, stories: Sequence[Story], now: datetime) -> list[Story]:
    """``stories``, each ``updated`` no earlier than the moment its shown copy became the
    one shown: another copy shown (a partner's priority raised, a fuller copy come in) is
    another title, link and text, which readers only fetch again for a newer ``updated``.
    A copy recorded for the first time (a new story; a database from before the record)
    moves nothing."""
    recorded = store.shown_copies([story.story_id for story in stories])
    changes: dict[str, tuple[str, datetime | None]] = {}
    dated: list[Story] = []
    for story in stories:
        copy, since = recorded.get(story.story_id, (None, None))
        if copy != story.shown_copy:
            since = None if copy is None else now
            changes[story.story_id] = (story.shown_copy, since)
        if since is not None and since > story.updated:
            dated.append(replace(story, updated=since))
        else:
            dated.append(story)
    if changes:
        store.set_shown_copies(changes)
    return dated


def _story_loader(config: Config, store: Store, credit: Mapping[str, Partner]) -> _StoryLoader:
    return _StoryLoader(store, credit, {feed.id: feed.priority for feed in config.feeds})


def _utc_now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _load_merged(config: Config, store: Store, loader: _StoryLoader, now: datetime) -> None:
    limit = config.site.max_items
    keep = config.site.keep_past_webinars
    tags = sorted({tag for feed in config.enabled_feeds for tag in feed.tags})
    for _ in range(2):
        loader.stored = {}
        _fill(loader, lambda n: (store.newest_stories(n),), limit)
        for kind in KINDS:
            if kind != "webinar":
                _fill(loader, partial(_of_kind, store, kind), limit)
        _fill(loader, lambda n: store.webinar_stories(now, now - keep, n), limit, now, keep)
        for tag in tags:
            carriers = [feed.id for feed in config.feeds if tag in feed.tags]
            _fill(loader, partial(_carried_by, store, carriers), limit)
        # The stored kind and event start are the shown copy's, used to pick the stories of
        # each feed; a changed priority can change which copy is shown: fix them, pick again.
        stale = loader.stale()
        if not stale:
            return
        store.set_story_shown(stale)


def _of_kind(store: Store, kind: Kind, count: int) -> tuple[StoredShown, ...]:
    return (store.newest_stories(count, kind=kind),)


def _carried_by(store: Store, feed_ids: list[str], count: int) -> tuple[StoredShown, ...]:
    return (store.newest_stories(count, feed_ids=feed_ids),)


def _fill(
    loader: _StoryLoader,
    page: Callable[[int], tuple[StoredShown, ...]],
    limit: int,
    now: datetime | None = None,
    keep: timedelta | None = None,
) -> None:
    """Read ``page(count)`` stories, doubling ``count`` until the file holds ``limit`` once
    the ``max_stories`` caps are applied, or the store has no more (a part shorter than asked).
    """
    count = limit
    while True:
        parts = page(count)
        stories = [story for part in parts for story in loader.stories(part)]
        if now is not None and keep is not None:
            chosen = select_webinars(stories, now, keep, limit)
        else:
            chosen = select_newest(stories, limit)
        if len(chosen) >= limit or all(len(part) < count for part in parts):
            return
        count *= 2


def load_partner_stories(
    config: Config,
    store: Store,
    credit: Mapping[str, Partner],
    stories: Sequence[Story],
    selections: Mapping[str, Sequence[str]],
) -> dict[str, list[Story]]:
    """The stories of ``selections`` (feed id -> story ids), each showing that feed's copy.

    A story whose shown copy already is that feed's is the same object as in ``stories``, so
    publish renders it once for every file.
    """
    shown = {story.story_id: story for story in stories}
    need = sorted(
        {
            story_id
            for feed_id, ids in selections.items()
            for story_id in ids
            if story_id not in shown or shown[story_id].source.feed_id != feed_id
        }
    )
    copies = store.story_copies(need)
    result: dict[str, list[Story]] = {}
    for feed_id, ids in selections.items():
        views = []
        for story_id in ids:
            story = shown.get(story_id)
            if story is not None and story.source.feed_id == feed_id:
                views.append(story)
            elif copies.get(story_id):
                views.append(build_story(story_id, copies[story_id], credit, {feed_id: 1}))
        result[feed_id] = views
    return result


def _partner_fingerprints(
    config: Config, credit: Mapping[str, Partner], versions: Mapping[str, list[tuple[str, str]]]
) -> dict[str, str]:
    """partners/<id>.atom -> a digest of everything its bytes depend on: the renderer, the
    site settings, every partner's credit, and the version of each story it lists."""
    basis = hashlib.sha256(
        f"{RENDERER_DIGEST}\n{config.site!r}\n{sorted(credit.items())!r}".encode()
    )
    result = {}
    for feed_id, listed in versions.items():
        digest = basis.copy()
        digest.update(f"\n{feed_id}\n{listed!r}".encode())
        result[partner_file(feed_id)] = digest.hexdigest()
    return result


def publish_from_store(config: Config, store: Store, *, now: datetime | None = None) -> WriteReport:
    """Render every published file from the store and write the ones that changed.

    ``now`` (default: the clock) decides which webinars are upcoming or recent. A partner's
    own feed (``partners/<id>.atom``) is read and rendered only when what it is made of
    changed since the last publish (``publish.read_fingerprints``): there is one per feed,
    and together they hold every stored story.
    """
    moment = _utc_now(now)
    output = config.storage.output_dir
    states = store.feed_states()
    credit = partners(config, states)
    stories = load_stories(config, store, credit, now=moment)
    feed_ids = [feed.id for feed in config.enabled_feeds]
    versions = store.feed_story_versions(feed_ids, config.site.max_items)
    fingerprints = _partner_fingerprints(config, credit, versions)
    recorded = read_fingerprints(output)
    unchanged = {
        feed_id
        for feed_id in feed_ids
        if recorded.get(name := partner_file(feed_id)) == fingerprints[name]
        and (output / name).is_file()
    }
    selections = {
        feed_id: [story_id for story_id, _ in versions[feed_id]]
        for feed_id in feed_ids
        if feed_id not in unchanged
    }
    enabled = [credit[feed_id] for feed_id in feed_ids]
    # A story of the merged feeds in a partner's file (its shown copy is that partner's) is
    # the same object there: its entry is rendered once (publish.EntryCache).
    cache = EntryCache()
    # Files are written in a thread while the next ones render (publish.BackgroundWriter).
    with BackgroundWriter(output) as writer:
        merged = list(  # the names only: the bytes go once they are written
            render_all(
                config.site,
                stories,
                enabled,
                now=moment,
                partner_stories={},
                partner_files=(),
                cache=cache,
                on_files=writer.submit,
            )
        )
        # Partner files a few partners at a time: together they hold every stored story, so
        # a cold pass of 1,000 feeds would otherwise hold all 50,000 in memory at once.
        changed = sorted(selections)
        for start in range(0, len(changed), PARTNER_FILES_AT_ONCE):
            chunk = {f: selections[f] for f in changed[start : start + PARTNER_FILES_AT_ONCE]}
            by_partner = load_partner_stories(config, store, credit, stories, chunk)
            chunk_partners = [credit[f] for f in chunk]
            writer.submit(
                render_partner_files(config.site, chunk_partners, by_partner, cache=cache)
            )
    reports = writer.reports
    current = [*merged, *(partner_file(feed_id) for feed_id in feed_ids)]
    removed = write_output(output, {}, keep=current).removed  # tags and partners gone
    written = {name for r in reports for name in r.written}
    report = WriteReport(
        written=tuple(sorted(written)),
        unchanged=tuple(sorted(set(current) - written)),
        removed=removed,
    )
    # Last: a crash before this leaves the old record, and the files it no longer matches
    # are rendered again next time.
    write_fingerprints(output, fingerprints)
    log.info(
        "published %d files to %s (%d rewritten, %d unchanged%s)",
        len(report.written) + len(report.unchanged),
        output,
        len(report.written),
        len(report.unchanged),
        f", {len(report.removed)} stale removed" if report.removed else "",
    )
    return report
