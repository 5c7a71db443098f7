"""One measured syndicator job, in its own process: ``python -m bench.runner JOB.json``.

A fresh process per job, so each cold pass starts as ``syndicator fetch`` does (no warm
caches, its own worker pool) and its peak RSS is its own. What is timed is the library call
only, from ``pipeline.run_pass`` (or ``publish_from_store``) being called to its return:
fetch, parse, normalize, dedupe, store and publish, worker start-up included; interpreter
start-up, imports and loading feeds.yaml are not (they are reported apart).

The job is JSON: ``{"config": PATH, "server": URL, "steps": [...]}``, each step one of

    {"op": "pass", "label": "cold"}                  run_pass over every feed of the config
    {"op": "bump", "round": 1}                       10% of the config's feeds get 2 new entries
    {"op": "publish", "label": "publish", "max_items": 10000, "output_dir": PATH}

and the result, printed as one JSON line on stdout, has one record per step plus
``peak_rss_mb`` (this process, from getrusage).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import resource
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from syndicator.config import Config, load_config
from syndicator.pipeline import publish_from_store, run_pass
from syndicator.store import Store


def _server_stats(server: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{server}/_bench/stats", timeout=30) as response:
        stats: dict[str, int] = json.load(response)
    return stats


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _run_pass(config: Config, store: Store, server: str, label: str) -> dict[str, Any]:
    before = _server_stats(server)
    cpu = _cpu()
    started = time.perf_counter()
    report = run_pass(config, store, list(config.enabled_feeds))
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    after = _server_stats(server)
    published = report.published
    return {
        "op": "pass",
        "label": label,
        "seconds": seconds,
        "main_cpu_seconds": cpu,
        "feeds": len(report.feeds),
        "ok": report.count("ok"),  # each one parsed: a body that changed
        "not_modified": report.count("not_modified"),
        "failed": report.count("failed"),
        "failures": [f.message for f in report.feeds if f.outcome == "failed"][:5],
        "new_stories": report.new_stories,
        "updated_entries": report.updated_entries,
        "files_written": len(published.written) if published else 0,
        "files_unchanged": len(published.unchanged) if published else 0,
        "served_200": after["200"] - before["200"],
        "served_304": after["304"] - before["304"],
        **store.counts(),
    }


def _publish(config: Config, store: Store, step: dict[str, Any]) -> dict[str, Any]:
    site = dataclasses.replace(config.site, max_items=int(step["max_items"]))
    storage = dataclasses.replace(config.storage, output_dir=Path(step["output_dir"]))
    wide = dataclasses.replace(config, site=site, storage=storage)
    started = time.perf_counter()
    report = publish_from_store(wide, store)
    seconds = time.perf_counter() - started
    sizes = {p.name: p.stat().st_size for p in storage.output_dir.iterdir() if p.is_file()}
    return {
        "op": "publish",
        "label": step.get("label", "publish"),
        "seconds": seconds,
        "max_items": site.max_items,
        "files_written": len(report.written),
        "bytes_written": sum(sizes.values()),
        **store.counts(),
    }


def _bump(server: str, round_number: int, feeds: int) -> dict[str, Any]:
    url = f"{server}/_bench/bump?round={round_number}&feeds={feeds}"
    with urllib.request.urlopen(url, timeout=60) as response:
        bumped: list[str] = json.load(response)
    return {"op": "bump", "round": round_number, "feeds": len(bumped)}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    config = load_config(Path(job["config"]))
    config_seconds = time.perf_counter() - started
    server = str(job["server"])
    steps: list[dict[str, Any]] = []
    with Store(config.storage.database) as store:
        for step in job["steps"]:
            if step["op"] == "pass":
                steps.append(_run_pass(config, store, server, str(step["label"])))
            elif step["op"] == "bump":
                steps.append(_bump(server, int(step["round"]), len(config.enabled_feeds)))
            elif step["op"] == "publish":
                steps.append(_publish(config, store, step))
            else:
                raise ValueError(f"unknown step {step!r}")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"config_seconds": config_seconds, "steps": steps, "peak_rss_mb": peak_kb / 1024}


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    log_file = job.get("log_file")
    # As `syndicator fetch` does: one INFO line per feed (to a file, not the terminal).
    logging.basicConfig(
        level=logging.INFO,
        filename=log_file,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # as cli.configure_logging does
    print(json.dumps(run_job(job)), flush=True)


if __name__ == "__main__":
    main()
