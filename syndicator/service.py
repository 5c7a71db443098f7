"""``syndicator run``: keep the merged feeds fresh and serve them, for months, unattended.

Everything runs on one asyncio event loop; the database lives in one thread of its own::

    start: open the store | publish | one APScheduler job per enabled feed, due per schedule.py
    job (one feed):  fetch (fetch.py) | apply_fetch (store thread) | reschedule per schedule.py
                     | something changed: ask the publisher
    publisher:       wait for the burst of fetches to settle | publish once | ping WebSub
    watcher:         feeds.yaml changed? reload: start added feeds, stop removed ones,
                     reschedule changed ones; an invalid file is logged (FILE:LINE, as
                     `check` prints it) and the service runs on the last good configuration
    server:          uvicorn + Starlette (server.py): files, /healthz, /status, /metrics
    SIGTERM/SIGINT:  stop scheduling, give fetches in progress ``stop_grace`` seconds, cancel
                     the rest, publish what they changed, close the database

The caller holds the database lock (lock.py) for the whole run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
import signal
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syndicator.config import Config, ConfigError, FeedConfig, load_config
from syndicator.fetch import FetchResult, fetch_all
from syndicator.metrics import Metrics
from syndicator.model import FeedState
from syndicator.pipeline import (
    FeedReport,
    PassContext,
    apply_fetch,
    fetch_requests,
    publish_from_store,
    story_id_authority,
    user_agent,
)
from syndicator.publish import PublishError
from syndicator.schedule import NextPoll, next_poll
from syndicator.server import HttpServer, Site
from syndicator.status import status_document
from syndicator.store import Store, StoreError
from syndicator.websub import changed_topics, ping_hub
from syndicator.wording import counted

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

PARKED = timedelta(days=365)  # a job's next run while its poll is in progress
STALLED_AFTER = timedelta(minutes=2)  # a job this late means the scheduler is not running jobs
MAX_PUBLISH_WAIT = 30.0  # seconds a publish waits for fetches still in progress
PUBLISH_RETRY = 60.0  # seconds before retrying a publish that failed (disk full, ...)


REPUBLISH_EVERY = timedelta(minutes=15)  # how late a webinar may move or leave webinars.*


def republish_interval(config: Config) -> float:
    """Seconds between publishes that only follow the clock: 15 minutes, or less when
    past webinars are kept for less (never under a second)."""
    return max(1.0, min(REPUBLISH_EVERY, config.site.keep_past_webinars).total_seconds())


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    reload_every: float = 1.0  # seconds between two looks at feeds.yaml
    publish_delay: float = 1.0  # seconds to gather the fetches that end together
    stop_grace: float = 5.0  # seconds fetches in progress get to finish on SIGTERM
    startup_spread: float = 10.0  # at most this many seconds to spread overdue feeds over
    concurrency: int = 20  # fetches at once; more due feeds wait their turn


class Service:
    """The scheduler, the publisher, the config watcher and the server, on one event loop."""

    def __init__(
        self,
        config: Config,
        config_path: Path,
        server: Callable[[Site], HttpServer],
        options: ServiceOptions | None = None,
    ) -> None:
        self._config = config
        self._config_path = config_path  # as the operator wrote it: messages name it so
        self._options = options or ServiceOptions()
        self._metrics = Metrics()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._store: Store | None = None
        self._context: PassContext | None = None
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )
        self._polls: dict[str, asyncio.Task[None]] = {}  # feed id -> fetch in progress
        # Feeds edited in feeds.yaml while their fetch was in progress: scheduled as the
        # edit would have, once that fetch (with the old settings) ends.
        self._edited_during_poll: set[str] = set()
        # Taken before a fetch starts, so waiting for a turn never eats into its deadline.
        self._fetch_turns = asyncio.Semaphore(max(1, self._options.concurrency))
        self._background: set[asyncio.Task[Any]] = set()  # WebSub pings
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._dirty = asyncio.Event()  # something changed since the last publish
        self._stop = asyncio.Event()
        self._stopping = False
        self._config_problems: list[str] = []
        # Why the last publish failed (None once one works): in status, /healthz, /metrics.
        self._publish_error: str | None = None
        site = Site(
            config=lambda: self._config,
            status=self.status,
            health=self.health,
            metrics=self._metrics,
        )
        self._http = server(site)

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self, on_ready: Callable[[], None] | None = None) -> bool:
        """Run until ``stop()``, then shut down cleanly. False when a part of the service
        died and took it down (the exit code tells systemd or docker to restart it)."""
        try:
            await self._in_db(self._open_store)
            self._scheduler.start()
            states = await self._in_db(self._feed_states)
            now = datetime.now(UTC)
            for feed in self._config.enabled_feeds:
                self._log_plan(feed.id, self._schedule(feed, states.get(feed.id), now), now)
            self._dirty.set()  # publish at once: a new install serves files from the start
            self._tasks = {
                "server": asyncio.create_task(self._http.serve()),
                "publisher": asyncio.create_task(self._publisher()),
                "config watcher": asyncio.create_task(self._watch_config()),
                "clock": asyncio.create_task(self._follow_the_clock()),
            }
            if on_ready is not None:
                on_ready()
            stopped = asyncio.create_task(self._stop.wait())
            everything = [stopped, *self._tasks.values()]
            await asyncio.wait(everything, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            healthy = self._stop.is_set()
            for name, task in self._tasks.items():
                if task.done() and not healthy:
                    error = task.exception()
                    log.error("the %s stopped unexpectedly (%r); stopping the service", name, error)
        finally:
            await self._shutdown()
        return healthy

    def stop(self, reason: str = "asked to stop") -> None:
        if not self._stop.is_set():
            log.info("%s: stopping (in-flight fetches get %g s)", reason, self._options.stop_grace)
            self._stop.set()

    async def _shutdown(self) -> None:
        self._stopping = True
        self._http.stop()
        if self._scheduler.running:
            self._scheduler.pause()
        await self._finish_polls()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for name in ("publisher", "config watcher", "clock"):
            task = self._tasks.get(name)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._dirty.is_set() and self._store is not None:
            await self._publish()  # what the last fetches changed
        for ping in list(self._background):
            ping.cancel()
        server = self._tasks.get("server")
        if server is not None:
            with contextlib.suppress(Exception):
                await server
        await self._in_db(self._close_store)
        self._db.shutdown(wait=True)
        await asyncio.sleep(0)  # let the scheduler's deferred shutdown run before the loop ends
        log.info("stopped; the database is closed")

    async def _finish_polls(self) -> None:
        polls = list(self._polls.values())
        if not polls:
            return
        _, pending = await asyncio.wait(polls, timeout=self._options.stop_grace)
        for task in pending:
            task.cancel()
        if pending:
            cancelled = sorted(feed_id for feed_id, t in self._polls.items() if t in pending)
            log.warning("cancelled the fetches still in progress: %s", ", ".join(cancelled))
            await asyncio.wait(pending)

    # --- the database thread --------------------------------------------------------------

    async def _in_db(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function`` in the store's thread: sqlite3 connections stay in their thread,
        and one writer at a time is what SQLite wants anyway."""
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._db, call)

    def _open_store(self) -> None:
        store = Store(self._config.storage.database)
        self._store = store
        self._context = PassContext(store, store.story_index(), story_id_authority(self._config))

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _feed_states(self) -> dict[str, FeedState]:
        assert self._store is not None
        return self._store.feed_states()

    def _feed_state(self, feed_id: str) -> FeedState | None:
        assert self._store is not None
        return self._store.feed_state(feed_id)

    def _apply(
        self, feed: FeedConfig, result: FetchResult, old: FeedState | None
    ) -> tuple[FeedReport, FeedState | None]:
        assert self._store is not None and self._context is not None
        report = apply_fetch(feed, result, old, self._context)
        return report, self._store.feed_state(feed.id)

    def _publish_now(self, config: Config) -> tuple[str, ...]:
        assert self._store is not None
        return publish_from_store(config, self._store).written

    def _status(self, config: Config, scheduled: dict[str, datetime | None]) -> dict[str, Any]:
        assert self._store is not None
        return status_document(
            config,
            self._store,
            scheduled=scheduled,
            config_problems=self._config_problems,
            publish_error=self._publish_error,
        )

    # --- scheduling -----------------------------------------------------------------------

    def _schedule(self, feed: FeedConfig, state: FeedState | None, now: datetime) -> NextPoll:
        """(Re)schedule ``feed``'s job at its next poll; remove it when it is not polled."""
        return self._schedule_plan(feed, next_poll(feed, state, now), now)

    def _schedule_plan(self, feed: FeedConfig, plan: NextPoll, now: datetime) -> NextPoll:
        job = self._scheduler.get_job(feed.id)
        if plan.due is None:
            if job is not None:
                job.remove()
            return plan
        due = plan.due
        if due <= now:  # new or overdue: soon, but not every feed in the same second
            spread = min(feed.interval.total_seconds() / 10, self._options.startup_spread)
            due = now + timedelta(seconds=random.uniform(0, spread))
        if job is not None and job.trigger.interval == feed.interval:
            job.modify(next_run_time=due)
        else:
            jitter = min(feed.interval.total_seconds() / 10, 300)
            self._scheduler.add_job(
                self._poll_job,
                IntervalTrigger(seconds=feed.interval.total_seconds(), jitter=jitter),
                args=(feed.id,),
                id=feed.id,
                name=feed.id,
                next_run_time=due,
                replace_existing=True,
            )
        return NextPoll(due, plan.reason)

    def _retried(self, feed: FeedConfig, plan: NextPoll, meant: bool, now: datetime) -> NextPoll:
        """``plan``, or a poll now when the operator ``meant`` it by editing feeds.yaml: a
        feed enabled again, or a failing feed's settings fixed, is to be tried now, not after
        the rest of a back-off, of a partner's Retry-After, or never (410 Gone: the partner
        may have put it back)."""
        if meant and (plan.due is None or plan.due > now):
            return self._schedule_plan(feed, NextPoll(now, _RETRIED), now)
        return plan

    async def _poll_job(self, feed_id: str) -> None:
        """The scheduler's job. The fetch runs as a task of its own, shielded, so stopping the
        scheduler never cuts a fetch short: ``_finish_polls`` decides that."""
        job = self._scheduler.get_job(feed_id)
        if job is not None:  # no second run while this one lasts: the poll reschedules it
            job.modify(next_run_time=datetime.now(UTC) + PARKED)
        poll = asyncio.create_task(self._poll(feed_id), name=f"poll {feed_id}")
        self._polls[feed_id] = poll
        poll.add_done_callback(lambda _: self._polls.pop(feed_id, None))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(poll)

    async def _poll(self, feed_id: str) -> None:
        feed = self._config.feed(feed_id)
        if feed is None or not feed.enabled or self._stopping:
            return
        try:
            old = await self._in_db(self._feed_state, feed_id)
            request = fetch_requests([feed], {feed_id: old} if old else {})[0]
            async with self._fetch_turns:
                [result] = await fetch_all([request], user_agent=user_agent(self._config))
            self._metrics.count_fetch(result)
            report, state = await self._in_db(self._apply, feed, result, old)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not end this feed's polling: retry on its interval
            log.exception("%s: unexpected error while polling", feed_id)
            now = datetime.now(UTC)
            self._schedule_plan(feed, NextPoll(now + feed.interval, "after an error"), now)
            return
        self._metrics.count_new_stories(feed_id, report.new_stories)
        current = self._config.feed(feed_id)  # feeds.yaml may have changed meanwhile
        edited = feed_id in self._edited_during_poll
        self._edited_during_poll.discard(feed_id)
        if current is not None and current.enabled and not self._stopping:
            now = datetime.now(UTC)
            plan = self._schedule(current, state, now)
            if edited and state is not None:
                plan = self._retried(current, plan, _retry_now(feed_id, (), {feed_id: state}), now)
            _log_report(report, plan, now)
        if report.outcome == "ok":
            self._dirty.set()

    def _log_plan(self, feed_id: str, plan: NextPoll, now: datetime) -> None:
        if plan.due is None:
            log.warning("%s: not polled: %s", feed_id, plan.reason)
        else:
            log.info("%s: next poll %s (%s)", feed_id, _when(plan.due, now), plan.reason)

    # --- publishing -----------------------------------------------------------------------

    async def _publisher(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self._options.publish_delay)
            waited = 0.0
            while self._polls and waited < MAX_PUBLISH_WAIT:  # the rest of a burst of fetches
                await asyncio.sleep(0.1)
                waited += 0.1
            await self._publish()

    async def _follow_the_clock(self) -> None:
        """Publish again as time passes, even when no partner changed anything: a webinar
        that has started moves down ``webinars.*`` and ``webinars.ics``, and leaves them
        ``site.keep_past_webinars`` later. Unchanged files are not rewritten."""
        while True:
            await asyncio.sleep(republish_interval(self._config))
            self._dirty.set()

    async def _publish(self) -> None:
        self._dirty.clear()
        config = self._config
        try:
            written = await self._in_db(self._publish_now, config)
        except (PublishError, StoreError) as error:
            why = str(error).rstrip(".")  # a sentence: it goes on after a semicolon
            log.error("%s; retrying in %g s", why, PUBLISH_RETRY)
            self._publish_failed(why)
            return
        except Exception as error:  # a bug: keep serving the files we have, try again later
            log.exception("publishing failed; retrying in %g s", PUBLISH_RETRY)
            self._publish_failed(f"internal error: {error!r}")
            return
        self._publish_error = None
        if not written:
            return
        self._metrics.publishes.inc()
        topics = changed_topics(config.site.url, written)
        if config.site.websub_hub and topics and not self._stopping:
            ping = asyncio.create_task(ping_hub(config.site.websub_hub, topics, user_agent(config)))
            self._background.add(ping)
            ping.add_done_callback(self._background.discard)

    def _publish_failed(self, why: str) -> None:
        """Note a failed publish where operators look, and try again later; the files of
        the last publish stay (each is replaced whole, or not at all)."""
        when = datetime.now(UTC)
        self._publish_error = (
            f"publishing failed at {when:%Y-%m-%d %H:%M:%S} UTC: {why}; "
            f"retrying every {PUBLISH_RETRY:g} s"
        )
        self._metrics.publish_failures.inc()
        asyncio.get_running_loop().call_later(PUBLISH_RETRY, self._dirty.set)

    # --- reloading feeds.yaml ---------------------------------------------------------------

    async def _watch_config(self) -> None:
        seen = await asyncio.to_thread(_read_bytes, self._config_path)
        while True:
            await asyncio.sleep(self._options.reload_every)
            current = await asyncio.to_thread(_read_bytes, self._config_path)
            if current != seen:
                seen = current
                try:
                    await self._reload()
                except Exception:  # a bug: keep running on the configuration we have
                    log.exception("%s: could not apply the edit", self._config_path)

    async def _reload(self) -> None:
        path = self._config_path
        try:
            new = await asyncio.to_thread(load_config, path)
        except ConfigError as error:
            for problem in error.problems:
                log.error("%s", problem)
            count = len(error.problems)
            log.error(
                "%s: %d problem%s; still running on the last good configuration",
                path,
                count,
                "s" if count != 1 else "",
            )
            self._config_problems = [str(problem) for problem in error.problems]
            return
        self._config_problems = []
        await self._apply_config(self._keep_fixed(new))

    def _keep_fixed(self, new: Config) -> Config:
        """Storage and server settings take effect on restart only: keep the running ones."""
        old = self._config
        for name in ("storage", "server"):
            if getattr(new, name) != getattr(old, name):
                log.warning(
                    "%s: the %s settings changed; restart syndicator to use them",
                    self._config_path,
                    name,
                )
                new = dataclasses.replace(new, **{name: getattr(old, name)})
        return new

    async def _apply_config(self, new: Config) -> None:
        old_feeds = {feed.id: feed for feed in self._config.enabled_feeds}
        new_feeds = {feed.id: feed for feed in new.enabled_feeds}
        listed_before = {feed.id for feed in self._config.feeds}
        states = await self._in_db(self._feed_states)
        self._config = new
        if self._store is not None and self._context is not None:
            authority = story_id_authority(new)
            if authority != self._context.authority:
                self._context = dataclasses.replace(self._context, authority=authority)
        now = datetime.now(UTC)
        removed = sorted(old_feeds.keys() - new_feeds.keys())
        added = sorted(new_feeds.keys() - old_feeds.keys())
        changed = sorted(
            feed_id
            for feed_id in old_feeds.keys() & new_feeds.keys()
            if dataclasses.replace(old_feeds[feed_id], line=0)
            != dataclasses.replace(new_feeds[feed_id], line=0)
        )
        for feed_id in removed:
            if self._scheduler.get_job(feed_id) is not None:
                self._scheduler.remove_job(feed_id)
            log.info("%s: removed or disabled in feeds.yaml; no longer polled", feed_id)
        for feed_id in [*added, *changed]:
            log.info("%s: %s feeds.yaml", feed_id, _edit_of(feed_id, added, listed_before))
            if feed_id in self._polls:  # its job is parked; the poll reschedules it
                self._edited_during_poll.add(feed_id)
                log.info("%s: fetch in progress; next poll planned when it ends", feed_id)
                continue
            plan = self._schedule(new_feeds[feed_id], states.get(feed_id), now)
            plan = self._retried(new_feeds[feed_id], plan, _retry_now(feed_id, added, states), now)
            self._log_plan(feed_id, plan, now)
        log.info(
            "%s: reloaded: %s enabled (%d added, %d removed, %d changed)",
            self._config_path,
            counted(len(new_feeds), "feed"),
            len(added),
            len(removed),
            len(changed),
        )
        self._dirty.set()  # titles, partners and the OPML list may have changed

    # --- what the server asks -------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        # A job whose fetch is in progress is parked; status shows its plan instead.
        scheduled = {
            job.id: job.next_run_time
            for job in self._scheduler.get_jobs()
            if job.id not in self._polls
        }
        return await self._in_db(self._status, self._config, scheduled)

    def health(self) -> str | None:
        """None while the scheduler runs jobs; otherwise why not, for /healthz."""
        if self._stopping:
            return "the service is stopping"
        if not self._scheduler.running:
            return "the scheduler is not running"
        for name, task in self._tasks.items():
            if task.done():
                return f"the {name} has stopped"
        if self._publish_error is not None:  # members' files are going stale
            return self._publish_error
        late = datetime.now(UTC) - STALLED_AFTER
        for job in self._scheduler.get_jobs():
            due = job.next_run_time
            if due is not None and due < late and job.id not in self._polls:
                return f"the scheduler is late: {job.id} was due at {due:%Y-%m-%d %H:%M:%S} UTC"
        return None


async def run_until_signalled(service: Service, on_ready: Callable[[], None] | None) -> bool:
    """``service.run()`` with SIGTERM and SIGINT asking it to stop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.stop, f"received {sig.name}")
    try:
        return await service.run(on_ready)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _log_report(report: FeedReport, plan: NextPoll, now: datetime) -> None:
    """One line per fetch: what happened and when the next poll is."""
    level = logging.WARNING if report.outcome == "failed" else logging.INFO
    if plan.due is None:
        log.warning("%s", plan.reason)  # e.g. 410 Gone: the sentence names the feeds.yaml line
    else:
        log.log(level, "%s; next poll %s (%s)", report.message, _when(plan.due, now), plan.reason)
    for warning in report.warnings:
        log.warning("%s", warning)


def _when(due: datetime, now: datetime) -> str:
    seconds = max(0.0, (due - now).total_seconds())
    return f"in {seconds:.0f} s" if seconds < 120 else f"at {due:%Y-%m-%d %H:%M:%S} UTC"


_RETRIED = "retried after the feeds.yaml edit"


def _edit_of(feed_id: str, added: Sequence[str], listed_before: set[str]) -> str:
    if feed_id not in added:
        return "changed in"
    return "enabled again in" if feed_id in listed_before else "added to"


def _retry_now(feed_id: str, added: Sequence[str], states: Mapping[str, FeedState]) -> bool:
    """Whether a reloaded feed is polled at once: one enabled (again) that was fetched
    before, or a changed one that is failing."""
    state = states.get(feed_id)
    if state is None:
        return False
    return feed_id in added or (state.last_outcome == "failed" and state.consecutive_errors > 0)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
