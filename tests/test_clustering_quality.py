"""Story clustering against the labeled data set (issue 5): pairwise precision and recall.

``tests/data/clustering/labeled.jsonl`` (README.md beside it) holds partner entries with the
true story of each. Every line goes through the real normalize stage, one ``ParsedFeed`` per
fetch of a feed, and the fetches go to ``dedupe.cluster_entries`` in order, as a pass applies
them. Over every pair of entries: a pair in one true story is a *true pair*; precision is the
share of pairs put in one story that are true pairs, recall the share of true pairs put in
one story. The report (``pytest -s`` shows it; failures carry it) breaks the misses down by
the case each entry stands for.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any, cast

import pytest

from syndicator.dedupe import cluster_entries
from syndicator.model import KINDS, Entry, Kind, ParsedEntry, ParsedFeed
from syndicator.normalize import FeedContext, normalize_entries

DATA = Path(__file__).resolve().parent / "data" / "clustering"
LABELED = DATA / "labeled.jsonl"
FIRST_FETCH = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # fetch ``batch`` is (batch - 1) h later
MIN_PRECISION = 0.99
MIN_RECALL = 0.97

ONE_STORY_CASES = (
    "press-release",
    "guid-churn",
    "scheme-www-flip",
    "tracking-params",
    "amp-mobile",
    "late-syndication",
    "multilingual-zh",
    "multilingual-ko",
)
HARD_NEGATIVE_CASES = (
    "webinar-series",
    "recurring-title",
    "same-day-same-partner",
    "query-id",
    "same-topic-cross-partner",
    "same-title-other-kind",
)
FIELDS = {
    "feed_id", "kind", "batch", "guid", "link", "title", "title_is_html", "summary",
    "content", "published", "label", "case",
}  # fmt: skip


def load_lines(path: Path = LABELED) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def parsed_entry(line: dict[str, Any]) -> ParsedEntry:
    published = datetime.fromisoformat(line["published"].replace("Z", "+00:00"))
    return ParsedEntry(
        guid=line["guid"] or None,
        link=line["link"] or None,
        title=line["title"],
        title_is_html=line["title_is_html"],
        summary=line["summary"],
        content=line["content"],
        published=published,
        updated=None,
    )


def fetches(lines: Sequence[dict[str, Any]]) -> list[tuple[int, str, list[int]]]:
    """(batch, feed id, line numbers) of every fetch, in the order a pass applies them: by
    batch, then feeds in the order they first appear in the file."""
    feed_order: dict[str, int] = {}
    grouped: dict[tuple[int, str], list[int]] = defaultdict(list)
    for number, line in enumerate(lines):
        feed_order.setdefault(line["feed_id"], len(feed_order))
        grouped[(line["batch"], line["feed_id"])].append(number)
    ordered = sorted(grouped, key=lambda k: (k[0], feed_order[k[1]]))
    return [(batch, feed_id, grouped[(batch, feed_id)]) for batch, feed_id in ordered]


def normalized(lines: Sequence[dict[str, Any]]) -> tuple[list[list[Entry]], list[tuple[str, str]]]:
    """Each fetch's entries through the real normalize stage, and each line's entry key."""
    batches: list[list[Entry]] = []
    keys: list[tuple[str, str]] = [("", "")] * len(lines)
    for batch, feed_id, numbers in fetches(lines):
        kinds = {lines[n]["kind"] for n in numbers}
        assert len(kinds) == 1 and kinds <= set(KINDS), (feed_id, kinds)
        feed = ParsedFeed(
            format="rss20",
            title=feed_id,
            link=None,
            language=None,
            entries=tuple(parsed_entry(lines[n]) for n in numbers),
        )
        context = FeedContext(
            feed_id=feed_id,
            kind=cast(Kind, kinds.pop()),
            url=f"https://{feed_id}.example/feed",
            fetched_at=FIRST_FETCH + timedelta(hours=batch - 1),
        )
        entries = normalize_entries(feed, context)
        assert len(entries) == len(numbers), f"{feed_id} batch {batch}: normalize dropped some"
        for number, entry in zip(numbers, entries, strict=True):
            keys[number] = (entry.feed_id, entry.entry_key)
        batches.append(entries)
    assert len(set(keys)) == len(keys), "every line of labeled.jsonl must be a distinct entry"
    return batches, keys


@dataclass(slots=True)
class CaseCount:
    entries: int = 0
    true_pairs: int = 0
    false_splits: int = 0
    false_merges: int = 0


@dataclass(slots=True)
class Quality:
    entries: int
    stories: int
    found: int  # stories the clustering made
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    cases: dict[str, CaseCount]
    merge_examples: list[str] = field(default_factory=list)
    split_examples: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    def report(self) -> str:
        lines = [
            f"clustering quality on {self.entries} labeled entries: {self.stories} true "
            f"stories, {self.found} found",
            f"pairs: {self.true_pairs} true, {self.predicted_pairs} put together, "
            f"{self.correct_pairs} both",
            f"precision {self.precision:.4f} (target >= {MIN_PRECISION}), "
            f"recall {self.recall:.4f} (target >= {MIN_RECALL})",
            "",
            f"{'case':<26} {'entries':>7} {'true pairs':>10} {'false splits':>12} "
            f"{'false merges':>12}",
        ]
        for name, count in sorted(self.cases.items()):
            lines.append(
                f"{name:<26} {count.entries:>7} {count.true_pairs:>10} "
                f"{count.false_splits:>12} {count.false_merges:>12}"
            )
        lines.append("(a false merge joins two entries of different stories; it counts for both")
        lines.append(" entries' cases, once when they share one)")
        for heading, examples in (
            ("false merges", self.merge_examples),
            ("false splits", self.split_examples),
        ):
            if examples:
                lines += ["", f"{heading} (first {len(examples)}):", *examples]
        return "\n".join(lines)


def _describe(line: dict[str, Any]) -> str:
    return f"{line['feed_id']}#{line['batch']} {line['title'][:60]!r} [{line['label']}]"


def measure(
    lines: Sequence[dict[str, Any]], story_of: Sequence[str], examples: int = 12
) -> Quality:
    """Pairwise precision and recall of ``story_of`` (a story per line) against the labels."""
    cases: dict[str, CaseCount] = defaultdict(CaseCount)
    for line in lines:
        cases[line["case"]].entries += 1
    merges: list[str] = []
    splits: list[str] = []
    by_label = _groups(line["label"] for line in lines)
    by_story = _groups(story_of)
    true_pairs = correct = 0
    for members in by_label.values():
        for a, b in combinations(members, 2):
            true_pairs += 1
            cases[lines[a]["case"]].true_pairs += 1
            if story_of[a] == story_of[b]:
                correct += 1
            else:
                cases[lines[a]["case"]].false_splits += 1
                splits.append(f"  {_describe(lines[a])}  /  {_describe(lines[b])}")
    predicted = 0
    for members in by_story.values():
        for a, b in combinations(members, 2):
            predicted += 1
            if lines[a]["label"] != lines[b]["label"]:
                for case in {lines[a]["case"], lines[b]["case"]}:
                    cases[case].false_merges += 1
                merges.append(f"  {_describe(lines[a])}  +  {_describe(lines[b])}")
    return Quality(
        entries=len(lines),
        stories=len(by_label),
        found=len(by_story),
        true_pairs=true_pairs,
        predicted_pairs=predicted,
        correct_pairs=correct,
        cases=dict(cases),
        merge_examples=merges[:examples],
        split_examples=splits[:examples],
    )


def _groups(values: Iterable[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for position, value in enumerate(values):
        groups[value].append(position)
    return groups


@pytest.fixture(scope="module")
def quality() -> Quality:
    lines = load_lines()
    batches, keys = normalized(lines)
    stories = cluster_entries(batches, authority="quality.invalid")
    result = measure(lines, [stories[key] for key in keys])
    print("\n" + result.report())
    return result


def test_clustering_precision_on_the_labeled_set(quality: Quality) -> None:
    assert quality.precision >= MIN_PRECISION, "\n" + quality.report()


def test_clustering_recall_on_the_labeled_set(quality: Quality) -> None:
    assert quality.recall >= MIN_RECALL, "\n" + quality.report()


def test_labeled_set_is_large_and_covers_every_case() -> None:
    lines = load_lines()
    assert len(lines) >= 300
    assert all(set(line) == FIELDS for line in lines)
    cases = Counter(line["case"] for line in lines)
    assert set(cases) == {*ONE_STORY_CASES, *HARD_NEGATIVE_CASES, "singleton"}
    assert 0.3 <= cases["singleton"] / len(lines) <= 0.5
    sizes = Counter(line["label"] for line in lines)
    case_of = {line["label"]: line["case"] for line in lines}
    assert all(case_of[line["label"]] == line["case"] for line in lines)
    for case in ONE_STORY_CASES:
        stories = [label for label in sizes if case_of[label] == case]
        assert len(stories) >= 3 and all(sizes[label] >= 2 for label in stories), case
    for case in HARD_NEGATIVE_CASES:
        assert len([label for label in sizes if case_of[label] == case]) >= 6, case
    assert all(sizes[label] == 1 for label in sizes if case_of[label] == "singleton")
    # Several kinds, several scripts, entries with a title and nothing else.
    assert {line["kind"] for line in lines} == set(KINDS)
    text = "".join(line["title"] + line["summary"] for line in lines)
    for first, last in (("가", "힣"), ("一", "鿿"), ("а", "я"), ("á", "ñ")):
        assert any(first <= ch <= last for ch in text), (first, last)
    assert sum(1 for line in lines if not line["summary"] and not line["content"]) >= 5
    # GUID churn: one item in several fetches of its feed, a new guid each time.
    churned = [line for line in lines if line["case"] == "guid-churn"]
    assert len({line["batch"] for line in churned}) >= 3


def test_labeled_file_is_what_the_generator_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("generate_labeled", DATA / "generate_labeled.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, generator)  # dataclasses look themselves up
    spec.loader.exec_module(generator)
    rendered: str = generator.render()
    assert rendered == LABELED.read_text(encoding="utf-8"), (
        "labeled.jsonl differs from its generator: run "
        ".venv/bin/python tests/data/clustering/generate_labeled.py"
    )
