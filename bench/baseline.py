"""The script a user would write instead of syndicator, timed in its own process.

    python -m bench.baseline URLS.txt OUT.atom      # prints {"seconds": ..., ...} as JSON

For each feed in turn ``feedparser.parse(url)`` (its own HTTP, sanitizer and URI resolution,
as a user gets them), collect the entries, drop repeats by link, write one Atom feed with
feedgen. ``baseline`` below is that script, unchanged but for type hints.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
from feedgen.feed import FeedGenerator


def read_feeds(urls: list[str]) -> tuple[int, list[Any]]:
    """Every feed in turn; returns (entries read, entries kept after dropping repeated links)."""
    entries: list[Any] = []
    seen_links: set[str] = set()
    read = 0
    for url in urls:
        feed = feedparser.parse(url)
        for entry in feed.entries:
            read += 1
            link = entry.get("link")
            if not link or link in seen_links:
                continue
            seen_links.add(link)
            entries.append(entry)
    return read, entries


def write_feed(entries: list[Any], out: Path) -> None:
    fg = FeedGenerator()
    fg.id("https://feeds.example.org/all.atom")
    fg.title("All partner news")
    fg.link(href="https://feeds.example.org/", rel="alternate")
    for entry in entries:
        fe = fg.add_entry(order="append")
        fe.id(entry.get("id") or entry.link)
        fe.title(entry.get("title") or "(untitled)")
        fe.link(href=entry.link)
        if entry.get("summary"):
            fe.summary(entry.summary)
        if entry.get("content"):
            fe.content(entry.content[0].value, type="html")
        fe.updated(entry.get("updated") or entry.get("published") or datetime.now(UTC))
    fg.atom_file(str(out))


def main() -> None:
    urls = Path(sys.argv[1]).read_text().split()
    started = time.perf_counter()
    read, entries = read_feeds(urls)
    read_done = time.perf_counter()
    write_feed(entries, Path(sys.argv[2]))
    done = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "seconds": done - started,
        "read_seconds": read_done - started,
        "write_seconds": done - read_done,
        "feeds": len(urls),
        "read": read,
        "written": len(entries),
        "peak_rss_mb": peak_kb / 1024,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
