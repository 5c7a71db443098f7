"""server.py: which path serves which file (pure), and `syndicator serve`, the server without a
scheduler, as a subprocess. The running service's server is tested in test_service.py."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from running_service import RunningService

from syndicator.config import load_config
from syndicator.lock import DatabaseBusy, DatabaseLock, current_holder
from syndicator.metrics import Metrics
from syndicator.server import (
    HttpServer,
    Site,
    accepts_gzip,
    bind,
    cache_seconds,
    create_app,
    published_target,
)
from syndicator.service import Service


@pytest.fixture
def root(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    (public / "tags").mkdir(parents=True)
    for name in ("index.html", "all.atom", "tags/index.html", "tags/news.atom", ".all.rss.tmp-1"):
        (public / name).write_text(name, encoding="utf-8")
    (tmp_path / "feeds.yaml").write_text("secret", encoding="utf-8")
    (public / "link.yaml").symlink_to(tmp_path / "feeds.yaml")
    return public


@pytest.mark.parametrize(
    ("url_path", "expected"),
    [
        ("/", "index.html"),
        ("/all.atom", "all.atom"),
        ("/tags/", "tags/index.html"),
        ("/tags/news.atom", "tags/news.atom"),
    ],
)
def test_paths_inside_the_folder_are_served(root: Path, url_path: str, expected: str) -> None:
    assert published_target(root, url_path) == (root / expected).resolve()


@pytest.mark.parametrize(
    "url_path",
    [
        "/../feeds.yaml",  # what %2e%2e arrives as, once decoded
        "/tags/../../feeds.yaml",
        "/./all.atom",
        "//all.atom",
        "/tags//news.atom",
        "/..\\feeds.yaml",
        "/all.atom\x00.html",
        "/.all.rss.tmp-1",  # publish's temp files
        "/link.yaml",  # a symlink out of the folder
        "/tags",  # a folder without the slash
        "/missing.atom",
        "all.atom",
    ],
)
def test_paths_outside_or_hidden_are_refused(root: Path, url_path: str) -> None:
    assert published_target(root, url_path) is None


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("GZIP", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, br", False),
        ("*", True),
        ("*;q=0", False),
        ("identity", False),
        ("x-gzip", True),
    ],
)
def test_accept_encoding(header: str | None, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


def config_file(folder: Path, intervals: list[str]) -> Path:
    lines = ["site:", "  title: T", "  url: https://feeds.example.org/", "feeds:"]
    for number, interval in enumerate(intervals):
        lines += [f"  - id: feed-{number}", f"    url: https://p.example/{number}"]
        lines += [f"    interval: {interval}"]
    lines += ["  - id: off", "    url: https://p.example/off", "    interval: 1s"]
    lines += ["    enabled: false"]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cache_control_follows_the_shortest_enabled_interval(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, ["2h", "15m", "1d"]))
    assert cache_seconds(config) == 15 * 60
    assert timedelta(seconds=cache_seconds(config)) == min(f.interval for f in config.feeds[:3])


def test_the_lock_is_exclusive_and_says_who_holds_it(tmp_path: Path) -> None:
    database = tmp_path / "data" / "syndicator.db"
    assert current_holder(database) is None
    with DatabaseLock(database, "run"):
        holder = current_holder(database)
        assert holder is not None
        assert (holder.pid, holder.verb) == (os.getpid(), "run")
        with pytest.raises(DatabaseBusy) as busy:
            DatabaseLock(database, "fetch").acquire()
        assert str(busy.value).startswith(
            f"the database {database} is in use by `syndicator run` (pid {os.getpid()} on "
        )
    assert current_holder(database) is None
    with DatabaseLock(database, "fetch"):  # free again
        pass


def test_serve_has_status_health_and_metrics_without_a_scheduler(tmp_path: Path) -> None:
    config = config_file(tmp_path, ["15m"])
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "webinars.ics").write_text("BEGIN:VCALENDAR\r\n", encoding="utf-8")
    with RunningService(config, "serve") as server:
        assert server.get("/healthz").status == 200
        document = server.status()
        assert [f["id"] for f in document["feeds"]] == ["feed-0", "off"]
        assert document["running"] is None
        assert document["feeds"][0]["health"] == "new"
        assert document["feeds"][1]["disabled_reason"] == "disabled in feeds.yaml (line 8)"
        metrics = server.get("/metrics")
        families = {f.name for f in text_string_to_metric_families(metrics.body.decode())}
        assert {"syndicator_stories", "syndicator_consecutive_errors"} <= families
        calendar = server.get("/webinars.ics")
        assert calendar.headers["content-type"] == "text/calendar; charset=utf-8"
        assert calendar.headers["cache-control"] == "public, max-age=900"
        assert server.get("/status").status == 200
        missing = server.get("/all.atom")
        assert missing.status == 404
        assert json.loads(server.get("/status.json").body)["version"] == 1
    assert server.returncode == 0


def test_healthz_is_503_with_the_reason_when_unhealthy(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, ["15m"]))
    with bind("127.0.0.1", 0) as sock:
        service = Service(config, config.path, lambda site: HttpServer(create_app(site), sock))
        assert service.health() == "the scheduler is not running"  # not started yet

    async def no_status() -> dict[str, Any]:
        return {}

    async def get_healthz() -> httpx.Response:
        site = Site(lambda: config, no_status, service.health, Metrics())
        transport = httpx.ASGITransport(app=create_app(site))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/healthz")

    reply = asyncio.run(get_healthz())
    assert (reply.status_code, reply.text) == (503, "unhealthy: the scheduler is not running\n")
    assert reply.headers["cache-control"] == "no-store"
