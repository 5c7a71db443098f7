"""The benchmark's own smoke run (``python -m bench.run --smoke``), so bench/ cannot rot.

The same code path as ``make bench`` on 10 feeds (a world of 20) and one run of each figure:
partner world, baseline, cold / warm / changed passes, publish, scaling. It asserts what the
passes did (counts, zero parses on the warm pass, every figure in results.json), never how
fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.run import publish_feeds

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {
    "baseline",
    "cold",
    "cold_speedup",
    "cold_cpu",
    "warm",
    "changed",
    "publish",
    "publish_default",
    "peak_rss",
    "peak_tree",
    "scaling_5",
    "scaling_10",
    "scaling_20",
    "scaling",
}


def test_smoke_benchmark_runs_every_figure_and_checks_behaviour(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr

    document = json.loads((tmp_path / "results.json").read_text())
    figures = {figure["key"]: figure for figure in document["figures"]}
    assert set(figures) == FIGURES
    for figure in figures.values():
        assert figure["runs"] and figure["median"] > 0, figure
        assert {"min", "max", "target", "met", "baseline", "ratio"} <= set(figure)
    assert document["checks"] and all(document["checks"].values()), document["checks"]

    jobs = document["raw"]["jobs"]["10"]
    passes = [step for step in jobs[0]["steps"] if step["op"] == "pass"]
    cold, warm, changed = passes
    assert (cold["ok"], cold["failed"], cold["entries"], cold["stories"]) == (10, 0, 500, 483)
    # 4 feeds x 3 formats, webinars.ics, sources.opml, index.html, partners/<id>.atom x 10
    assert cold["files_written"] == 25
    assert (warm["ok"], warm["not_modified"], warm["files_written"]) == (0, 10, 0)
    assert (warm["served_200"], warm["served_304"]) == (0, 10)  # nothing parsed, all 304
    # 10% of the 10 feeds (not of the 20 the partners serve) get 2 new entries.
    assert (changed["ok"], changed["not_modified"], changed["new_stories"]) == (1, 9, 2)
    assert changed["entries"] == 502
    assert document["raw"]["jobs"]["20"][0]["steps"][0]["entries"] == 1000

    baseline = document["raw"]["baseline"][0]
    assert baseline["feeds"] == 10 and baseline["read"] > 0
    publish, publish_default = document["raw"]["publish"]
    assert publish["max_items"] == 500 and publish["stories"] >= 500
    # the publish store holds the feeds of 500 stories: one partners/<id>.atom each
    partner_feeds = publish_feeds(8, 500)
    assert publish_default["max_items"] == 100
    assert publish_default["files_written"] == 15 + partner_feeds

    # The table is printed too, one line per figure.
    assert "cold pass, 10 feeds" in result.stdout
    assert "warm pass, 10 feeds, nothing changed" in result.stdout
