"""The clustering benchmark's smoke run (``python -m bench.cluster --smoke``), so it cannot rot.

The same code path as ``make bench-cluster`` on 500 and 2,000 entries: generation, normalize,
one fresh process per size, the table and ``cluster.json``. It asserts what the runs did,
never how fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.cluster import fetches, generate, paired_ratios

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_cluster_benchmark_writes_every_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.cluster", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr

    document = json.loads((tmp_path / "cluster.json").read_text())
    figures = {figure["key"]: figure for figure in document["figures"]}
    assert set(figures) == {
        *(
            f"{name}_{size}"
            for name in ("cluster", "signatures", "throughput", "peak_rss", "band_table")
            for size in (500, 2000)
        ),
        "ratio",
        "band_table_ratio",
    }
    assert figures["ratio"]["target"] == 1.2 * 2000 / 500
    small, large = document["runs"]["500"][0], document["runs"]["2000"][0]
    assert figures["ratio"]["runs"] == [large["seconds"] / small["seconds"]]
    assert figures["band_table_ratio"]["target"] is None  # a reference, not a goal
    assert figures["band_table_ratio"]["runs"] == [
        large["band_table_seconds"] / small["band_table_seconds"]
    ]
    for size in (500, 2000):
        [run] = document["runs"][str(size)]
        assert run["entries"] == size
        assert 0 < run["stories_generated"] < size  # some stories have several copies
        assert 0 < run["stories_found"] <= size
        assert run["seconds"] > 0 and run["peak_rss_mb"] > 0 and run["band_table_seconds"] > 0
    assert "cluster_entries, 2,000 entries" in result.stdout
    assert "stories found" in result.stdout


def test_each_large_run_is_divided_by_the_small_run_just_before_it() -> None:
    small = [{"seconds": 0.5}, {"seconds": 1.0}, {"seconds": 0.5}]
    large = [{"seconds": 6.0}, {"seconds": 11.0}, {"seconds": 5.5}]
    # Against the fastest small run, the second pair (a slow spell) would read 22x.
    assert paired_ratios(small, large) == [12.0, 11.0, 11.0]


def test_generated_entries_are_seeded_and_fetched_fifty_at_a_time() -> None:
    items = generate(1_200, seed=3)
    assert items == generate(1_200, seed=3)
    assert len(items) == 1_200
    copies = [i for i in items if i.guid.endswith(("-1", "-2", "-3"))]
    assert 0.05 * len(items) < len(copies) < 0.25 * len(items)
    listed = fetches(items)
    assert sum(len(batch) for _, batch in listed) == 1_200
    assert all(0 < len(batch) <= 50 for _, batch in listed)
    for feed, batch in listed:
        assert {i.feed for i in batch} == {feed}
