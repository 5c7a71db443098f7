"""``syndicator preview``: a dry run of one feed that stores nothing.

::

    fetch once (as a pass, unconditional) | parse + normalize (the pass's own prepare)
      | judge the raw entries: guids, dates | dedupe against the stored stories (read only)
      | PreviewReport -> text or JSON

What the operator learns before adding a partner (or when one misbehaves): HTTP status and
the validators offered (without them every poll downloads and parses the whole feed), the
format, how entries will be told apart (missing, repeated, permalink guids), whether their
dates can be trusted (missing, in the future, all the same), the kind each entry gets and
the rule that gave it, and which entries would join stories already stored.

Nothing is written: no feed state, no entries, no published files. The database, when it
exists, is only read (no lock is taken, so this works beside ``syndicator run``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from syndicator.config import Config, FeedConfig
from syndicator.dedupe import Assignment, assign_stories, choose_shown_copy
from syndicator.fetch import FetchResult, fetch_once
from syndicator.model import Entry, Kind, ParsedEntry, ParsedFeed
from syndicator.normalize import MIN_DATE, canonical_url
from syndicator.operator import (
    OperatorError,
    discover_feeds,
    looks_like_html,
    same_feed,
    suggest_id,
)
from syndicator.parse import ParseError, parse_feed
from syndicator.pipeline import _prepare_job, story_id_authority, user_agent
from syndicator.prepare import prepare
from syndicator.store import Store
from syndicator.wording import counted

__all__ = ["FUTURE_SLACK", "PreviewReport", "preview_feed", "render_json", "render_text"]

# Dates later than this past now are "in the future" (time zones and clock skew aside).
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class HttpSummary:
    url: str  # requested
    final_url: str  # after redirects
    status: int | None
    content_type: str | None
    etag: str | None
    last_modified: str | None
    permanent_redirect: str | None
    fresh_for: float | None  # seconds, from Cache-Control / Expires
    size: int  # decoded body bytes
    duration: float  # seconds
    error: str | None
    error_kind: str | None  # fetch.FetchResult.error_kind: http, timeout, private_address...


@dataclass(frozen=True, slots=True)
class GuidQuality:
    entries: int
    missing: int  # no guid at all
    missing_by_link: int  # ... identified by their link instead
    missing_by_hash: int  # ... by a hash of title and text: an edit makes a new entry
    duplicates: tuple[tuple[str, int], ...]  # guid, how many entries carry it
    permalinks: int  # guids that are the entry's own link


@dataclass(frozen=True, slots=True)
class DatedEntry:
    title: str
    date: datetime


@dataclass(frozen=True, slots=True)
class DateSanity:
    missing: int  # neither published nor updated
    placeholders: int  # before 1990 (epoch zero and the like): treated as missing
    future: tuple[DatedEntry, ...]  # later than now + FUTURE_SLACK
    identical: datetime | None  # every dated entry has this one date (2 entries or more)
    oldest: datetime | None
    newest: datetime | None


@dataclass(frozen=True, slots=True)
class StoryMatch:
    rule: str  # dedupe's rule: "same entry", "canonical url", "title", ...
    story_id: str
    story_title: str  # of the copy shown today
    feeds: tuple[str, ...]  # feeds carrying it today
    score: float | None
    matched_with: str | None  # "feed id entry key" of the stored copy it matched
    replaces: str | None  # a partner that changed the guid: the stored entry it takes over
    merges: tuple[str, ...]  # stories found to be this one (their ids become aliases)


@dataclass(frozen=True, slots=True)
class EntryPreview:
    title: str
    link: str | None
    published: datetime  # after normalize (missing: the fetch time; future: clamped)
    published_is_guess: bool
    kind: Kind
    kind_rule: str
    change: str  # against the stored copy of this entry: new, changed, unchanged
    joins: StoryMatch | None  # None: it would start a new story


@dataclass(frozen=True, slots=True)
class PreviewReport:
    feed_id: str  # the feeds.yaml id, or the id add would suggest
    configured_line: int | None  # line in feeds.yaml when the feed is there
    kind: Kind
    http: HttpSummary
    format: str | None = None
    title: str | None = None
    site_link: str | None = None
    parse_warning: str | None = None
    error: str | None = None  # why there is nothing to preview (fetch or parse)
    page_feeds: tuple[str, ...] = ()  # an HTML page: the feeds it announces
    entry_count: int = 0  # entries in the partner feed
    excluded: int = 0  # entries feeds.yaml's include/exclude filters leave out
    guids: GuidQuality | None = None
    dates: DateSanity | None = None
    entries: tuple[EntryPreview, ...] = ()
    database: str | None = None  # the database read for merges, None when there is none

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def joining(self) -> int:
        """Entries that would join a story of *another* entry (not their own stored copy)."""
        return sum(1 for e in self.entries if e.joins and e.joins.rule != "same entry")

    @property
    def stored_already(self) -> int:
        return sum(1 for e in self.entries if e.joins and e.joins.rule == "same entry")


def preview_feed(
    config: Config,
    *,
    url: str | None = None,
    feed_id: str | None = None,
    kind: Kind | None = None,
    allow_private_networks: bool = False,
    now: datetime | None = None,
) -> PreviewReport:
    """Fetch and prepare one feed as a pass would, and report on it; store nothing.

    ``feed_id`` previews a feed of feeds.yaml with its settings; ``url`` any feed (with the
    settings of the feeds.yaml feed at that URL, if there is one). ``kind`` overrides the
    feed's kind. Raises OperatorError for an unknown ``feed_id``.
    """
    feed = _feed(config, url, feed_id, kind, allow_private_networks)
    fetched = fetch_once(
        url or feed.url,
        user_agent=user_agent(config),
        feed_id=feed.id,
        timeout=feed.timeout.total_seconds(),
        max_size=feed.max_size,
        allow_private_networks=feed.allow_private_networks,
        config_line=feed.line or None,
    )
    configured = config.feed(feed.id)
    report = PreviewReport(
        feed_id=feed.id,
        configured_line=configured.line if configured else None,
        kind=feed.kind,
        http=_http_summary(fetched),
    )
    if fetched.outcome != "ok" or fetched.body is None:
        return replace(report, error=fetched.error or f"{feed.id}: fetch failed")
    job = _prepare_job(feed, fetched)  # exactly what a pass prepares
    try:
        prepared = prepare(job)
    except ParseError as error:
        page = fetched.body if looks_like_html(fetched.body, fetched.content_type) else b""
        found = tuple(f.url for f in discover_feeds(page, fetched.final_url)) if page else ()
        return replace(report, error=f"{feed.id}: {error}", page_feeds=found)
    # prepare() keeps only normalized entries; guids and dates are judged as the partner
    # wrote them (normalize fills and clamps dates), so the raw entries are parsed again.
    raw = _raw_entries(job.body, fetched, feed)
    when = now or datetime.now(UTC)
    entries, database = _entries(config, feed, prepared.entries, job.fetched_at)
    if configured is None:  # the id `add` would give it, named as `add` names it: by title
        final_url = fetched.permanent_redirect or fetched.url
        title = " ".join(prepared.feed.title.split())[:200] or None
        report = replace(report, feed_id=suggest_id(title, final_url, [f.id for f in config.feeds]))
    return replace(
        report,
        format=prepared.feed.format,
        title=prepared.feed.title or None,
        site_link=prepared.feed.link,
        parse_warning=prepared.feed.warning,
        entry_count=prepared.entry_count,
        excluded=prepared.excluded,
        guids=guid_quality(raw),
        dates=date_sanity(raw, when),
        entries=entries,
        database=database,
    )


def _feed(
    config: Config, url: str | None, feed_id: str | None, kind: Kind | None, allow_private: bool
) -> FeedConfig:
    if feed_id is not None:
        feed = config.feed(feed_id)
        if feed is None:
            raise OperatorError(f"no feed {feed_id!r} in {config.path}")
    else:
        assert url is not None, "preview needs a URL or a feed id"
        known = same_feed(config, url)
        suggested = suggest_id(None, url, [f.id for f in config.feeds])
        feed = known or config.unlisted_feed(suggested, url)
    return replace(
        feed,
        kind=kind or feed.kind,
        allow_private_networks=feed.allow_private_networks or allow_private,
    )


def _raw_entries(body: bytes, fetched: FetchResult, feed: FeedConfig) -> tuple[ParsedEntry, ...]:
    # The same call prepare() made, with its limits.
    parsed: ParsedFeed = parse_feed(
        body, content_type=fetched.content_type, url=fetched.final_url, max_entries=feed.max_entries
    )
    return parsed.entries


def _http_summary(fetched: FetchResult) -> HttpSummary:
    return HttpSummary(
        url=fetched.url,
        final_url=fetched.final_url,
        status=fetched.status,
        content_type=fetched.content_type,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        permanent_redirect=fetched.permanent_redirect,
        fresh_for=fetched.fresh_for,
        size=len(fetched.body or b""),
        duration=fetched.duration,
        error=fetched.error,
        error_kind=fetched.error_kind,
    )


# --------------------------------------------------------------------------- judging entries


def guid_quality(entries: Sequence[ParsedEntry]) -> GuidQuality:
    """How well the partner's guids tell its entries apart (see normalize's entry key)."""
    guids = [(e.guid or "").strip() for e in entries]
    without = [e for e, g in zip(entries, guids, strict=True) if not g]
    by_link = sum(1 for e in without if e.link)
    counts = Counter(g for g in guids if g)
    permalinks = sum(
        1
        for e, g in zip(entries, guids, strict=True)
        if g.lower().startswith(("http://", "https://"))
        and e.link
        and canonical_url(g) == canonical_url(e.link)
    )
    return GuidQuality(
        entries=len(entries),
        missing=len(without),
        missing_by_link=by_link,
        missing_by_hash=len(without) - by_link,
        duplicates=tuple((g, n) for g, n in counts.most_common() if n > 1),
        permalinks=permalinks,
    )


def date_sanity(entries: Sequence[ParsedEntry], now: datetime) -> DateSanity:
    """The partner's dates as written: missing, placeholders, future, all the same."""
    missing = placeholders = 0
    dated: list[DatedEntry] = []
    for entry in entries:
        date = entry.published or entry.updated
        if date is None:
            missing += 1
        elif date < MIN_DATE:
            placeholders += 1
        else:
            dated.append(DatedEntry(_short(entry.title), date))
    future = tuple(d for d in dated if d.date > now + FUTURE_SLACK)
    distinct = {d.date for d in dated}
    identical = next(iter(distinct)) if len(distinct) == 1 and len(dated) >= 2 else None
    dates = [d.date for d in dated]
    return DateSanity(
        missing=missing,
        placeholders=placeholders,
        future=future,
        identical=identical,
        oldest=min(dates, default=None),
        newest=max(dates, default=None),
    )


def _short(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _entries(
    config: Config, feed: FeedConfig, entries: Sequence[Entry], fetched_at: datetime
) -> tuple[tuple[EntryPreview, ...], str | None]:
    """Each entry with its kind and the story it would join; the database read, if any."""
    path = config.storage.database
    if not path.is_file():  # nothing stored yet: every entry would start a story
        return tuple(_entry_preview(e, None, None) for e in entries), None
    with Store(path) as store:
        index = store.story_index()
        stored = store.stored_entries(feed.id, [e.entry_key for e in entries])
        found = assign_stories(
            entries,
            index,
            stored,
            authority=story_id_authority(config),
            fetched_at=fetched_at,
        )
        joined = [a.story_id for a in found if not a.new_story]
        copies = store.story_copies(list(dict.fromkeys(joined)))
    priorities = {f.id: f.priority for f in config.feeds}
    previews = []
    for entry, assignment in zip(entries, found, strict=True):
        match = None
        if not assignment.new_story and copies.get(assignment.story_id):
            story_copies = copies[assignment.story_id]
            shown = choose_shown_copy(story_copies, priorities)
            match = StoryMatch(
                rule=assignment.rule,
                story_id=assignment.story_id,
                story_title=shown.entry.title,
                feeds=tuple(dict.fromkeys(c.entry.feed_id for c in story_copies)),
                score=assignment.score,
                matched_with=assignment.matched_with,
                replaces=" ".join(assignment.replaces) if assignment.replaces else None,
                merges=assignment.merges,
            )
        previews.append(_entry_preview(entry, assignment, match))
    return tuple(previews), str(path)


def _entry_preview(
    entry: Entry, assignment: Assignment | None, match: StoryMatch | None
) -> EntryPreview:
    return EntryPreview(
        title=entry.title,
        link=entry.link,
        published=entry.published,
        published_is_guess=entry.published_is_guess,
        kind=entry.kind,
        kind_rule=entry.kind_rule,
        change=assignment.change if assignment else "new",
        joins=match,
    )


# --------------------------------------------------------------------------- rendering


def render_json(report: PreviewReport) -> str:
    document: dict[str, Any] = {
        "version": 1,  # fields may be added; renaming or removing one changes it
        "ok": report.ok,
        **asdict(report),
        "joining": report.joining,
        "stored_already": report.stored_already,
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=_json_value)


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def render_text(report: PreviewReport) -> str:
    """The report for people: one labelled block per question, problems first in each."""
    lines = [_heading(report), *_http_lines(report.http)]
    if report.error:
        lines.append(f"problem     {report.error}")
        if report.http.error_kind == "private_address":
            lines.append("            a local or test partner? pass --allow-private-networks")
        if report.page_feeds:
            lines.append("            the page announces these feeds; preview one of them:")
            lines.extend(f"              {url}" for url in report.page_feeds)
        return "\n".join(lines) + "\n"
    lines.append(
        f"format      {report.format}, {_quote(report.title)}, "
        f"{counted(report.entry_count, 'entry')}"
        + (f", site {report.site_link}" if report.site_link else "")
    )
    if report.parse_warning:
        lines.append(f"warning     {report.parse_warning}")
    assert report.guids is not None and report.dates is not None
    lines += _guid_lines(report.guids)
    lines += _date_lines(report.dates)
    lines += _entry_lines(report)
    return "\n".join(lines) + "\n"


def _heading(report: PreviewReport) -> str:
    where = (
        f"feeds.yaml line {report.configured_line}"
        if report.configured_line
        else "not in feeds.yaml; `add` would suggest this id"
    )
    return (
        f"preview of {report.http.url} as '{report.feed_id}' ({where}), kind {report.kind}; "
        "nothing is stored"
    )


def _http_lines(http: HttpSummary) -> list[str]:
    lines = []
    if http.status is not None:
        try:
            phrase = HTTPStatus(http.status).phrase
        except ValueError:
            phrase = ""
        size = f", {http.size:,} bytes in {http.duration:.2f} s" if http.size else ""
        lines.append(f"HTTP        {http.status} {phrase}{size}, {http.content_type or 'no type'}")
    if http.final_url != http.url:
        moved = " (permanently: update the URL)" if http.permanent_redirect else ""
        lines.append(f"redirected  to {http.final_url}{moved}")
    if http.status is None or http.error:
        return lines
    offered = [f"ETag {http.etag}" if http.etag else "", _lm(http.last_modified)]
    offered = [o for o in offered if o]
    if offered:
        lines.append(f"validators  {', '.join(offered)}: polls can be answered 304 Not Modified")
    else:
        lines.append(
            "validators  none (no ETag, no Last-Modified): every poll downloads the whole feed"
            " (unchanged bodies are still recognised by their hash and not parsed)"
        )
    if http.fresh_for is not None:
        lines.append(f"caching     the partner asks to wait {http.fresh_for:.0f} s between polls")
    return lines


def _lm(value: str | None) -> str:
    return f"Last-Modified {value}" if value else ""


def _quote(text: str | None) -> str:
    return f'"{text}"' if text else "no title"


def _guid_lines(guids: GuidQuality) -> list[str]:
    lines = []
    if guids.missing:
        parts = []
        if guids.missing_by_link:
            parts.append(f"{guids.missing_by_link} by their link")
        if guids.missing_by_hash:
            parts.append(
                f"{guids.missing_by_hash} by a hash of title and text "
                "(an edit makes it a new entry)"
            )
        lines.append(
            f"guids       {guids.missing} of {counted(guids.entries, 'entry')} without a guid: "
            f"identified {' and '.join(parts)}"
        )
    for guid, count in guids.duplicates[:5]:
        lines.append(
            f"guids       {count} entries share the guid {guid[:80]!r}: told apart by link, "
            "title or content"
        )
    if len(guids.duplicates) > 5:
        lines.append(f"guids       ... and {len(guids.duplicates) - 5} more repeated guids")
    if guids.permalinks:
        lines.append(
            f"guids       {guids.permalinks} of {counted(guids.entries, 'guid')} are the "
            "entry's link (permalinks): if a link changes, the entry rejoins its story by URL"
        )
    if not lines:
        lines.append(f"guids       ok: each of the {guids.entries} entries has its own guid")
    return lines


def _date_lines(dates: DateSanity) -> list[str]:
    lines = []
    if dates.missing:
        lines.append(
            f"dates       {counted(dates.missing, 'entry')} without a date: the time first "
            "seen is used"
        )
    if dates.placeholders:
        lines.append(
            f"dates       {counted(dates.placeholders, 'entry')} with a placeholder date before "
            "1990: treated as missing"
        )
    if dates.future:
        lines.append(
            f"dates       {counted(len(dates.future), 'entry')} dated in the future (later than "
            "now + 1 day): clamped to the fetch time"
        )
        lines.extend(f"              {_when(d.date)}  {d.title}" for d in dates.future[:5])
    if dates.identical is not None:
        lines.append(
            f"dates       every entry has the same date, {_when(dates.identical)}: probably "
            "the time the feed was built, not the news"
        )
    if not lines:
        lines.append("dates       ok")
    if dates.oldest and dates.newest:
        lines.append(f"            from {_when(dates.oldest)} to {_when(dates.newest)}")
    return lines


def _entry_lines(report: PreviewReport) -> list[str]:
    if report.database is None:
        where = "no database yet: nothing to merge with"
    else:
        where = (
            f"{report.joining} would join stories of other entries, "
            f"{report.stored_already} are stored already ({report.database})"
        )
    excluded = f" ({report.excluded} excluded by filters)" if report.excluded else ""
    lines = [f"entries     {len(report.entries)} usable{excluded}; {where}"]
    for number, entry in enumerate(report.entries, start=1):
        guess = "~" if entry.published_is_guess else " "
        lines.append(
            f"  {number:>3}. {_when(entry.published)}{guess} {entry.kind} ({entry.kind_rule}), "
            f"{entry.change}: {_short(entry.title, 70) or entry.link or '(no title)'}"
        )
        if entry.joins is not None:
            match = entry.joins
            score = f", score {match.score:.2f}" if match.score not in (None, 1.0) else ""
            if match.rule == "same entry":
                lines.append(f"         stored already, in {match.story_id}")
                continue
            lines.append(
                f"         joins {match.story_id} by {match.rule}{score}: "
                f"{_quote(_short(match.story_title, 60))} ({', '.join(match.feeds)})"
            )
            if match.replaces:
                lines.append(f"         taking the place of the stored entry {match.replaces}")
            if match.merges:
                lines.append(f"         and merges into it: {', '.join(match.merges)}")
    if any(e.published_is_guess for e in report.entries):
        lines.append("            ~ date not from the partner (missing, or clamped)")
    return lines


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
