"""Fetched body -> parsed feed + normalized entries: the pure, CPU-heavy part of a pass.

``prepare(job)`` is ``parse.parse_feed`` then ``normalize.normalize_entries``, nothing else:
bytes and a little context in, plain dataclasses out. That makes it safe to run in worker
processes: ``Preparer`` runs it in this process for a pass with few bodies, and in a process
pool (forkserver, or spawn where there is none) over every core once a pass has many, so a
1,000-feed pass parses on all cores while this process fetches and stores (bench/, issue 8).

Workers send back what they logged; it is logged again here, in the order the pipeline
applies the feeds, so the log reads the same with or without a pool.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import traceback
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from syndicator.classify import Filters, Rule
from syndicator.dedupe import signed
from syndicator.model import Entry, Kind, ParsedFeed
from syndicator.normalize import FeedContext, normalize_feed
from syndicator.parse import ParseError, parse_feed

__all__ = ["POOL_MIN_BODIES", "PrepareJob", "Prepared", "Preparer", "prepare", "worker_count"]

log = logging.getLogger(__name__)

# A pass with fewer bodies than this parses them in its own process: starting workers costs
# more than it saves (about 35 ms of parsing per 116 KB feed; a pool needs ~0.3 s to start).
POOL_MIN_BODIES = 16


@dataclass(frozen=True, slots=True)
class PrepareJob:
    """One fetched body and what normalize needs to know about its feed."""

    feed_id: str
    kind: Kind
    body: bytes
    content_type: str | None
    url: str  # the final URL: base of relative links
    fetched_at: datetime  # aware UTC, whole seconds
    max_entries: int | None = None  # feeds.yaml max_entries; None: every entry
    iframe_hosts: frozenset[str] = frozenset()  # feeds.yaml iframe_hosts
    rules: tuple[Rule, ...] = ()  # feeds.yaml kind rules, compiled (they pickle)
    filters: Filters = field(default_factory=Filters)  # feeds.yaml include: / exclude:


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed feed, ready for dedupe and the store.

    ``feed`` is the partner feed's own data without its raw entries (they are not kept: the
    normalized ``entries`` are what the pass needs, and half the size); ``entry_count`` is
    how many entries the partner feed had.
    """

    feed: ParsedFeed
    entry_count: int
    entries: tuple[Entry, ...]
    excluded: int = 0  # entries dropped by feeds.yaml filters (not in ``entries``)


def prepare(job: PrepareJob) -> Prepared:
    """Parse and normalize one body. Raises ``ParseError`` when it is not a usable feed."""
    parsed = parse_feed(
        job.body, content_type=job.content_type, url=job.url, max_entries=job.max_entries
    )
    context = FeedContext(
        job.feed_id,
        job.kind,
        job.url,
        job.fetched_at,
        job.iframe_hosts,
        rules=job.rules,
        filters=job.filters,
    )
    normalized, excluded = normalize_feed(parsed, context)
    entries = signed(normalized)  # clustering's signature, here: in a worker
    return Prepared(replace(parsed, entries=()), len(parsed.entries), tuple(entries), excluded)


def worker_count() -> int:
    """Worker processes for a big pass: one per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Preparer:
    """Prepares the bodies of one pass: added as they are fetched, taken in pass order.

    Until ``min_bodies`` bodies have arrived they wait; then a thread starts a process pool
    (~0.5 s the first time, which the fetch must not wait for) and workers take them, so
    parsing overlaps the rest of the fetch. Workers get the earliest waiting body in pass
    ``order`` and at most two bodies each at a time: results come back about in the order
    the pass takes them, so few wait in memory and storing overlaps parsing. A body not yet
    given to a worker when it is taken (a pass too small for a pool, or busy workers) is
    prepared in this process. Use as a context manager: leaving it stops the workers.
    """

    def __init__(
        self,
        order: Sequence[str] = (),
        *,
        workers: int | None = None,
        min_bodies: int | None = None,
    ) -> None:
        self._workers = worker_count() if workers is None else workers
        self._min_bodies = POOL_MIN_BODIES if min_bodies is None else min_bodies
        self._rank = {feed_id: rank for rank, feed_id in enumerate(order)}
        self._level = logging.getLogger("syndicator").getEffectiveLevel()
        # Guards everything below; re-entrant: a future already done runs _done at once.
        self._lock = threading.RLock()
        self._waiting: dict[str, PrepareJob] = {}  # added, not given to a worker yet
        self._futures: dict[str, Future[_Outcome]] = {}  # given to a worker
        self._busy = 0  # futures not done yet
        self._pool: _Pool | None = None
        self._starter: threading.Thread | None = None
        self._closed = False

    def __enter__(self) -> Preparer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pooled(self) -> bool:
        """True once worker processes were started for this pass."""
        return self._starter is not None

    def add(self, job: PrepareJob) -> None:
        with self._lock:
            self._waiting[job.feed_id] = job
            if self._pool is not None:
                self._hand_out()
                return
            enough = self._workers > 1 and len(self._waiting) >= self._min_bodies
            if enough and self._starter is None:
                self._starter = threading.Thread(
                    target=self._start_pool, name="syndicator-parser-pool", daemon=True
                )
                self._starter.start()

    def take(self, job: PrepareJob) -> Prepared:
        """``job`` prepared (by a worker if one has it); raises what ``prepare`` raised."""
        with self._lock:
            waiting = self._waiting.pop(job.feed_id, None)
            future = self._futures.pop(job.feed_id, None)
        if future is None:
            return prepare(waiting or job)
        try:
            outcome = future.result()
        except BrokenProcessPool as error:  # a worker died (killed, out of memory): carry on here
            log.warning(
                "%s: parser worker failed (%s); parsing in the main process", job.feed_id, error
            )
            return prepare(job)
        for record in outcome.records:
            logging.getLogger(record.name).handle(record)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.prepared is not None
        return outcome.prepared

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._waiting.clear()
        if self._starter is not None:
            self._starter.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._futures.clear()

    def _start_pool(self) -> None:
        try:
            pool = _Pool(self._workers)
        except OSError as error:  # cannot start processes here: prepare in the pass's process
            log.warning("cannot start parser worker processes (%s); parsing in one process", error)
            return
        with self._lock:
            if self._closed:
                pool.shutdown(wait=False)
                return
            self._pool = pool
            self._hand_out()

    def _hand_out(self) -> None:
        """Give workers the earliest waiting bodies, two per worker in flight. Holds _lock."""
        assert self._pool is not None
        while self._waiting and self._busy < 2 * self._workers and not self._closed:
            feed_id = min(self._waiting, key=lambda f: self._rank.get(f, len(self._rank)))
            job = self._waiting.pop(feed_id)
            try:
                future = self._pool.executor.submit(_prepare_in_worker, job, self._level)
            except RuntimeError:  # the pool broke or shuts down: take() prepares it here
                self._waiting[feed_id] = job
                return
            self._futures[feed_id] = future
            self._busy += 1
            future.add_done_callback(self._done)

    def _done(self, _: Future[_Outcome]) -> None:
        with self._lock:
            self._busy -= 1
            if self._pool is not None:
                self._hand_out()


class _Pool:
    """Worker processes that end when this process ends, however it ends.

    forkserver: workers fork from a clean single-threaded server, so they never inherit
    this process's threads (the progress bar, the event loop's resolver) or their locks.
    It imports the parser and the main module once ("__main__": a worker would otherwise
    import the whole command line again before its first job). spawn where there is none.

    A killed pass (kill -9, a cron timeout) leaves no workers behind: each holds the read
    end of a pipe whose only write end is here, and exits when it reads end-of-file
    (ProcessPoolExecutor's workers would otherwise wait forever for their next job).
    """

    def __init__(self, workers: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if context.get_start_method() == "forkserver":
            context.set_forkserver_preload(["__main__", __name__])
        self._lifeline, self._lifeline_end = context.Pipe(duplex=False)
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_exit_with_parent,
            initargs=(self._lifeline,),
        )

    def shutdown(self, *, wait: bool) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=True)
        self._lifeline_end.close()
        self._lifeline.close()


# --- in the worker ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outcome:
    prepared: Prepared | None
    error: BaseException | None  # what prepare raised (ParseError, or a bug)
    records: tuple[logging.LogRecord, ...]  # what it logged, to be logged again by the pass


class _Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord], level: int) -> None:
        super().__init__(level)
        self._records = records

    def emit(self, record: logging.LogRecord) -> None:
        # Format now: arguments and tracebacks may not survive pickling.
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        self._records.append(_plain_record(record, message))


def _plain_record(record: logging.LogRecord, message: str) -> logging.LogRecord:
    fields: dict[str, Any] = dict(record.__dict__)
    fields.update(msg=message, args=None, exc_info=None, exc_text=None)
    return logging.makeLogRecord(fields)


def _exit_with_parent(lifeline: Connection) -> None:
    """Worker initializer: end this worker as soon as the pass's process is gone."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv_bytes()  # nothing is ever sent: this returns at end-of-file
        os._exit(1)

    threading.Thread(target=watch, name="syndicator-lifeline", daemon=True).start()


def _prepare_in_worker(job: PrepareJob, level: int) -> _Outcome:
    records: list[logging.LogRecord] = []
    handler = _Collect(records, level)
    package = logging.getLogger("syndicator")
    package.setLevel(level)
    package.propagate = False  # a worker has no handlers of its own: keep stderr quiet
    package.addHandler(handler)
    prepared: Prepared | None = None
    error: Exception | None = None
    try:
        prepared = prepare(job)
    except Exception as exc:  # raised again in the pass, at this feed's boundary
        if not isinstance(exc, ParseError):  # a bug: its traceback does not survive pickling
            exc.add_note("in a parser worker process:\n" + "".join(traceback.format_exception(exc)))
        error = exc
    finally:
        package.removeHandler(handler)
    return _Outcome(prepared, error, tuple(records))
