"""One writer per database: ``run``, ``fetch`` and ``publish`` hold ``<database>.lock``.

SQLite alone would keep the file consistent, but two writers would still step on each other:
two services polling every partner twice, or a ``fetch`` publishing older files over the
service's. The lock is ``fcntl.flock`` on a file beside the database, so the kernel releases
it when the holder exits, however it exits (no stale lock after a crash or ``kill -9``). The
file holds who has it, so the refusal can say so::

    the database /srv/syndicator/syndicator.db is in use by `syndicator run` (pid 4242 on
    feeds-1, since 2026-11-25 12:00:00 UTC); stop that first, or wait until it is done
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Self

RETRY_FOR = 0.25  # seconds: a `status` peeking at the lock holds it for an instant


class DatabaseBusy(Exception):
    """Another syndicator process holds the database; the message says which."""


@dataclass(frozen=True, slots=True)
class LockHolder:
    pid: int
    host: str
    verb: str
    started_at: str  # ISO 8601 UTC

    def describe(self) -> str:
        started = self.started_at[:19].replace("T", " ")
        return f"`syndicator {self.verb}` (pid {self.pid} on {self.host}, since {started} UTC)"


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class DatabaseLock:
    """Exclusive use of ``database`` by this process, for ``verb``; a context manager."""

    def __init__(self, database: Path, verb: str) -> None:
        self.database = database
        self.path = lock_path(database)
        self.verb = verb
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise DatabaseBusy naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(handle)
                    handle.close()
                    raise DatabaseBusy(self._busy_sentence(holder)) from None
                time.sleep(0.05)
        me = LockHolder(
            pid=os.getpid(),
            host=socket.gethostname(),
            verb=self.verb,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(asdict(me)) + "\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Give the lock back. The file stays: removing it would let two processes lock
        two different files of the same name."""
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def _busy_sentence(self, holder: LockHolder | None) -> str:
        who = holder.describe() if holder else f"another syndicator process (see {self.path})"
        return (
            f"the database {self.database} is in use by {who}; stop that first, or wait "
            f"until it is done"
        )

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def current_holder(database: Path) -> LockHolder | None:
    """Who holds the database's lock right now, or None (for ``status``; never blocks)."""
    try:
        handle = lock_path(database).open(encoding="utf-8")
    except OSError:
        return None
    with handle:
        try:
            # A shared lock conflicts only with a holder's exclusive one; released at once.
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _read_holder(handle: IO[str]) -> LockHolder | None:
    try:
        handle.seek(0)
        data = json.loads(handle.read())
        return LockHolder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            verb=str(data["verb"]),
            started_at=str(data["started_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
