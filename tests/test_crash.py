"""Crashes (issue 7): `kill -9` at any moment and a full disk lose nothing and break nothing.

``test_sigkill_at_random_points`` runs `syndicator fetch` over ``FEEDS`` partner feeds
(some slow, so the fetch takes a while), each pass serving a new generation of every feed
(new titles, one more entry), and SIGKILLs it ``KILLS`` times: a third of the kills during
the fetch, a third during the store transactions (after a random number of feeds were
stored), a third during publish, each after a seeded random delay. After every kill:

- ``PRAGMA integrity_check`` is ok and no foreign key dangles;
- no feed update is half applied: a feed's stored state and its entries are of one fetch
  (the entries seen at its last success are exactly its ``entry_count``, and its body hash
  is a generation whose every entry is stored with that generation's title);
- every story has entries and its dates are those of its entries;
- every published file is absent (never published yet), the old bytes, or a complete,
  valid new version (tests/published_checks.py).

A last pass, not killed, must then succeed and store the last generation in full.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hostile_server import HostileServer, rss, rss_item
from published_checks import check_published_file, check_published_folder

FEEDS = 12  # under prepare.POOL_MIN_BODIES: one process, parsed as the pass goes
SLOW_FEEDS = 3  # their bodies arrive in pieces over ~0.6 s: kills land during the fetch
ENTRIES = 40  # per feed in generation 0; one more each generation
KILLS = 21  # 7 per phase
SEED = 20261125
PHASES = ("fetch", "store", "publish")

# `syndicator fetch`, with os.fsync failing for published files when SYNDICATOR_TEST_DISK_FULL
# is set (SQLite syncs in C, not through os.fsync): a disk that fills up during publish.
LAUNCH = """
import errno, os, sys
if os.environ.get("SYNDICATOR_TEST_DISK_FULL"):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.fsync = full
from syndicator.cli import main
sys.exit(main())
"""
_REPORT = re.compile(r"(feed-\d+): (\d+ entries|not modified|.*)")


@dataclass
class Partners:
    server: HostileServer
    generation: int = -1
    # body sha256 -> {entry key: title} of that body, for every body ever served
    served: dict[str, dict[str, str]] = field(default_factory=dict)

    def serve(self, generation: int) -> None:
        self.generation = generation
        for n in range(FEEDS):
            expected = {
                f"f{n}-e{i}": f"Feed {n} entry {i}, generation {generation}"
                for i in range(ENTRIES + generation)
            }
            items = "".join(
                rss_item(title, guid=key, link=f"https://p{n}.example.org/{key}")
                for key, title in expected.items()
            )
            body = rss(items, title=f"Partner {n}").encode()
            self.served[hashlib.sha256(body).hexdigest()] = expected
            slow = n < SLOW_FEEDS
            self.server.set(
                f"/feed-{n}",
                body,
                etag=None,
                last_modified=None,
                delay_per_chunk=0.15 if slow else 0.0,
                chunk_size=len(body) // 4 + 1 if slow else 1024,
            )


@dataclass
class Folder:
    path: Path

    @property
    def config(self) -> Path:
        return self.path / "feeds.yaml"

    @property
    def output(self) -> Path:
        return self.path / "public"

    @property
    def database(self) -> Path:
        return self.path / "syndicator.db"

    def published(self) -> dict[str, bytes]:
        if not self.output.exists():
            return {}
        return {
            str(p.relative_to(self.output)): p.read_bytes()
            for p in self.output.rglob("*")
            if p.is_file() and not p.name.startswith(".")  # tags/ and partners/ too
        }


def write_config(folder: Path, server: HostileServer) -> None:
    lines = [
        "site:",
        "  title: Crash test",
        "  url: https://feeds.example.org/",
        "  max_items: 300",
        "storage:",
        "  database: syndicator.db",
        "  output_dir: public",
        "allow_private_networks: true",
        "feeds:",
    ]
    for n in range(FEEDS):
        lines += [f"  - id: feed-{n}", f"    url: {server.url(f'/feed-{n}')}"]
    (folder / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def partners() -> Iterator[Partners]:
    with HostileServer() as server:
        yield Partners(server)


@pytest.fixture
def folder(tmp_path: Path, partners: Partners) -> Folder:
    write_config(tmp_path, partners.server)
    return Folder(tmp_path)


class Pass:
    """One `syndicator fetch` subprocess whose stderr lines are read as they come."""

    def __init__(self, folder: Folder, env: dict[str, str] | None = None) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "fetch", "-c", str(folder.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1", **(env or {})},
            start_new_session=True,  # its parser workers too can be cleaned up by group
        )
        self.lines: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def reports(self) -> int:
        return sum(1 for _, line in self.lines if _report(line))

    def wait_for(self, reports: int, timeout: float = 60) -> bool:
        """Wait until ``reports`` feeds were stored; False if the process ended first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.reports() < reports:
                if self.process.poll() is not None and not self._reader.is_alive():
                    return False
                self._changed.wait(timeout=max(0.0, deadline - time.monotonic()))
                if time.monotonic() > deadline:
                    raise AssertionError("the pass made no progress")
        return True

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        # Parser workers of the killed pass, if it had any, would keep stderr open: they are
        # in the process group we started, and hold neither the database nor the output.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._reader.join(timeout=30)

    def finish(self) -> int:
        code = self.process.wait(timeout=120)
        self._reader.join(timeout=30)
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(line for _, line in self.lines)


def _report(line: str) -> bool:
    message = line.split(": ", 1)[1] if " syndicator.pipeline: " in line else ""
    return bool(_REPORT.match(message))


def check_database(database: Path, partners: Partners) -> None:
    db = sqlite3.connect(database)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        titles = {
            (f, k): t for f, k, t in db.execute("SELECT feed_id, entry_key, title FROM entries")
        }
        rows = db.execute(
            "SELECT feed_id, last_outcome, last_success, entry_count, body_hash FROM feeds"
        ).fetchall()
        for feed_id, outcome, last_success, entry_count, body_hash in rows:
            if outcome != "ok":
                continue
            seen = db.execute(
                "SELECT COUNT(*) FROM entries WHERE feed_id = ? AND last_seen = ?",
                (feed_id, last_success),
            ).fetchone()[0]
            assert seen == entry_count, (feed_id, seen, entry_count)
            expected = partners.served[body_hash]  # the state is of a body we served...
            for key, title in expected.items():  # ...and every entry of it is stored
                assert titles[feed_id, key] == title, (feed_id, key)
        # every story has entries, and its dates are its entries' (refreshed in the same
        # transaction as the entries)
        stale = db.execute(
            "SELECT s.story_id FROM stories s LEFT JOIN entries e ON e.story_id = s.story_id "
            "GROUP BY s.story_id HAVING COUNT(e.story_id) = 0 OR s.published != MIN(e.published) "
            "OR s.updated != MAX(e.updated)"
        ).fetchall()
        assert stale == []
    finally:
        db.close()


def check_files(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    for name, data in after.items():
        if before.get(name) != data:  # not the old file: it must be a whole new one
            check_published_file(name, data)
    assert set(before) <= set(after), "a published file disappeared"


def kill_and_locate(running: Pass) -> str:
    """SIGKILL the pass; where it was, from what it had logged."""
    finished = running.process.poll() is not None
    running.kill()
    if finished:
        return "after the end"
    if running.reports() == FEEDS:
        return "publish"
    return "store" if running.reports() > 0 else "fetch"


def test_sigkill_at_random_points(folder: Folder, partners: Partners) -> None:
    chance = random.Random(SEED)
    partners.serve(0)
    calibration = Pass(folder)
    assert calibration.finish() == 0, calibration.stderr
    check_database(folder.database, partners)
    check_published_folder(folder.output)
    stored_at = [t for t, line in calibration.lines if _report(line)]
    end = max(t for t, _ in calibration.lines)
    publish_seconds = max(0.05, end - stored_at[-1])
    fetch_seconds = stored_at[0]

    landed = dict.fromkeys(PHASES, 0)
    for kill in range(KILLS):
        partners.serve(kill + 1)
        before = folder.published()
        phase = PHASES[kill % len(PHASES)]
        running = Pass(folder)
        if phase == "fetch":
            time.sleep(chance.uniform(0.3, 0.9) * fetch_seconds)
        elif phase == "store":
            running.wait_for(chance.randint(1, FEEDS - 1))
            time.sleep(chance.uniform(0, 0.01))
        else:
            running.wait_for(FEEDS)
            time.sleep(chance.uniform(0, 1) * publish_seconds)
        where = kill_and_locate(running)
        landed[where] = landed.get(where, 0) + 1

        check_database(folder.database, partners)
        check_files(before, folder.published())

    # killed at least KILLS times, in every phase
    assert sum(landed[p] for p in PHASES) >= KILLS - 3, landed
    assert all(landed[p] > 0 for p in PHASES), landed
    print(f"kills landed: {landed}")

    # the next pass repairs nothing by hand and stores the last generation in full
    partners.serve(KILLS + 1)
    last = Pass(folder)
    assert last.finish() == 0, last.stderr
    check_database(folder.database, partners)
    check_published_folder(folder.output)
    db = sqlite3.connect(folder.database)
    try:
        (failed,) = db.execute("SELECT COUNT(*) FROM feeds WHERE last_outcome != 'ok'").fetchone()
        assert failed == 0
    finally:
        db.close()


def test_full_disk_during_publish_keeps_the_old_files(folder: Folder, partners: Partners) -> None:
    partners.serve(0)
    first = Pass(folder)
    assert first.finish() == 0, first.stderr
    before = folder.published()
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.output.iterdir()}

    partners.serve(1)
    full = Pass(folder, env={"SYNDICATOR_TEST_DISK_FULL": "1"})
    assert full.finish() == 2, full.stderr
    assert "No space left on device" in full.stderr
    assert "the previous version is left in place" in full.stderr
    assert folder.published() == before
    assert {p.name: p.stat().st_mtime_ns for p in folder.output.iterdir()} == mtimes
    check_database(folder.database, partners)  # the fetched entries are stored

    # space again: the next pass publishes what was stored, nothing lost
    again = Pass(folder)
    assert again.finish() == 0, again.stderr
    check_published_folder(folder.output)
    assert folder.published() != before
    titles = (folder.output / "all.json").read_text(encoding="utf-8")
    assert "generation 1" in titles
