"""``syndicator explain``: why a story is what it is, from what the store recorded.

For a story id, an alias of a merged story, or any copy's link or GUID: the story's copies,
which one is shown and why, and for each copy the rule that put it there, with its score
and the stored copy it matched; then the stories merged into it. Nothing is recomputed:
the rules and scores are the ones ``dedupe`` decided when each entry arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from syndicator import dedupe
from syndicator.dedupe import FeedEntryKey, build_story, choose_shown_copy
from syndicator.model import Partner, StoredEntry
from syndicator.normalize import canonical_url
from syndicator.store import AliasRow, EntryMatch, Store

_RULES = {
    "new story": "started the story",
    "same entry": "same entry",
    "new guid": "the same item under a new GUID (same feed, no longer listed)",
    "canonical url": "same canonical URL",
    "title": f"same title words within {dedupe.TITLE_DAYS.days} days",
    "title and text": f"same title and text within {dedupe.LATE_COPY_DAYS.days} days",
    "text": f"close title and the same text within {dedupe.TEXT_DAYS.days} days",
}


@dataclass(frozen=True, slots=True)
class CopyExplanation:
    feed_id: str
    entry_key: str
    title: str
    link: str | None
    guid: str | None
    kind: str
    kind_rule: str
    published: datetime
    first_seen: datetime
    last_seen: datetime
    rule: str
    score: float | None
    matched_with: str | None
    shown: bool


@dataclass(frozen=True, slots=True)
class Explanation:
    reference: str
    story_id: str
    merged_from: str | None  # the reference was an alias of this story
    title: str
    kind: str
    published: datetime
    updated: datetime
    created_at: datetime
    shown_because: str
    copies: tuple[CopyExplanation, ...]
    aliases: tuple[AliasRow, ...]

    def to_json(self) -> dict[str, Any]:
        return {key: _jsonable(value) for key, value in asdict(self).items()}


class NotFound(Exception):
    """No story, alias, link or GUID in the store matches the reference."""


def explain(
    store: Store,
    reference: str,
    priorities: Mapping[str, int],
    partners: Mapping[str, Partner] | None = None,
) -> Explanation:
    """What the store knows of the story ``reference`` names. Raises ``NotFound``.

    Its title and dates are the published ones (``dedupe.build_story``; ``partners`` credit
    the copies as ``pipeline.partners`` does), ``updated`` moved to when the copy shown
    became the one shown."""
    reference = reference.strip()
    story_id = store.resolve_story(reference, canonical_url(reference))
    row = store.story_row(story_id) if story_id else None
    copies = store.story_copies([story_id]).get(story_id, []) if story_id else []
    if story_id is None or row is None or not copies:
        raise NotFound(f"no story, merged story, link or GUID in the store matches {reference}")
    alias = store.alias(reference)
    shown = choose_shown_copy(copies, priorities)
    story = build_story(story_id, copies, partners or {}, priorities)
    recorded, since = store.shown_copies([story_id]).get(story_id, (None, None))
    shown_since = since if recorded == story.shown_copy else None
    matches = store.entry_matches(story_id)
    return Explanation(
        reference=reference,
        story_id=story_id,
        merged_from=alias.alias_id if alias else None,
        title=story.title,
        kind=shown.entry.kind,
        published=story.published,
        updated=max(story.updated, shown_since) if shown_since else story.updated,
        created_at=row.created_at,
        shown_because=_shown_because(shown, copies, priorities),
        copies=tuple(_copy(c, matches, c is shown) for c in copies),
        aliases=tuple(store.aliases(story_id)),
    )


def _shown_because(
    shown: StoredEntry, copies: list[StoredEntry], priorities: Mapping[str, int]
) -> str:
    feeds = {c.entry.feed_id for c in copies}
    if len(feeds) == 1:
        return "the only partner carrying it"
    top = max(priorities.get(f, 0) for f in feeds)
    if sum(1 for f in feeds if priorities.get(f, 0) == top) == 1:
        return f"highest priority ({top}) among the partners carrying it"
    return "the most complete copy among partners of the same priority (then the first to carry it)"


def _copy(
    copy: StoredEntry, matches: Mapping[FeedEntryKey, EntryMatch], shown: bool
) -> CopyExplanation:
    entry = copy.entry
    match = matches.get((entry.feed_id, entry.entry_key), EntryMatch("new story", None, None))
    return CopyExplanation(
        feed_id=entry.feed_id,
        entry_key=entry.entry_key,
        title=entry.title,
        link=entry.link,
        guid=entry.guid,
        kind=entry.kind,
        kind_rule=entry.kind_rule,
        published=entry.published,
        first_seen=copy.first_seen,
        last_seen=copy.last_seen,
        rule=match.rule,
        score=match.score,
        matched_with=match.matched_with,
        shown=shown,
    )


def render(explanation: Explanation) -> str:
    """The explanation for people, one fact a line."""
    e = explanation
    lines = [f"story {e.story_id}"]
    if e.merged_from:
        lines.append(f"  ({e.merged_from} was merged into it)")
    lines += [
        f"  title      {e.title}",
        f"  kind       {e.kind}",
        f"  published  {_when(e.published)}   updated {_when(e.updated)}",
        f"  created    {_when(e.created_at)}",
        f"  shown copy {_shown(e)}: {e.shown_because}",
        f"copies ({len(e.copies)}):",
    ]
    for number, copy in enumerate(e.copies, start=1):
        marker = "*" if copy.shown else " "
        lines += [
            f" {marker}{number}. {copy.feed_id}: {copy.title}",
            f"     link {copy.link or '-'}   guid {copy.guid or '-'}",
            f"     kind {copy.kind} ({copy.kind_rule})   published {_when(copy.published)}   "
            f"first seen {_when(copy.first_seen)}   last seen {_when(copy.last_seen)}",
            f"     joined: {_joined(copy)}",
        ]
    if e.aliases:
        lines.append("stories merged into it (their ids are no longer published):")
        for alias in e.aliases:
            score = f", score {alias.score:.3f}" if alias.score is not None else ""
            lines.append(
                f"  {alias.alias_id} on {_when(alias.merged_at)}: {alias.rule}{score}, "
                f"when entry {alias.via or '-'} matched both"
            )
    return "\n".join(lines) + "\n"


def _shown(explanation: Explanation) -> str:
    shown = next(c for c in explanation.copies if c.shown)
    return f"{shown.feed_id}"


def _joined(copy: CopyExplanation) -> str:
    text = _RULES.get(copy.rule, copy.rule)
    if copy.rule in ("new story", "same entry"):
        return text
    score = f" (score {copy.score:.3f})" if copy.score is not None else ""
    matched = f", matching {copy.matched_with}" if copy.matched_with else ""
    return f"{copy.rule}: {text}{score}{matched}"


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes").replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
