"""Prometheus metrics for ``/metrics``: one registry per server, nothing global.

Counters and the duration histogram are counted by the service as fetches end; the per-feed
gauges are read from the status document at each scrape, so ``serve`` (no scheduler) shows
them too and they never drift from what ``status`` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from syndicator.fetch import FetchResult

FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.fetches = Counter(
            "syndicator_fetches",
            "Partner feed fetches, by feed and outcome (ok, not_modified, failed)",
            ["feed", "outcome"],
            registry=self.registry,
        )
        self.fetch_duration = Histogram(
            "syndicator_fetch_duration_seconds",
            "Time to fetch one partner feed, redirects and body included",
            ["feed"],
            buckets=FETCH_BUCKETS,
            registry=self.registry,
        )
        self.stories_published = Counter(
            "syndicator_stories_published",
            "New stories published, by the partner feed that first carried them",
            ["feed"],
            registry=self.registry,
        )
        self.publishes = Counter(
            "syndicator_publishes",
            "Publishes that rewrote at least one published file",
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "syndicator_publish_failures",
            "Publishes that failed (the files of the last good one stay; retried every 60 s)",
            registry=self.registry,
        )
        self.last_success = Gauge(
            "syndicator_last_success_timestamp_seconds",
            "Unix time of the last successful fetch (ok or not modified) of each feed",
            ["feed"],
            registry=self.registry,
        )
        self.consecutive_errors = Gauge(
            "syndicator_consecutive_errors",
            "Failed fetches in a row of each feed (0 when its last fetch worked)",
            ["feed"],
            registry=self.registry,
        )
        self.stories = Gauge(
            "syndicator_stories", "Stories in the database", registry=self.registry
        )

    def count_fetch(self, result: FetchResult) -> None:
        self.fetches.labels(result.feed_id, result.outcome).inc()
        self.fetch_duration.labels(result.feed_id).observe(result.duration)

    def count_new_stories(self, feed_id: str, count: int) -> None:
        if count:
            self.stories_published.labels(feed_id).inc(count)

    def exposition(self, status: Mapping[str, Any]) -> bytes:
        """The text format, with the per-feed gauges refreshed from ``status``."""
        self.stories.set(status["stories"])
        self.last_success.clear()
        self.consecutive_errors.clear()
        for feed in status["feeds"]:
            self.consecutive_errors.labels(feed["id"]).set(feed["consecutive_errors"])
            if feed["last_success"]:
                moment = datetime.fromisoformat(feed["last_success"])
                self.last_success.labels(feed["id"]).set(moment.timestamp())
        return generate_latest(self.registry)
