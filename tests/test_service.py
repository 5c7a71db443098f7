"""``syndicator run`` as an operator runs it: a subprocess, real partners on 127.0.0.1, a real
feeds.yaml and SQLite file, polling intervals of one second.

The first service plays five partners at once (steady, rate-limited, failing, gone, moved)
and every check of the running server is made against it; reload, SIGTERM, the lock and
WebSub get a service of their own. Tests wait on events (status.json, request logs) with
short sleeps under a generous deadline: never a fixed long sleep, never a timing assertion
beyond what the schedule in status.json says.
"""

from __future__ import annotations

import gzip
import http.server
import itertools
import json
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from feed_validator import validate_feed_files
from partner_server import PartnerServer
from prometheus_client.parser import text_string_to_metric_families
from running_service import RunningService

from syndicator.service import PUBLISH_RETRY


def rss(title: str, *items: str) -> bytes:
    """A small RSS 2.0 feed without <ttl>, one item per title."""
    entries = "".join(
        f"<item><title>{item}</title><link>https://partner.example/{abs(hash(item))}</link>"
        f"<guid isPermaLink='false'>{item}</guid>"
        f"<pubDate>Wed, 18 Nov 2026 10:00:00 GMT</pubDate></item>"
        for item in items
    )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>{title}</title>"
        f"<link>https://partner.example/</link><description>d</description>{entries}"
        f"</channel></rss>"
    ).encode()


def write_config(
    folder: Path, feeds: list[tuple[str, str]], *, site_extra: str = "", interval: str = "1s"
) -> Path:
    lines = [
        "site:",
        "  title: WeGO Partner Digest",
        "  url: https://feeds.example.org/",
        *([site_extra] if site_extra else []),
        "storage:",
        "  database: data/syndicator.db",
        "  output_dir: public",
        "defaults:",
        f"  interval: {interval}",
        "  timeout: 20s",
        "allow_private_networks: true  # partners are on 127.0.0.1 in tests",
        "feeds:",
    ]
    for feed_id, url in feeds:
        lines += [f"  - id: {feed_id}", f"    url: {url}"]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line_of(config: Path, feed_id: str) -> int:
    lines = config.read_text(encoding="utf-8").splitlines()
    return lines.index(f"  - id: {feed_id}") + 1


def seconds_between(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


# --- one service, five partners ---------------------------------------------------------------


@dataclass
class Scenario:
    service: RunningService
    partner: PartnerServer
    config: Path
    folder: Path


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    folder = tmp_path_factory.mktemp("service")
    with PartnerServer() as partner:
        partner.set("/steady.rss", rss("Steady", "Steady one", "Steady two"))
        partner.set(
            "/limited.rss",
            b"slow down",
            status=429,
            content_type="text/plain",
            headers={"Retry-After": "5"},
        )
        partner.set("/flaky.rss", b"oops", status=500, content_type="text/plain")
        partner.set("/gone.rss", b"gone", status=410, content_type="text/plain")
        partner.redirect("/moved.rss", "/new-home.rss", status=301)
        partner.set("/new-home.rss", rss("Moved", "Moved one"))
        config = write_config(
            folder,
            [
                (name, partner.url(f"/{name}.rss"))
                for name in ("steady", "limited", "flaky", "gone", "moved")
            ],
        )
        with RunningService(config) as service:
            yield Scenario(service, partner, config, folder)
            assert service.stop() == 0, service.log_text()


def test_each_feed_is_polled_on_its_interval(scenario: Scenario) -> None:
    service, partner = scenario.service, scenario.partner
    service.wait_for(lambda: len(partner.requests_for("/steady.rss")) >= 4, "4 polls of steady")
    steady = service.feed("steady")
    assert steady["health"] == "ok"
    assert steady["next_due_reason"] == "every 1s"
    # The plan: the interval plus at most 10% jitter, never sooner.
    assert 1.0 <= seconds_between(steady["next_due"], steady["last_attempt"]) <= 3
    # Conditional requests after the first: the partner answers 304.
    assert partner.requests_for("/steady.rss")[-1].headers.get("if-none-match")


def test_retry_after_delays_that_feed_and_no_other(scenario: Scenario) -> None:
    service, partner = scenario.service, scenario.partner
    limited = service.wait_for(
        lambda: (f := service.feed("limited"))["http_status"] == 429 and f, "the 429"
    )
    assert "Retry-After" in limited["next_due_reason"]
    assert seconds_between(limited["next_due"], limited["last_attempt"]) >= 5
    first = len(partner.requests_for("/limited.rss"))
    steady_before = len(partner.requests_for("/steady.rss"))
    service.wait_for(
        lambda: len(partner.requests_for("/steady.rss")) >= steady_before + 2, "2 steady polls"
    )
    if seconds_between(service.status()["checked_at"], limited["last_attempt"]) < 4:
        assert len(partner.requests_for("/limited.rss")) == first  # still waiting
    partner.set("/limited.rss", rss("Limited", "Limited one"))
    service.wait_for(lambda: service.feed("limited")["health"] == "ok", "limited to recover")


def test_failing_feed_backs_off_then_recovers(scenario: Scenario) -> None:
    service, partner = scenario.service, scenario.partner
    flaky = service.wait_for(
        lambda: (f := service.feed("flaky"))["consecutive_errors"] >= 3 and f, "3 errors"
    )
    assert flaky["health"] == "failing"
    errors = flaky["consecutive_errors"]
    assert flaky["next_due_reason"] == f"backing off after {errors} consecutive errors"
    # 1 s interval: after n errors the wait is 2**(n-1) s (plus jitter).
    assert seconds_between(flaky["next_due"], flaky["last_attempt"]) >= 2 ** (errors - 1)
    assert "HTTP 500" in flaky["last_error"]
    partner.set("/flaky.rss", rss("Flaky", "Flaky is back"))
    back = service.wait_for(
        lambda: (f := service.feed("flaky"))["health"] == "ok" and f, "flaky to recover"
    )
    assert back["consecutive_errors"] == 0
    assert back["next_due_reason"] == "every 1s"


def test_gone_feed_is_disabled_with_a_sentence_naming_its_line(scenario: Scenario) -> None:
    service, partner = scenario.service, scenario.partner
    gone = service.wait_for(lambda: (f := service.feed("gone"))["health"] == "disabled" and f)
    line = line_of(scenario.config, "gone")
    assert gone["line"] == line
    assert gone["enabled"] is True  # feeds.yaml still has it: the partner removed it
    assert gone["next_due"] is None
    reason = gone["disabled_reason"]
    assert reason.startswith("gone: HTTP 410 Gone since ")
    assert f"remove it from feeds.yaml (line {line})" in reason
    steady = len(partner.requests_for("/steady.rss"))
    service.wait_for(lambda: len(partner.requests_for("/steady.rss")) >= steady + 2)
    assert len(partner.requests_for("/gone.rss")) == 1  # never polled again
    assert reason in service.log_text()


def test_permanent_redirect_is_followed_and_reported(scenario: Scenario) -> None:
    service = scenario.service
    moved = service.wait_for(lambda: (f := service.feed("moved"))["warning"] and f)
    assert moved["health"] == "ok"
    new_url = scenario.partner.url("/new-home.rss")
    line = line_of(scenario.config, "moved")
    assert moved["warning"] == (
        f"moved: the feed moved permanently to {new_url}; "
        f"update its url in feeds.yaml (line {line})"
    )
    service.wait_for(lambda: b"Moved one" in service.get("/all.rss").body, "moved's story")


# --- the running server -------------------------------------------------------------------


# Every file the tests below read: a publish writes them one after another, so waiting for
# some (sources.opml was missing here) let a test read another before it was written.
SERVED_FILES = (
    "/all.atom",
    "/all.rss",
    "/all.json",
    "/articles.json",
    "/webinars.atom",
    "/sources.opml",
    "/index.html",
)


def published(scenario: Scenario) -> None:
    service = scenario.service
    service.wait_for(lambda: b"Steady one" in service.get("/all.atom").body, "a publish")
    # A publish writes its files one after another (all.* first, in a thread while the
    # rest render): wait for the rest of the first publish too.
    service.wait_for(
        lambda: all(service.get(path).status == 200 for path in SERVED_FILES),
        "every file of the first publish",
    )


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/all.atom", "application/atom+xml; charset=utf-8"),
        ("/all.rss", "application/rss+xml; charset=utf-8"),
        ("/all.json", "application/feed+json; charset=utf-8"),
        ("/sources.opml", "text/x-opml; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/webinars.atom", "application/atom+xml; charset=utf-8"),
    ],
)
def test_published_files_have_feed_content_types(
    scenario: Scenario, path: str, content_type: str
) -> None:
    published(scenario)
    reply = scenario.service.get(path)
    assert reply.status == 200
    assert reply.headers["content-type"] == content_type
    name = path.lstrip("/") or "index.html"
    assert reply.body == (scenario.folder / "public" / name).read_bytes()


def test_strong_etag_and_last_modified_give_304(scenario: Scenario) -> None:
    published(scenario)
    service = scenario.service
    first = service.get("/articles.json")
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "public, max-age=1"  # the shortest interval
    again = service.get("/articles.json", {"If-None-Match": etag})
    assert (again.status, again.body, again.headers["etag"]) == (304, b"", etag)
    since = service.get("/articles.json", {"If-Modified-Since": first.headers["last-modified"]})
    assert since.status == 304
    older = service.get("/articles.json", {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert older.status == 200
    other = service.get("/articles.json", {"If-None-Match": '"something-else"'})
    assert other.status == 200


def test_gzip_for_clients_that_accept_it(scenario: Scenario) -> None:
    published(scenario)
    service = scenario.service
    plain = service.get("/all.atom")
    zipped = service.get("/all.atom", {"Accept-Encoding": "br, gzip;q=0.8"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == plain.body
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["etag"] != plain.headers["etag"]  # a strong tag per representation
    refused = service.get("/all.atom", {"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    assert service.get("/all.atom", {"If-None-Match": zipped.headers["etag"]}).status == 304


@pytest.mark.parametrize(
    "path",
    [
        "/../feeds.yaml",
        "/%2e%2e/feeds.yaml",
        "/%2E%2E%2Ffeeds.yaml",
        "/..%2ffeeds.yaml",
        "/..%5cfeeds.yaml",
        "/public/../feeds.yaml",
        "/./../feeds.yaml",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/..%252ffeeds.yaml",
        "/all.atom%00.html",
        "/data/syndicator.db",
        "/.all.atom.tmp-x",
        "/nothing-here.atom",
    ],
)
def test_path_traversal_and_unknown_files_give_404(scenario: Scenario, path: str) -> None:
    reply = scenario.service.get(path)
    assert reply.status == 404, (path, reply)
    assert b"syndicator.example" not in reply.body and b"feeds:" not in reply.body


def test_healthz_status_and_status_json(scenario: Scenario) -> None:
    service = scenario.service
    health = service.get("/healthz")
    assert (health.status, health.body) == (200, b"ok\n")
    document = service.status()
    assert document["version"] == 1
    assert document["running"]["verb"] == "run"
    assert document["running"]["pid"] == service.process.pid  # type: ignore[union-attr]
    assert [f["id"] for f in document["feeds"]] == ["steady", "limited", "flaky", "gone", "moved"]
    cli = subprocess.run(
        [sys.executable, "-m", "syndicator", "status", "--json", "-c", str(scenario.config)],
        capture_output=True,
        text=True,
        check=True,
    )
    from_cli = json.loads(cli.stdout)
    assert from_cli.keys() == document.keys()
    assert from_cli["running"] == document["running"]
    assert [f.keys() for f in from_cli["feeds"]] == [f.keys() for f in document["feeds"]]
    page = service.get("/status")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert b"steady" in page.body and b"HTTP 410 Gone" in page.body


def test_metrics_parse_as_prometheus_text(scenario: Scenario) -> None:
    service = scenario.service
    # A second poll (304) too: run first on its worker, this test read the metrics between them.
    service.wait_for(lambda: service.feed("steady")["last_outcome"] == "not_modified", "a 304")
    reply = service.get("/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=")
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    fetches = {
        (s.labels["feed"], s.labels["outcome"]): s.value
        for s in samples["syndicator_fetches_total"]
    }
    assert fetches[("steady", "ok")] == 1
    assert fetches[("steady", "not_modified")] >= 1
    assert fetches[("gone", "failed")] == 1
    durations = {s.labels["feed"] for s in samples["syndicator_fetch_duration_seconds_count"]}
    assert {"steady", "gone"} <= durations
    success = {
        s.labels["feed"]: s.value for s in samples["syndicator_last_success_timestamp_seconds"]
    }
    steady_success = datetime.fromisoformat(service.feed("steady")["last_success"]).timestamp()
    assert abs(success["steady"] - steady_success) <= 5
    assert "gone" not in success
    published_total = {
        s.labels["feed"]: s.value for s in samples["syndicator_stories_published_total"]
    }
    assert published_total["steady"] == 2
    assert samples["syndicator_stories"][0].value >= 2


# --- reload -------------------------------------------------------------------------------


def test_feeds_yaml_edits_are_picked_up_and_invalid_ones_reported(tmp_path: Path) -> None:
    with PartnerServer() as partner:
        partner.set("/one.rss", rss("One", "First story"))
        partner.set("/two.rss", rss("Two", "Second story"))
        config = write_config(tmp_path, [("one", partner.url("/one.rss"))])
        with RunningService(config) as service:
            service.wait_for(lambda: service.feed("one")["health"] == "ok")
            assert partner.requests_for("/two.rss") == []

            # Added feed: polled without a restart, published, listed in status.
            write_config(
                tmp_path, [("one", partner.url("/one.rss")), ("two", partner.url("/two.rss"))]
            )
            service.wait_for(lambda: partner.requests_for("/two.rss"), "the added feed's poll")
            service.wait_for(lambda: b"Second story" in service.get("/all.json").body)
            assert "two: added to feeds.yaml" in service.log_text()

            # Changed interval: rescheduled.
            text = config.read_text(encoding="utf-8")
            config.write_text(text + "    interval: 1h\n", encoding="utf-8")  # for "two"
            two = service.wait_for(
                lambda: (f := service.feed("two"))["next_due_reason"] == "every 1h" and f
            )
            assert seconds_between(two["next_due"], two["last_attempt"]) >= 3600

            # Invalid edit: the same FILE:LINE messages as `check`, and the service goes on.
            config.write_text(text.replace("url: ", "intervall: 2s\n    url: ", 1), "utf-8")
            check = subprocess.run(
                [sys.executable, "-m", "syndicator", "check", "-c", str(config)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert check.returncode == 1
            problems = check.stderr.splitlines()[:-1]  # the last line counts them
            assert problems and problems[0].startswith(f"{config}:")
            service.wait_for(lambda: all(p in service.log_text() for p in problems), "the log")
            assert "still running on the last good configuration" in service.log_text()
            assert service.status()["config_problems"] == problems
            polls = len(partner.requests_for("/one.rss"))
            service.wait_for(lambda: len(partner.requests_for("/one.rss")) >= polls + 2)
            assert service.get("/healthz").status == 200
            assert service.get("/all.atom").status == 200

            # Fixed again, with "two" removed: it stops being polled.
            write_config(tmp_path, [("one", partner.url("/one.rss"))])
            service.wait_for(lambda: service.status()["config_problems"] == [], "the fix")
            assert [f["id"] for f in service.status()["feeds"]] == ["one"]
            assert "two: removed or disabled in feeds.yaml" in service.log_text()
        assert service.returncode == 0


def test_the_wait_to_the_next_poll_counts_from_the_end_of_the_fetch(tmp_path: Path) -> None:
    # A partner that takes 2 s to fail, on a 1 s interval: the back-off (1 s after one
    # error) counted from the start of the fetch had run out by its end, so a partner that
    # hangs was asked again at once, back to back, holding a fetch slot the whole time.
    with PartnerServer() as partner:
        partner.set("/slow.rss", b"oops", status=500, content_type="text/plain", delay=2.0)
        config = write_config(tmp_path, [("slow", partner.url("/slow.rss"))])
        with RunningService(config) as service:
            first = service.wait_for(
                lambda: (f := service.feed("slow"))["consecutive_errors"] == 1 and f
            )
            second = service.wait_for(
                lambda: (f := service.feed("slow"))["consecutive_errors"] == 2 and f
            )
            # 2 s of fetch, then at least the 1 s wait (the attempt is stamped at its end)
            assert seconds_between(second["last_attempt"], first["last_attempt"]) >= 2.9
            asked = [r.received_at for r in partner.requests_for("/slow.rss")]
            assert all(b - a >= 3.0 for a, b in itertools.pairwise(asked)), asked


def test_an_edit_during_a_fetch_is_applied_when_it_ends(tmp_path: Path) -> None:
    # The operator raises the timeout of a feed whose fetch (with the old timeout) is in
    # progress: once that fetch fails, the feed is tried again now with the new one. The
    # edit used to be dropped, and the feed waited out its back-off (here a minute).
    with PartnerServer() as partner:
        partner.set("/hangs.rss", rss("Hangs", "Hangs one"), delay=30.0)
        config = write_config(tmp_path, [("hangs", partner.url("/hangs.rss"))], interval="1m")
        text = config.read_text(encoding="utf-8").replace("timeout: 20s", "timeout: 4s")
        config.write_text(text, encoding="utf-8")
        with RunningService(config) as service:
            service.wait_for(lambda: partner.requests_for("/hangs.rss"), "the first request")
            config.write_text(text.replace("timeout: 4s", "timeout: 30s"), encoding="utf-8")
            service.wait_for(lambda: "hangs: changed in feeds.yaml" in service.log_text())
            partner.set("/hangs.rss", rss("Hangs", "Hangs one"))  # answers at once now
            back = service.wait_for(lambda: (f := service.feed("hangs"))["health"] == "ok" and f)
            assert len(partner.requests_for("/hangs.rss")) == 2
            assert back["consecutive_errors"] == 0
            log = service.log_text()
            assert "hangs: fetch in progress; next poll planned when it ends" in log
            assert re.search(
                r"hangs: no complete response within 4 s .*; "
                r"next poll in \d s \(retried after the feeds.yaml edit\)",
                log,
            )


def test_a_failing_publish_shows_in_status_healthz_and_metrics(tmp_path: Path) -> None:
    # A file where the partners/ folder goes: every publish fails on it. It was only in the
    # log; /healthz said ok and the members' files went stale without anyone seeing it.
    with PartnerServer() as partner:
        partner.set("/one.rss", rss("One", "First story"))
        config = write_config(tmp_path, [("one", partner.url("/one.rss"))])
        (tmp_path / "public").mkdir()
        (tmp_path / "public" / "partners").write_text("not a folder", encoding="utf-8")
        with RunningService(config) as service:
            status = service.wait_for(lambda: (s := service.status())["publish_error"] and s)
            assert "partners" in status["publish_error"]
            assert status["publish_error"].endswith(f"; retrying every {PUBLISH_RETRY:g} s")
            health = service.get("/healthz")
            assert health.status == 503
            assert health.body.decode().startswith("unhealthy: publishing failed at ")
            assert ".;" not in status["publish_error"]
            assert status["publish_error"] in service.get("/status").body.decode()
            metrics = service.get("/metrics").body.decode()
            assert re.search(r"^syndicator_publish_failures_total [1-9]", metrics, re.M)


def test_an_operator_can_retry_a_waiting_feed_by_editing_feeds_yaml(tmp_path: Path) -> None:
    # A partner asked to wait a minute (or a feed backs off): re-enabling the feed, or
    # fixing its settings, polls it again now; a new url starts its error count afresh.
    with PartnerServer() as partner:
        for path in ("/busy.rss", "/also-busy.rss"):
            partner.set(
                path, b"busy", status=503, content_type="text/plain", headers={"Retry-After": "60"}
            )
        config = write_config(tmp_path, [("busy", partner.url("/busy.rss"))])
        text = config.read_text(encoding="utf-8")
        with RunningService(config) as service:
            waiting = service.wait_for(
                lambda: (f := service.feed("busy"))["consecutive_errors"] == 1 and f
            )
            assert seconds_between(waiting["next_due"], waiting["last_attempt"]) >= 59

            config.write_text(text + "    enabled: false\n", encoding="utf-8")
            service.wait_for(lambda: "busy: removed or disabled" in service.log_text())
            config.write_text(text, encoding="utf-8")
            service.wait_for(lambda: len(partner.requests_for("/busy.rss")) == 2, "a retry")
            assert "busy: enabled again in feeds.yaml" in service.log_text()
            service.wait_for(lambda: service.feed("busy")["consecutive_errors"] == 2)

            moved = text.replace("/busy.rss", "/also-busy.rss")
            config.write_text(moved, encoding="utf-8")
            service.wait_for(lambda: partner.requests_for("/also-busy.rss"), "the new url")
            again = service.wait_for(
                lambda: (
                    (f := service.feed("busy"))["last_error"]
                    and "also-busy" in str(f["last_error"])
                    and f
                )
            )
            assert again["consecutive_errors"] == 1  # the old url's errors are not its own

            config.write_text(moved + "    timeout: 25s\n", encoding="utf-8")
            service.wait_for(lambda: len(partner.requests_for("/also-busy.rss")) == 2, "retry")
        assert service.returncode == 0


# --- lifecycle ----------------------------------------------------------------------------


def test_sigterm_during_a_fetch_exits_0_with_a_sound_database(tmp_path: Path) -> None:
    with PartnerServer() as partner:
        partner.set("/quick.rss", rss("Quick", "Quick story"))
        # About 60 pieces of 1 KiB, one every half second: the fetch would take 30 s.
        partner.set(
            "/slow.rss", rss("Slow", *[f"Slow {n}" for n in range(400)]), delay_per_chunk=0.5
        )
        config = write_config(
            tmp_path,
            [("quick", partner.url("/quick.rss")), ("slow", partner.url("/slow.rss"))],
        )
        service = RunningService(config).start()
        try:
            service.wait_for(lambda: service.feed("quick")["health"] == "ok")
            service.wait_for(lambda: partner.requests_for("/slow.rss"), "the slow fetch")
            assert service.stop(timeout=10) == 0, service.log_text()
        finally:
            service.__exit__(None, None, None)
    log = service.log_text()
    assert "received SIGTERM" in log
    assert "cancelled the fetches still in progress: slow" in log
    assert "the database is closed" in log
    database = tmp_path / "data" / "syndicator.db"
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        states = dict(db.execute("SELECT feed_id, last_outcome FROM feeds").fetchall())
    assert set(states) == {"quick"}  # the cancelled fetch stored nothing, not half of something


def test_a_second_run_or_fetch_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with PartnerServer() as partner:
        partner.set("/one.rss", rss("One", "First story"))
        config = write_config(tmp_path, [("one", partner.url("/one.rss"))])
        with RunningService(config) as service:
            pid = service.process.pid  # type: ignore[union-attr]
            for verb in ("run", "fetch", "publish"):
                refused = subprocess.run(
                    [sys.executable, "-m", "syndicator", verb, "-c", str(config), "--port", "0"]
                    if verb == "run"
                    else [sys.executable, "-m", "syndicator", verb, "-c", str(config)],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )
                assert refused.returncode == 2, refused
                database = tmp_path / "data" / "syndicator.db"
                assert refused.stderr.startswith(
                    f"syndicator: the database {database} is in use by `syndicator run` "
                    f"(pid {pid} on "
                ), refused.stderr
                assert "stop that first, or wait until it is done" in refused.stderr
            assert service.get("/healthz").status == 200
        assert service.returncode == 0
        # Once it stopped, the lock is free again.
        subprocess.run(
            [sys.executable, "-m", "syndicator", "fetch", "-c", str(config)],
            capture_output=True,
            check=True,
        )


# --- WebSub ---------------------------------------------------------------------------------


class _Hub(http.server.BaseHTTPRequestHandler):
    pings: list[dict[str, list[str]]]
    lock: threading.Lock

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        with self.lock:
            self.pings.append(form)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    pings: list[dict[str, list[str]]] = []
    handler = type("Hub", (_Hub,), {"pings": pings, "lock": threading.Lock()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hub", pings
    server.shutdown()
    server.server_close()


def topics(pings: list[dict[str, list[str]]]) -> set[str]:
    return {url for ping in pings for url in ping["hub.url"]}


def test_websub_hub_is_announced_and_pinged_after_a_change(
    tmp_path: Path, hub: tuple[str, list[dict[str, list[str]]]]
) -> None:
    hub_url, pings = hub
    with PartnerServer() as partner:
        partner.set("/one.rss", rss("One", "First story"))
        config = write_config(
            tmp_path, [("one", partner.url("/one.rss"))], site_extra=f"  websub_hub: {hub_url}"
        )
        with RunningService(config) as service:
            every_feed = {
                f"https://feeds.example.org/{name}.{ext}"
                for name in ("all", "articles", "whitepapers", "webinars")
                for ext in ("atom", "rss", "json")
            }
            service.wait_for(lambda: b"First story" in service.get("/all.json").body)
            service.wait_for(lambda: every_feed <= topics(pings), "pings for every new file")
            assert all(p["hub.mode"] == ["publish"] for p in pings)
            assert "https://feeds.example.org/sources.opml" not in topics(pings)
            atom = service.get("/all.atom").body
            assert f'<link href="{hub_url}" rel="hub"/>'.encode() in atom
            rss_body = service.get("/all.rss").body
            assert f'<atom:link rel="hub" href="{hub_url}"/>'.encode() in rss_body
            public = tmp_path / "public"
            validate_feed_files([public / "all.atom", public / "all.rss", public / "sources.opml"])

            # Polls that change nothing publish nothing and ping nothing.
            polls = len(partner.requests_for("/one.rss"))
            service.wait_for(lambda: len(partner.requests_for("/one.rss")) >= polls + 2)
            count = len(pings)
            service.wait_for(lambda: len(partner.requests_for("/one.rss")) >= polls + 4)
            assert len(pings) == count

            # A new story: only the feeds that changed are pinged.
            partner.set("/one.rss", rss("One", "First story", "Second story"))
            service.wait_for(
                lambda: "https://feeds.example.org/all.json" in topics(pings[count:]), "a ping"
            )
            assert "https://feeds.example.org/webinars.atom" not in topics(pings[count:])


def test_fetch_skips_a_gone_feed_until_asked_by_name(tmp_path: Path) -> None:
    with PartnerServer() as partner:
        partner.set("/one.rss", rss("One", "First story"))
        partner.set("/gone.rss", b"gone", status=410, content_type="text/plain")
        config = write_config(
            tmp_path, [("one", partner.url("/one.rss")), ("gone", partner.url("/gone.rss"))]
        )

        def fetch(*extra: str) -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "syndicator", "fetch", "-c", str(config), *extra]
            return subprocess.run(command, capture_output=True, text=True, check=False)

        assert fetch().returncode == 0
        second = fetch()
        assert second.returncode == 0
        line = line_of(config, "gone")
        assert f"gone: skipped: HTTP 410 Gone; remove it from feeds.yaml (line {line})" in (
            second.stderr
        )
        assert len(partner.requests_for("/gone.rss")) == 1
        assert fetch("--feed", "gone").returncode == 2  # asked by name: fetched, still gone
        assert len(partner.requests_for("/gone.rss")) == 2
        partner.set("/gone.rss", rss("Back", "Back again"))
        assert fetch("--feed", "gone").returncode == 0
        assert "skipped" not in fetch().stderr


def test_a_started_webinar_leaves_webinars_as_time_passes_without_any_fetch(
    tmp_path: Path,
) -> None:
    # keep_past_webinars: 3s, so the service republishes every 3 s (service.republish_interval)
    # and a webinar starting in a few seconds is listed, then leaves webinars.* by itself
    # 3 s after its start, while staying in all.*.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
    title = "Smart Mobility Webinar #5: Parking data"
    webinar = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Events",
        "items": [
            {
                "id": "w-1",
                "url": "https://events.example/w-1",
                "title": title,
                "content_text": "Register for the webinar.",
                "date_published": (start - timedelta(days=2)).isoformat(),
                "tags": ["Webinar"],
                "_event": {"start": start.isoformat()},
            }
        ],
    }
    with PartnerServer() as partner:
        partner.set("/events.json", json.dumps(webinar).encode(), content_type="application/json")
        config = write_config(
            tmp_path,
            [("events", partner.url("/events.json"))],
            site_extra="  keep_past_webinars: 3s",
            interval="1h",
        )
        with RunningService(config) as service:

            def titles(name: str) -> list[str]:
                reply = service.get(f"/{name}")
                if reply.status != 200:
                    return ["(not yet)"]
                return [item["title"] for item in json.loads(reply.body)["items"]]

            service.wait_for(lambda: titles("webinars.json") == [title])
            service.wait_for(lambda: titles("webinars.json") == [])
            assert titles("all.json") == [title]
            assert len(partner.requests_for("/events.json")) == 1  # no fetch made it change
            assert service.stop() == 0, service.log_text()
