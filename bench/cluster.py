"""The clustering benchmark of issue 5: ``python -m bench.cluster`` (``make bench-cluster``).

Times ``dedupe.cluster_entries`` alone on N synthetic entries, 10,000 and 100,000 by
default, each size in a fresh process (as bench/run.py runs its jobs): the entries are
generated from a seed, built by the real normalize stage and their clustering signatures
computed (``dedupe.signed``) in two worker processes, as a pass's parser workers do, *before*
the clock starts; the signatures' time is reported beside it. What is timed is the one call, from
scratch, every fetch in order. Targets (issue 5): t(100k) /
t(10k) at most 12 (sub-quadratic: 1.2 x the size ratio) and 100k entries in under 30 s.
Beside it, the same processes time a reference whose work per entry does not grow
(``band_table_alone``): its ratio is what the machine alone charges for a 10x bigger table.
The table goes to stdout and ``bench/out/cluster.json``. ``--smoke`` is the 500 / 2,000 entry
version the test suite runs (tests/test_bench_cluster_smoke.py).

The entries: feeds of ~500 entries dated over 180 days, fetched 50 at a time; ~20% of the
entries are copies of a story on 2-4 feeds (title re-cased or prefixed, summary cut to an
excerpt, link decorated with tracking parameters or the partner's own, dated 0-3 days later,
some 4-10 days later); text of 80-150 words from smart-city sentence templates.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.run import ROOT, Figure, _run_json, table
from bench.world import _CITIES, _TOPICS, _VERBS, _WORDS

if TYPE_CHECKING:
    from syndicator.model import Entry

ENTRIES_PER_FETCH = 50
ENTRIES_PER_FEED = 500
COPY_SHARE = 0.2  # of entries that belong to a story carried by several feeds
DAYS = 180
START = datetime(2026, 5, 1, tzinfo=UTC)
SIZES = (10_000, 100_000)
FETCHES_PER_JOB = 50  # a worker's share at a time
PREPARE_WORKERS = 2  # normalize and signatures, as a pass's parser workers
SMOKE_SIZES = (500, 2_000)
REPEATS = 3  # of each size, taking turns; the ratio is the median of the three pairs
MAX_SECONDS_LARGE = 30.0  # for 100,000 entries
RATIO_PER_SIZE_RATIO = 1.2  # t(large) / t(small) <= 1.2 x large / small: 12 for 10x

_SENTENCES = (
    "{city} has {verbed} its {topic} programme, which now covers {n} sites in {d} districts.",
    "The project costs {money} and is run with {org}, which supplies the {word} platform.",
    '"{quote}," said the {role} of {city}.',
    "A trial last year cut {word} costs by {pct} per cent in the {city3} district.",
    "Data from the {topic} network will be published on the open data portal every {period}.",
    "Researchers from {city2} will compare the results with {city3} and report in {year}.",
    "Residents can comment on the next phase until the end of {month}.",
    "The council approved the {word} budget of {money} on {day} {month}.",
    "{org} won the tender against {bids} other bidders, citing {word} and {word2} experience.",
    "Officials expect {topic} to reach {n2} more {word} sites by {year}.",
    "The scheme is part of the {plan} strategy for {word}, {word2} and {word3}.",
    "Critics in {city} say the {topic} rollout must protect {word} and privacy.",
)
_QUOTES = (
    "Technology only matters if residents feel the difference",
    "We start small, measure everything and scale what works",
    "Open standards keep us free to change suppliers",
    "Every district should benefit, not only the centre",
)
_ORGS = ("Hanbit Systems", "Nordlys Energy", "Kestrel Mobility", "Civitas Data", "UrbanGrid")
_ROLES = ("chief digital officer", "deputy mayor", "head of innovation", "city manager")
_PLANS = ("Smart City 2030", "Green Deal", "Digital First", "Net Zero 2040")
_MONTHS = ("January", "March", "May", "July", "September", "November")
_PREFIXES = ("", "", "", "PRESS RELEASE: ", "Report: ")
_SUFFIXES = ("", "", "", " | SmartCitiesWorld", " - WeGO")
_DECORATIONS = ("", "", "?utm_source=partner&utm_medium=rss", "?ref=digest", "/amp/")


@dataclass(frozen=True, slots=True)
class Item:
    """One synthetic partner entry before normalize."""

    feed: int
    story: int
    guid: str
    link: str
    title: str
    summary: str
    content: str
    published: datetime


def _text(rng: random.Random) -> str:
    """80-150 words of smart-city news from the sentence templates."""
    words: list[str] = []
    while len(words) < rng.randint(80, 150):
        template = rng.choice(_SENTENCES)
        sentence = template.format(
            city=rng.choice((*_CITIES, _name(rng))),
            city2=_name(rng),
            city3=_name(rng),
            verbed=rng.choice(("expanded", "launched", "completed", "scaled up")),
            topic=rng.choice(_TOPICS),
            n=f"{rng.randint(10, 9_000):,}",
            n2=rng.randint(5, 900),
            d=rng.randint(2, 30),
            money=f"€{rng.randint(1, 90)}.{rng.randint(0, 9)} million",
            org=rng.choice((*_ORGS, f"{_name(rng)} {rng.choice(('Group', 'Labs', 'Grid'))}")),
            word=rng.choice(_WORDS),
            word2=rng.choice(_WORDS),
            word3=rng.choice(_WORDS),
            quote=rng.choice(_QUOTES),
            role=f"{rng.choice(_ROLES)}, {_name(rng)} {_name(rng)},",
            pct=rng.randint(5, 45),
            period=rng.choice(("week", "month", "quarter")),
            year=rng.randint(2027, 2032),
            month=rng.choice(_MONTHS),
            day=rng.randint(1, 28),
            bids=rng.randint(2, 15),
            plan=rng.choice(_PLANS),
        )
        words += sentence.split()
    return " ".join(words)


_SYLLABLES: tuple[str, ...] = ("ka", "lo", "ve", "mar", "sen", "ti", "bru", "na", "del", "or")
_SYLLABLES += ("qu", "ham", "ri", "zan", "po", "lis", "gar", "mo", "ten", "vik", "sa", "dor")
_TITLE_FORMS = (
    "{city} {verb} {topic} in {n} districts",
    "{place} council approves {money} for {topic}",
    "{org} wins {topic} contract in {place}",
    "How {place} cut {word} costs with {topic}",
    "{person}: why {city} bet on {topic}",
    "{place} and {place2} share {topic} data",
    "{topic} pilot in {place} reaches {n} {word} sites",
    "New {word} rules for {topic} in {place}",
)


def _name(rng: random.Random) -> str:
    """A made-up proper noun (a district, a company, a person): news text is full of them."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _title(rng: random.Random) -> str:
    return rng.choice(_TITLE_FORMS).format(
        city=rng.choice(_CITIES),
        verb=rng.choice(_VERBS),
        topic=rng.choice(_TOPICS),
        n=rng.randint(2, 400),
        place=_name(rng),
        place2=_name(rng),
        org=f"{_name(rng)} {rng.choice(('Systems', 'Energy', 'Mobility', 'Data', 'Labs'))}",
        money=f"€{rng.randint(1, 90)}.{rng.randint(0, 9)}m",
        word=rng.choice(_WORDS),
        person=f"{_name(rng)} {_name(rng)}",
    )


def generate(count: int, seed: int) -> list[Item]:
    """``count`` entries (exactly), in stories of 1 copy (~80%) or 2-4 copies on other feeds."""
    rng = random.Random(f"{seed}:cluster:{count}")
    feeds = max(2, count // ENTRIES_PER_FEED)
    items: list[Item] = []
    story = 0
    while len(items) < count:
        story += 1
        copies = 1 if rng.random() >= COPY_SHARE / 3 else rng.randint(2, 4)
        copies = min(copies, count - len(items), feeds)
        title, text = _title(rng), _text(rng)
        published = START + timedelta(seconds=rng.randrange(DAYS * 86_400))
        for number, feed in enumerate(rng.sample(range(feeds), copies)):
            items.append(
                _copy(rng, story, number, feed=feed, title=title, text=text, when=published)
            )
    return items


def _copy(
    rng: random.Random,
    story: int,
    number: int,
    *,
    feed: int,
    title: str,
    text: str,
    when: datetime,
) -> Item:
    host = f"https://www.partner-{feed:04d}.example"
    link = f"{host}/news/{story}-{_slug(title)}"
    summary = f"<p>{text}</p>"
    if number:  # another partner's copy of the story
        if rng.random() < 0.5:
            origin = f"https://www.partner-{story % 997:04d}.example/news/{story}-{_slug(title)}"
            link = origin + rng.choice(_DECORATIONS)
        if rng.random() < 0.5:
            title = title.title()
        title = rng.choice(_PREFIXES) + title + rng.choice(_SUFFIXES)
        if rng.random() < 0.6:
            cut = " ".join(text.split()[: rng.randint(30, 60)])
            summary = f"<p>{cut} {rng.choice(('…', '[…]', 'Read more'))}</p>"
        late = rng.random() < 0.15
        when += timedelta(days=rng.randint(4, 10)) if late else timedelta(hours=rng.randint(1, 72))
    return Item(
        feed=feed,
        story=story,
        guid=f"partner-{feed:04d}-{story}-{number}",
        link=link,
        title=title,
        summary=summary,
        content="",
        published=when,
    )


def _slug(title: str) -> str:
    return "-".join(title.lower().split())[:60]


def fetches(items: Sequence[Item]) -> list[tuple[int, list[Item]]]:
    """(feed, entries) of every fetch, in the order passes would apply them: each feed's
    entries by date, 50 a fetch; fetch k of every feed before fetch k + 1 of any."""
    by_feed: dict[int, list[Item]] = {}
    for item in items:
        by_feed.setdefault(item.feed, []).append(item)
    rounds: list[list[tuple[int, list[Item]]]] = []
    for feed in sorted(by_feed):
        listed = sorted(by_feed[feed], key=lambda i: i.published)
        for k in range(0, len(listed), ENTRIES_PER_FETCH):
            while len(rounds) <= k // ENTRIES_PER_FETCH:
                rounds.append([])
            rounds[k // ENTRIES_PER_FETCH].append((feed, listed[k : k + ENTRIES_PER_FETCH]))
    return [fetch for round_ in rounds for fetch in round_]


# --- the measured child process ----------------------------------------------------------


def _rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc; 0 where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _reset_peak() -> bool:
    """Make VmHWM start again from the current RSS (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _prepare(listed: Sequence[tuple[int, list[Item]]]) -> tuple[list[list[Entry]], float, float]:
    """In a worker: the fetches ``listed`` normalized, then signed; the seconds of each."""
    from syndicator.dedupe import signed  # noqa: PLC0415  (in the worker)
    from syndicator.model import ParsedEntry, ParsedFeed  # noqa: PLC0415
    from syndicator.normalize import FeedContext, normalize_entries  # noqa: PLC0415

    started = time.perf_counter()
    fetched_at = START + timedelta(days=DAYS + 30)
    batches = []
    for feed, items in listed:
        parsed = ParsedFeed(
            format="rss20",
            title=f"partner {feed}",
            link=None,
            language="en",
            entries=tuple(
                ParsedEntry(
                    guid=i.guid,
                    link=i.link,
                    title=i.title,
                    title_is_html=False,
                    summary=i.summary,
                    content=i.content,
                    published=i.published,
                    updated=None,
                )
                for i in items
            ),
        )
        context = FeedContext(
            f"partner-{feed:04d}", "article", f"https://p{feed}.example/feed", fetched_at
        )
        batches.append(normalize_entries(parsed, context))
    normalized = time.perf_counter() - started
    started = time.perf_counter()
    signed_batches = [signed(batch) for batch in batches]
    return signed_batches, normalized, time.perf_counter() - started


def measure(count: int, seed: int) -> dict[str, Any]:
    """Generate ``count`` entries, have worker processes normalize and sign them, then time
    ``cluster_entries`` on them here.

    As in a pass (prepare.py), normalize and the signatures run in worker processes and the
    entries reach the clustering process pickled: its heap then holds them packed, not
    scattered among the freed temporaries of normalizing 100,000 entries in place (measured
    2026-12-07: 7.6-9.0 s for 100,000 entries that way, 7.0-7.3 s this way; 10,000: the same).
    """
    from syndicator.dedupe import cluster_entries  # noqa: PLC0415  (after fork/exec)

    started = time.perf_counter()
    items = generate(count, seed)
    generated = time.perf_counter() - started
    listed = fetches(items)
    chunks = [listed[k : k + FETCHES_PER_JOB] for k in range(0, len(listed), FETCHES_PER_JOB)]
    batches: list[list[Entry]] = []
    normalized = signing = 0.0
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=PREPARE_WORKERS, mp_context=context) as pool:
        for prepared, normalize_seconds, signature_seconds in pool.map(_prepare, chunks):
            batches += prepared
            normalized += normalize_seconds
            signing += signature_seconds
    generated_stories = len({i.story for i in items})
    del items, listed, chunks
    gc.collect()
    rss_before = _rss_mb("VmRSS")
    peak_reset = _reset_peak()
    cpu = os.times()
    started = time.perf_counter()
    stories = cluster_entries(batches, authority="bench.invalid")
    seconds = time.perf_counter() - started
    cpu_seconds = sum(os.times()[:2]) - sum(cpu[:2])
    peak = (
        _rss_mb("VmHWM")
        if peak_reset
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    stories_found = len(set(stories.values()))
    del stories  # the index went with cluster_entries; the entries stay, as they did
    gc.collect()
    return {
        "band_table_seconds": band_table_alone(count, seed),
        "entries": sum(len(b) for b in batches),
        "fetches": len(batches),
        "feeds": len({b[0].feed_id for b in batches if b}),
        "stories_found": stories_found,
        "stories_generated": generated_stories,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "entries_per_second": count / seconds if seconds else 0.0,
        "generate_seconds": generated,
        "normalize_seconds": normalized,
        "signature_seconds": signing,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "peak_is_clustering_only": peak_reset,
    }


def band_table_alone(count: int, seed: int, times: int = 3) -> float:
    """Seconds of the index's band table alone for ``count`` entries (the median of
    ``times`` fresh tables): per entry, 12 lookups of keys it does not hold and 12 inserts
    of new 60-bit keys, as ``StoryIndex`` does for a new story (``candidates``, then
    ``_add_bands``), and nothing else.

    Its work per entry is the same at every size, so t(100k) / t(10k) of it is what this
    machine charges for a ten times bigger table (caches, TLB), measured in the same process
    as the clustering: the reference for the clustering's own ratio.
    """
    from syndicator.similarity import BANDS as per_entry  # noqa: PLC0415  (after fork/exec)

    rng = random.Random(f"{seed}:band-table:{count}")
    keys = [rng.getrandbits(60) for _ in range(count * per_entry)]
    probes = [rng.getrandbits(60) for _ in range(count * per_entry)]
    seconds = []
    for _ in range(times):
        gc.collect()
        table: dict[int, int] = {}
        started = time.perf_counter()
        for row, first in enumerate(range(0, len(keys), per_entry)):
            for probe in probes[first : first + per_entry]:
                table.get(probe, -1)
            for key in keys[first : first + per_entry]:
                table.setdefault(key, row)
        seconds.append(time.perf_counter() - started)
        del table
    return statistics.median(seconds)


# --- the run -------------------------------------------------------------------------------


def _figures(sizes: Sequence[int], runs: dict[int, list[dict[str, Any]]]) -> list[Figure]:
    small, large = min(sizes), max(sizes)
    rows: list[Figure] = []
    for size in sizes:
        target = MAX_SECONDS_LARGE if size == large and size >= 100_000 else None
        rows.append(
            Figure(
                f"cluster_{size}",
                f"cluster_entries, {size:,} entries",
                "s",
                [r["seconds"] for r in runs[size]],
                target,
                f"< {MAX_SECONDS_LARGE:g} s" if target else "",
            )
        )
        rows.append(
            Figure(
                f"signatures_{size}",
                f"signatures of {size:,} entries (parser workers in a pass)",
                "s",
                [r["signature_seconds"] for r in runs[size]],
                None,
                "",
            )
        )
        rows.append(
            Figure(
                f"throughput_{size}",
                f"entries per second, {size:,} entries",
                "/s",
                [r["entries_per_second"] for r in runs[size]],
                None,
                "",
                lower_is_better=False,
            )
        )
        rows.append(
            Figure(
                f"peak_rss_{size}",
                f"peak RSS while clustering {size:,} entries",
                "MB",
                [r["peak_rss_mb"] for r in runs[size]],
                None,
                "",
            )
        )
    for size in sizes:
        rows.append(
            Figure(
                f"band_table_{size}",
                f"reference: band table alone, {size:,} entries",
                "s",
                [r["band_table_seconds"] for r in runs[size]],
                None,
                "",
            )
        )
    allowed = RATIO_PER_SIZE_RATIO * large / small
    rows.append(
        Figure(
            "ratio",
            f"t({large:,}) / t({small:,}), sizes {large / small:g}x apart",
            "x",
            paired_ratios(runs[small], runs[large]),
            allowed,
            f"<= {allowed:g} (sub-quadratic)",
        )
    )
    rows.append(
        Figure(
            "band_table_ratio",
            "reference: the same ratio of the band table alone (linear work)",
            "x",
            paired_ratios(runs[small], runs[large], "band_table_seconds"),
            None,
            "",
        )
    )
    return rows


def paired_ratios(
    small: Sequence[dict[str, Any]], large: Sequence[dict[str, Any]], field: str = "seconds"
) -> list[float]:
    """t(large) / t(small) of each repeat: its large run over the small run just before it.

    A shared machine has slow spells of minutes (10,000 entries took 0.49 s to 1.07 s across
    one session, 2026-12-07) that shift runs of both sizes made back to back. Dividing every
    large run by the fastest small run of the whole bench instead compared a typical large
    run with the luckiest small one.
    """
    return [b[field] / a[field] for a, b in zip(small, large, strict=True)]


def _settings(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cluster", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--repeats", type=int, help="runs of each size (3; --smoke: 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--smoke", action="store_true", help="500 and 2,000 entries")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # one measured run
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _settings(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child, args.seed)), flush=True)
        return 0
    sizes = SMOKE_SIZES if args.smoke else tuple(int(s) for s in args.sizes.split(",") if s)
    repeats = args.repeats or (1 if args.smoke else REPEATS)
    started = time.perf_counter()
    runs: dict[int, list[dict[str, Any]]] = {}
    # Sizes take turns, so a slow spell of a shared machine does not fall on one size only.
    for repeat in range(repeats):
        for size in sizes:
            print(
                f"[{time.perf_counter() - started:6.1f} s] {size:,} entries, run "
                f"{repeat + 1}/{repeats} (generate + normalize, then cluster)",
                file=sys.stderr,
                flush=True,
            )
            child = ["-m", "bench.cluster", "--child", str(size), "--seed", str(args.seed)]
            runs.setdefault(size, []).append(_run_json(child))
    rows = _figures(sizes, runs)
    print(table(rows))
    print()
    for size in sizes:
        run = runs[size][0]
        print(
            f"{size:,} entries in {run['fetches']} fetches of {run['feeds']} feeds: "
            f"{run['stories_found']:,} stories found ({run['stories_generated']:,} generated); "
            f"normalize {run['normalize_seconds']:.1f} s and signatures "
            f"{run['signature_seconds']:.1f} s, not timed"
        )
    print(f"{os.cpu_count()} cores; bench took {time.perf_counter() - started:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    document = {
        "settings": {"seed": args.seed, "sizes": list(sizes), "repeats": repeats},
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "figures": [f.as_json() for f in rows],
        "runs": {str(size): runs[size] for size in sizes},
    }
    path = args.out / "cluster.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results: {path}")
    return 0 if all(r["stories_found"] > 0 for rs in runs.values() for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
