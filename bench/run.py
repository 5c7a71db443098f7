"""The benchmark of issue 8: ``make bench`` (``.venv/bin/python -m bench.run``).

Starts the partner world (bench/partners.py, its own process), then runs every job in a
fresh process (bench/runner.py, bench/baseline.py) and prints one table: each figure's
median, spread, target, the baseline and the ratio. The same goes to
``bench/out/results.json``. ``--smoke`` is the 10-feed version the test suite runs.

What is timed (see runner.py): the library call, ``run_pass`` or ``publish_from_store``,
worker start-up included, interpreter start-up and imports not. The partners' process
runs on the same two cores, as a partner would not: the figures are pessimistic by its CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.world import ENTRIES_PER_FEED, expected_counts, feed_specs, versions_after

ROOT = Path(__file__).resolve().parent.parent
PUBLISH_STORIES = 10_000


@dataclass(frozen=True, slots=True)
class Settings:
    seed: int
    feeds: int  # the headline size: cold, warm, changed, peak RSS, baseline
    scaling: tuple[int, ...]
    repeats: int
    scaling_repeats: int  # cold passes at the other sizes of ``scaling``
    baseline_repeats: int
    publish_stories: int
    out: Path

    @property
    def world_size(self) -> int:
        return max(*self.scaling, self.feeds, publish_feeds(self.seed, self.publish_stories))


@dataclass(slots=True)
class Figure:
    """One line of the table: a measured figure over its runs, and its target."""

    key: str
    name: str
    unit: str
    runs: list[float]
    target: float | None  # the most allowed (or, for ratios, the least)
    target_text: str
    baseline: float | None = None
    lower_is_better: bool = True
    load: float | None = None  # cores other processes kept busy meanwhile (median over jobs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline."""
        if self.baseline is None or not self.median:
            return None
        return self.baseline / self.median if self.lower_is_better else self.median / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.median <= self.target if self.lower_is_better else self.median >= self.target

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "unit": self.unit,
            "median": self.median,
            "min": min(self.runs),
            "max": max(self.runs),
            "runs": self.runs,
            "target": self.target,
            "target_text": self.target_text,
            "met": self.met,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "other_load_cores": self.load,
        }


def publish_feeds(seed: int, stories: int) -> int:
    """The fewest feeds whose cold pass stores at least ``stories`` stories."""
    count = max(1, stories // ENTRIES_PER_FEED)
    while expected_counts(seed, [0] * count)[1] < stories:
        count += 1
    return count


# --- processes ------------------------------------------------------------------------


class Partners:
    """The partner world's process; ``url`` is where it serves."""

    def __init__(self, seed: int, count: int) -> None:
        started = time.perf_counter()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.partners", "--seed", str(seed), "--feeds", str(count)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().split()
        if len(line) != 2 or line[0] != "ready":
            self.close()
            raise RuntimeError(f"the partner server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{line[1]}"
        self.pid = self._process.pid
        self.generation_seconds = time.perf_counter() - started

    def reset(self) -> None:
        _get(f"{self.url}/_bench/reset")

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()  # the server exits when its stdin closes
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _get(url: str) -> bytes:
    import urllib.request  # noqa: PLC0415  (only the control requests use it)

    with urllib.request.urlopen(url, timeout=60) as response:
        body: bytes = response.read()
    return body


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _descendants(root: int) -> set[int]:
    parents = _parents()
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _busy_seconds() -> float:
    """CPU seconds every core of the machine has been busy since boot (not idle or iowait)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / _TICK  # minus idle and iowait


class _Watch:
    """While a job runs: peak PSS of its process tree (5 samples a second), CPU used by the
    tree and by the partners, and CPU used by anything else on the machine (other load makes
    every figure slower: it is reported with them)."""

    def __init__(self, process: subprocess.Popen[str], partners_pid: int | None) -> None:
        self._process = process
        self._partners_pid = partners_pid
        self.peak_pss_kb = 0
        self._cpu_by_pid: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._busy = _busy_seconds()
        self._partners_cpu = _cpu_seconds(partners_pid) if partners_pid else 0.0
        self._started = time.perf_counter()
        self._children = resource.getrusage(resource.RUSAGE_CHILDREN)

    def __enter__(self) -> _Watch:
        if Path("/proc/self/smaps_rollup").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(0.2):
            tree = _descendants(self._process.pid)
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(pid) for pid in tree))
            for pid in tree - {self._process.pid}:
                self._cpu_by_pid[pid] = max(self._cpu_by_pid.get(pid, 0.0), _cpu_seconds(pid))

    def report(self) -> dict[str, float]:
        """After the process ended: CPU seconds of the job, the partners and the rest."""
        wall = time.perf_counter() - self._started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = (children.ru_utime - self._children.ru_utime) + (
            children.ru_stime - self._children.ru_stime
        )
        job = own + sum(self._cpu_by_pid.values())
        partners = (_cpu_seconds(self._partners_pid) if self._partners_pid else 0.0) - (
            self._partners_cpu
        )
        other = max(0.0, _busy_seconds() - self._busy - job - partners)
        return {
            "job_cpu_seconds": job,
            "partners_cpu_seconds": partners,
            "other_cpu_seconds": other,
            "other_load_cores": other / wall if wall else 0.0,
        }


def _run_json(args: Sequence[str], partners_pid: int | None = None) -> dict[str, Any]:
    """Run a bench process; its JSON line plus peak PSS, CPU and wall time of its tree."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with _Watch(process, partners_pid) as watch:
        stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({process.returncode}):\n{stderr}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    result["peak_tree_pss_mb"] = watch.peak_pss_kb / 1024
    result.update(watch.report())
    return result


# --- jobs -----------------------------------------------------------------------------


def _write_config(folder: Path, count: int, partners_url: str) -> Path:
    lines = [
        "site:",
        "  title: Benchmark Digest",
        "  url: https://feeds.example.org/",
        "storage:",
        f"  database: {folder / 'syndicator.db'}",
        f"  output_dir: {folder / 'public'}",
        "defaults:",
        "  timeout: 120s",
        "allow_private_networks: true",
        "feeds:",
    ]
    for spec in feed_specs(count):
        lines += [
            f"  - id: {spec.feed_id}",
            f"    url: {partners_url}{spec.path}",
            f"    kind: {spec.kind}",
        ]
    config = folder / "feeds.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _job(settings: Settings, name: str, count: int, partners: Partners, steps: list[Any]) -> Any:
    folder = settings.out / "work" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    job = {
        "config": str(_write_config(folder, count, partners.url)),
        "server": partners.url,
        "log_file": str(folder / "syndicator.log"),
        "steps": [
            {**step, "output_dir": str(folder / step["output_dir"])}
            if "output_dir" in step
            else step
            for step in steps
        ],
    }
    job_file = folder / "job.json"
    job_file.write_text(json.dumps(job))
    # By path, as the `syndicator` command runs: parser workers fork from a server that has
    # imported this main module once (see syndicator/prepare.py).
    result = _run_json([str(ROOT / "bench" / "runner.py"), str(job_file)], partners.pid)
    shutil.rmtree(folder, ignore_errors=True)
    return result


def _baseline(settings: Settings, partners: Partners) -> dict[str, Any]:
    folder = settings.out / "work" / "baseline"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    urls = folder / "urls.txt"
    urls.write_text("\n".join(partners.url + s.path for s in feed_specs(settings.feeds)) + "\n")
    result = _run_json(
        [str(ROOT / "bench" / "baseline.py"), str(urls), str(folder / "all.atom")], partners.pid
    )
    shutil.rmtree(folder, ignore_errors=True)
    return result


# --- the run --------------------------------------------------------------------------


@dataclass(slots=True)
class Measured:
    baseline: list[dict[str, Any]] = field(default_factory=list)
    cold: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # size -> pass steps
    jobs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # size -> job results
    warm: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    publish: list[dict[str, Any]] = field(default_factory=list)
    publish_default: list[dict[str, Any]] = field(default_factory=list)
    publish_job: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)


def measure(settings: Settings, partners: Partners, say: Callable[[str], None]) -> Measured:
    measured = Measured()
    for repeat in range(settings.baseline_repeats):
        say(f"baseline, {settings.feeds} feeds, run {repeat + 1}/{settings.baseline_repeats}")
        measured.baseline.append(_baseline(settings, partners))
    for size in sorted(set(settings.scaling) | {settings.feeds}):
        repeats = settings.repeats if size == settings.feeds else settings.scaling_repeats
        for repeat in range(repeats):
            steps: list[dict[str, Any]] = [{"op": "pass", "label": "cold"}]
            full = size == settings.feeds and repeat == 0
            if full:
                steps += [{"op": "pass", "label": "warm"} for _ in range(settings.repeats)]
                for round_number in range(1, settings.repeats + 1):
                    steps += [{"op": "bump", "round": round_number}]
                    steps += [{"op": "pass", "label": "changed"}]
            say(
                f"cold pass, {size} feeds, run {repeat + 1}/{repeats}"
                + (", then warm and 10%-changed passes" if full else "")
            )
            result = _job(settings, f"passes-{size}-{repeat}", size, partners, steps)
            partners.reset()
            passes = [s for s in result["steps"] if s["op"] == "pass"]
            measured.cold.setdefault(size, []).append(passes[0])
            measured.jobs.setdefault(size, []).append(result)
            if full:
                measured.warm = [s for s in passes if s["label"] == "warm"]
                measured.changed = [s for s in passes if s["label"] == "changed"]
    count = publish_feeds(settings.seed, settings.publish_stories)
    say(f"publish of {settings.publish_stories} stories ({count} feeds stored first)")
    steps = [{"op": "pass", "label": "cold"}] + [
        {
            "op": "publish",
            "label": "publish",
            "max_items": settings.publish_stories,
            "output_dir": f"public-{n}",
        }
        for n in range(settings.repeats)
    ]
    # What every pass publishes: the same store, the default max_items.
    steps += [
        {"op": "publish", "label": "publish_default", "max_items": 100, "output_dir": f"d-{n}"}
        for n in range(settings.repeats)
    ]
    result = _job(settings, "publish", count, partners, steps)
    measured.publish = [s for s in result["steps"] if s.get("label") == "publish"]
    measured.publish_default = [s for s in result["steps"] if s.get("label") == "publish_default"]
    measured.publish_job = [result]
    measured.checks = _checks(settings, measured)
    return measured


def _checks(settings: Settings, measured: Measured) -> dict[str, bool]:
    """Behaviour, not speed: what each pass must have done."""
    checks: dict[str, bool] = {}
    for size, passes in measured.cold.items():
        entries, stories = expected_counts(settings.seed, [0] * size)
        checks[f"cold {size}: every feed parsed, none failed"] = all(
            p["ok"] == size and p["failed"] == 0 for p in passes
        )
        checks[f"cold {size}: {entries} entries, {stories} stories stored"] = all(
            p["entries"] == entries and p["stories"] == stories for p in passes
        )
        checks[f"cold {size}: every published file written"] = all(
            p["files_written"] > 0 and p["files_unchanged"] == 0 for p in passes
        )
    n = settings.feeds
    checks["warm: zero parses (every feed not modified, all 304)"] = all(
        p["ok"] == 0 and p["not_modified"] == n and p["served_304"] == n for p in measured.warm
    )
    checks["warm: zero files written"] = all(p["files_written"] == 0 for p in measured.warm)
    for round_number, step in enumerate(measured.changed, start=1):
        entries, stories = expected_counts(
            settings.seed, versions_after(n, settings.seed, round_number)
        )
        changed = len([v for v in versions_after(n, settings.seed, 1) if v])
        checks[f"changed round {round_number}: {changed} parsed, the rest not modified"] = (
            step["ok"] == changed and step["not_modified"] == n - changed and step["failed"] == 0
        )
        checks[f"changed round {round_number}: {entries} entries, {stories} stories"] = (
            step["entries"] == entries and step["stories"] == stories
        )
    checks[f"publish: {settings.publish_stories} stories in all.*"] = all(
        p["stories"] >= settings.publish_stories and p["files_written"] > 0
        for p in measured.publish
    )
    return checks


def _load(jobs: Sequence[dict[str, Any]]) -> float:
    return statistics.median(j.get("other_load_cores", 0.0) for j in jobs) if jobs else 0.0


def figures(settings: Settings, measured: Measured) -> list[Figure]:
    n = settings.feeds
    stories = settings.publish_stories
    base = statistics.median(b["seconds"] for b in measured.baseline)
    base_per_entry = statistics.median(
        b["write_seconds"] / max(1, b["written"]) for b in measured.baseline
    )
    full = measured.jobs[n][:1]
    cold = [p["seconds"] for p in measured.cold[n]]
    rows = [
        Figure(
            "baseline",
            f"baseline: {n} feeds, feedparser.parse(url) one by one + feedgen",
            "s",
            [b["seconds"] for b in measured.baseline],
            None,
            "(the ~40-43 s of the issue)",
            load=_load(measured.baseline),
        ),
        Figure(
            "cold",
            f"cold pass, {n} feeds (empty database to published)",
            "s",
            cold,
            12.0 * n / 1000,
            f"<= {12.0 * n / 1000:g} s",
            base,
            load=_load(measured.jobs[n]),
        ),
        Figure(
            "cold_speedup",
            f"cold pass, {n} feeds: times faster than the baseline",
            "x",
            [base / c for c in cold],
            3.5,
            ">= 3.5x",
            lower_is_better=False,
            load=_load(measured.jobs[n]),
        ),
        Figure(
            "cold_cpu",
            f"cold pass, {n} feeds: CPU time, main process + parser workers",
            "s",
            [j["job_cpu_seconds"] for j in measured.jobs[n][1:] or measured.jobs[n]],
            None,
            "(wall >= this / cores)",
            statistics.median(b["job_cpu_seconds"] for b in measured.baseline),
            load=_load(measured.jobs[n]),
        ),
        Figure(
            "warm",
            f"warm pass, {n} feeds, nothing changed",
            "s",
            [p["seconds"] for p in measured.warm],
            1.5 * n / 1000,
            f"<= {1.5 * n / 1000:g} s, 0 parses, 0 files written",
            base,
            load=_load(full),
        ),
        Figure(
            "changed",
            f"pass with 10% of {n} feeds changed (2 new entries each)",
            "s",
            [p["seconds"] for p in measured.changed],
            3.0 * n / 1000,
            f"<= {3.0 * n / 1000:g} s",
            base,
            load=_load(full),
        ),
        Figure(
            "publish",
            f"publish alone, {stories} stories (Atom, RSS, JSON, OPML, HTML)",
            "s",
            [p["seconds"] for p in measured.publish],
            stories / 10_000,
            f"<= {stories / 10_000:g} s",
            base_per_entry * stories,
            load=_load(measured.publish_job),
        ),
        Figure(
            "publish_default",
            f"publish alone, same {stories}-story store, max_items 100 (as every pass)",
            "s",
            [p["seconds"] for p in measured.publish_default],
            None,
            "",
            load=_load(measured.publish_job),
        ),
        Figure(
            "peak_rss",
            f"peak RSS of the process, cold pass of {n} feeds",
            "MB",
            [j["peak_rss_mb"] for j in measured.jobs[n]],
            500.0,
            "<= 500 MB",
            statistics.median(b["peak_rss_mb"] for b in measured.baseline),
            load=_load(measured.jobs[n]),
        ),
        Figure(
            "peak_tree",
            f"peak PSS, process + parser workers, cold pass of {n} feeds",
            "MB",
            [j["peak_tree_pss_mb"] for j in measured.jobs[n]],
            500.0,
            "<= 500 MB",
            statistics.median(b["peak_tree_pss_mb"] for b in measured.baseline),
            load=_load(measured.jobs[n]),
        ),
    ]
    per_feed: dict[int, float] = {}
    for size in sorted(s for s in measured.cold if s in settings.scaling):
        runs = [p["seconds"] / size * 1000 for p in measured.cold[size]]
        per_feed[size] = statistics.median(runs)
        rows.append(
            Figure(
                f"scaling_{size}",
                f"cold pass, {size} feeds: time per feed",
                "ms",
                runs,
                None,
                "",
                base / n * 1000,
                load=_load(measured.jobs[size]),
            )
        )
    rows.append(
        Figure(
            "scaling",
            f"scaling {min(per_feed)} -> {max(per_feed)} feeds: slowest / fastest time per feed",
            "x",
            [max(per_feed.values()) / min(per_feed.values())],
            1.5,
            "<= 1.5x (linear)",
        )
    )
    return rows


def _cell(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f}{unit}"


def table(rows: list[Figure]) -> str:
    header = (
        "figure",
        "median",
        "spread (min-max, n)",
        "target",
        "met",
        "baseline",
        "ratio",
        "other load",
    )
    lines = [header]
    for f in rows:
        lines.append(
            (
                f.name,
                _cell(f.median, " " + f.unit),
                f"{_cell(min(f.runs))}-{_cell(max(f.runs))}, {len(f.runs)}",
                f.target_text or "-",
                {True: "yes", False: "NO", None: "-"}[f.met],
                _cell(f.baseline, " " + f.unit),
                _cell(f.ratio, "x"),
                _cell(f.load, " cores") if f.load is not None else "-",
            )
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in lines
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def _settings(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument(
        "--scaling", default="250,500,1000,2000", help="comma-separated feed counts"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each headline figure")
    parser.add_argument("--scaling-repeats", type=int, default=2, help="runs at the other sizes")
    parser.add_argument("--baseline-repeats", type=int, default=1)
    parser.add_argument("--publish-stories", type=int, default=PUBLISH_STORIES)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="10 feeds (a world of 20), one run each: the version the test suite runs",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        return Settings(args.seed, 10, (5, 10, 20), 1, 1, 1, 500, args.out)
    scaling = tuple(int(s) for s in args.scaling.split(",") if s.strip())
    return Settings(
        args.seed,
        args.feeds,
        scaling,
        args.repeats,
        args.scaling_repeats,
        args.baseline_repeats,
        args.publish_stories,
        args.out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = _settings(argv)
    started = time.perf_counter()
    settings.out.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    say(f"generating {settings.world_size} partner feeds (seed {settings.seed})")
    partners = Partners(settings.seed, settings.world_size)
    try:
        measured = measure(settings, partners, say)
    finally:
        partners.close()
    rows = figures(settings, measured)
    total = time.perf_counter() - started
    print(table(rows))
    print()
    for name, ok in measured.checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    busiest = max((f.load or 0.0) for f in rows)
    print(
        f"\n{os.cpu_count()} cores; load average {load_before:.2f} before the bench. 'other load':"
        " cores kept busy by other processes meanwhile (the partners' server not counted)."
    )
    if busiest > 0.2:
        print(f"WARNING: other processes used up to {busiest:.2f} cores: figures are pessimistic.")
    print(f"bench took {total:.0f} s (world generation {partners.generation_seconds:.1f} s)")
    results = {
        "settings": {
            "seed": settings.seed,
            "feeds": settings.feeds,
            "scaling": settings.scaling,
            "repeats": settings.repeats,
            "scaling_repeats": settings.scaling_repeats,
            "baseline_repeats": settings.baseline_repeats,
            "publish_stories": settings.publish_stories,
        },
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": load_before,
        },
        "figures": [f.as_json() for f in rows],
        "checks": measured.checks,
        "raw": {
            "baseline": measured.baseline,
            "jobs": measured.jobs,
            "publish": measured.publish + measured.publish_default,
        },
        "bench_seconds": total,
        "world_generation_seconds": partners.generation_seconds,
    }
    (settings.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {settings.out / 'results.json'}")
    return 0 if all(measured.checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
