"""Operator tools: ``add`` a partner, ``import`` / ``export`` OPML, and the feeds.yaml edits.

Adding a partner::

    fetch the URL | a feed? use it | an HTML page? fetch a <link rel="alternate"> feed it names
      | parse it (as a pass would) | refuse a URL or id already in feeds.yaml | suggest an id
      | append the entry to feeds.yaml

feeds.yaml is the operator's file, full of their comments: it is edited as *text*. The new
entries are rendered by ruamel.yaml in the indentation the file already uses and inserted
right after the last feed; every other byte stays as it was. Before anything is written the
result is read back (ruamel round trip: it must equal the old document plus the new
entries) and validated exactly as ``syndicator check`` does; only then is it written to a
temporary file and renamed over feeds.yaml, so the file is never left half-written or
invalid. A layout this cannot edit safely (``feeds:`` in flow style) is refused, with the
lines to paste by hand.

Nothing here prints: the command line shows what these functions return.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from syndicator.config import (
    DEFAULT_MAX_SIZE,
    DEFAULT_TIMEOUT,
    ID_PATTERN,
    MAX_ID_LENGTH,
    Config,
    FeedConfig,
    check_config_text,
)
from syndicator.discover import FoundFeed, discover_feeds, looks_like_html
from syndicator.fetch import FetchResult, fetch_once
from syndicator.model import KINDS, Kind, ParsedFeed
from syndicator.normalize import canonical_url
from syndicator.parse import ParseError, parse_feed
from syndicator.pipeline import user_agent
from syndicator.wording import counted

__all__ = [
    "AddPlan",
    "Appended",
    "FoundFeed",
    "ImportPlan",
    "NewFeed",
    "OperatorError",
    "Skipped",
    "append_feeds",
    "discover_feeds",
    "export_opml",
    "looks_like_html",
    "plan_add",
    "plan_import",
    "render_block",
    "same_feed",
    "suggest_id",
]

SUGGESTED_ID_LENGTH = 40  # ids are at most 64; short ones read better in logs
# The namespace of our own OPML attribute, ``syndicator:id``: ids survive export + import.
OPML_NAMESPACE = "urn:x-syndicator:opml"
_BOM = "\ufeff"


class OperatorError(Exception):
    """What the operator asked cannot be done; ``str()`` says why and what to do (exit 2)."""


# --------------------------------------------------------------------------- new entries


@dataclass(frozen=True, slots=True)
class NewFeed:
    """One entry to append to ``feeds:``; None and empty values are not written."""

    id: str
    url: str
    kind: Kind = "article"
    name: str | None = None
    tags: tuple[str, ...] = ()
    allow_private_networks: bool = False  # written only when true

    def mapping(self) -> CommentedMap:
        """The entry as ruamel will write it: keys in the order of the shipped feeds.yaml."""
        entry = CommentedMap()
        entry["id"] = self.id
        if self.name:
            entry["name"] = self.name
        entry["url"] = self.url
        entry["kind"] = self.kind
        if self.tags:
            tags = CommentedSeq(self.tags)
            tags.fa.set_flow_style()  # tags: [news, wego], as the shipped file writes them
            entry["tags"] = tags
        if self.allow_private_networks:
            entry["allow_private_networks"] = True
        return entry


def suggest_id(name: str | None, url: str, taken: Iterable[str]) -> str:
    """An id for a new feed: from its name (``SmartCitiesWorld News`` -> ``smartcitiesworld-
    news``), else its host (``www.example.org`` -> ``example-org``); ``-2``, ``-3``... when
    taken. Always matches the id rule of feeds.yaml."""
    used = set(taken)
    base = _slug(name or "")
    if len(base) < 3:  # a title in another script, or none: the host says who it is
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        base = _slug(host) or "feed"
    base = _shorten(base, SUGGESTED_ID_LENGTH)
    candidate, number = base, 1
    while candidate in used:
        number += 1
        candidate = f"{_shorten(base, SUGGESTED_ID_LENGTH - 4)}-{number}"
    return candidate


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _shorten(slug: str, length: int) -> str:
    if len(slug) <= length:
        return slug
    cut = slug[:length]
    return (cut.rsplit("-", 1)[0] if "-" in cut else cut).strip("-")


def id_problem(feed_id: str) -> str | None:
    """Why ``feed_id`` cannot be a feed id, or None."""
    if len(feed_id) > MAX_ID_LENGTH:
        return f"the id '{feed_id}' is too long (at most {MAX_ID_LENGTH} characters)"
    if not ID_PATTERN.fullmatch(feed_id):
        like = _slug(feed_id)
        hint = f", like '{like}'" if like else ""
        return (
            f"bad id '{feed_id}': use lower-case letters, digits and hyphens "
            f"(no hyphen first or last){hint}"
        )
    return None


def same_feed(config: Config, url: str) -> FeedConfig | None:
    """The feed of feeds.yaml at ``url``, compared as links are (http/https, ``www.``,
    trailing slash and tracking parameters do not count; other query parameters do)."""
    wanted = canonical_url(url) or url
    return next((f for f in config.feeds if (canonical_url(f.url) or f.url) == wanted), None)


def _duplicate_message(url: str, feed: FeedConfig, config: Config) -> str:
    return (
        f"{url} is already in {config.path.name} as '{feed.id}' (line {feed.line}); nothing added"
    )


# --------------------------------------------------------------------------- add


@dataclass(frozen=True, slots=True)
class AddPlan:
    """What ``add`` found and would append; ``feed`` is the entry."""

    requested_url: str
    page_feeds: tuple[FoundFeed, ...]  # announced by the page at requested_url; () for a feed
    picked: int | None  # index into page_feeds
    fetch: FetchResult  # of the feed itself
    parsed: ParsedFeed
    feed: NewFeed
    id_suggested: bool  # the id was not given with --id

    @property
    def newest_entry(self) -> datetime | None:
        dates = [d for e in self.parsed.entries for d in (e.published, e.updated) if d]
        return max(dates, default=None)


def plan_add(
    config: Config,
    url: str,
    *,
    kind: Kind = "article",
    feed_id: str | None = None,
    name: str | None = None,
    tags: Sequence[str] = (),
    pick: int | None = None,
    allow_private_networks: bool = False,
) -> AddPlan:
    """Fetch ``url`` (a feed, or a page announcing feeds), parse the feed as a pass would,
    and decide the entry to append. Raises OperatorError when nothing can be added.

    ``pick`` is 1-based, among the feeds a page announces (default: the first).
    ``allow_private_networks`` allows this fetch on private addresses even when feeds.yaml
    does not; the entry then gets ``allow_private_networks: true`` so that passes can fetch
    it too.
    """
    if feed_id is not None:
        problem = id_problem(feed_id)
        if problem:
            raise OperatorError(problem)
        existing = config.feed(feed_id)
        if existing is not None:
            raise OperatorError(
                f"the id '{feed_id}' is taken by the feed on line {existing.line} of "
                f"{config.path.name}; choose another with --id"
            )
    _refuse_known(config, url)
    private = allow_private_networks or config.allow_private_networks
    fetched = _fetch(config, url, private)
    page_feeds: tuple[FoundFeed, ...] = ()
    picked: int | None = None
    try:
        parsed = _parse(fetched)
    except ParseError as error:
        if not looks_like_html(fetched.body or b"", fetched.content_type):
            raise OperatorError(f"{fetched.final_url} is not a feed: {error}") from error
        page_feeds = tuple(discover_feeds(fetched.body or b"", fetched.final_url))
        picked = _pick(page_feeds, pick, fetched.final_url)
        feed_url = page_feeds[picked].url
        _refuse_known(config, feed_url)
        fetched = _fetch(config, feed_url, private)
        try:
            parsed = _parse(fetched)
        except ParseError as error2:
            raise OperatorError(
                f"the page {url} announces {feed_url}, but it is not a usable feed: {error2}"
            ) from error2
    # A permanent redirect: record where the feed lives now (a pass would warn otherwise).
    final_url = fetched.permanent_redirect or fetched.url
    if final_url != fetched.url:
        _refuse_known(config, final_url)
    title = " ".join(parsed.title.split())[:200] or None
    chosen_name = name or title
    taken = {f.id for f in config.feeds}
    new = NewFeed(
        id=feed_id or suggest_id(chosen_name, final_url, taken),
        url=final_url,
        kind=kind,
        name=chosen_name,
        tags=tuple(dict.fromkeys(tags)),
        allow_private_networks=allow_private_networks and not config.allow_private_networks,
    )
    return AddPlan(url, page_feeds, picked, fetched, parsed, new, feed_id is None)


def _refuse_known(config: Config, url: str) -> None:
    existing = same_feed(config, url)
    if existing is not None:
        raise OperatorError(_duplicate_message(url, existing, config))


def _fetch(config: Config, url: str, allow_private_networks: bool) -> FetchResult:
    result = fetch_once(
        url,
        user_agent=user_agent(config),
        feed_id="add",
        timeout=DEFAULT_TIMEOUT.total_seconds(),
        max_size=DEFAULT_MAX_SIZE,
        allow_private_networks=allow_private_networks,
    )
    if result.outcome != "ok" or result.body is None:
        reason = (result.error or "no body").removeprefix("add: ")
        hint = (
            "; for a local or test partner pass --allow-private-networks"
            if result.error_kind == "private_address"
            else ""
        )
        raise OperatorError(f"could not fetch {url}: {reason}{hint}")
    return result


def _parse(fetched: FetchResult) -> ParsedFeed:
    return parse_feed(fetched.body or b"", content_type=fetched.content_type, url=fetched.final_url)


def _pick(found: Sequence[FoundFeed], pick: int | None, page_url: str) -> int:
    if not found:
        raise OperatorError(
            f"no feed found: {page_url} is an HTML page without "
            '<link rel="alternate" type="application/rss+xml"> (or Atom, JSON Feed); '
            "give the feed's own URL"
        )
    if pick is None:
        return 0
    if not 1 <= pick <= len(found):
        raise OperatorError(
            f"--pick {pick}: the page announces {len(found)} feeds (1-{len(found)})"
        )
    return pick - 1


# --------------------------------------------------------------------------- OPML


@dataclass(frozen=True, slots=True)
class Skipped:
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportPlan:
    added: tuple[NewFeed, ...]
    skipped: tuple[Skipped, ...]


def plan_import(config: Config, opml: bytes, *, kind: Kind = "article") -> ImportPlan:
    """The feeds of an OPML file (outlines with an ``xmlUrl``, nested ones too) that are not
    in feeds.yaml yet. ``title`` (else ``text``) becomes the name; ``category`` gives the
    kind (``/article``, ``/whitepaper``, ``/webinar``, as ``export`` writes it, else
    ``kind``) and tags (the other categories that are valid tag names). Nothing is fetched.
    """
    outlines = list(_feed_outlines(_parse_opml(opml)))
    taken = {f.id for f in config.feeds}
    seen: dict[str, str] = {}  # canonical URL -> id, of feeds added by this import
    added: list[NewFeed] = []
    skipped: list[Skipped] = []
    for outline in outlines:
        url = (_attribute(outline, "xmlUrl") or "").strip()
        reason = _import_refusal(config, url, seen)
        if reason:
            skipped.append(Skipped(url, reason))
            continue
        name = _clean_text(_attribute(outline, "title") or _attribute(outline, "text"))
        feed_kind, tags = _categories(_attribute(outline, "category") or "", kind)
        wanted_id = outline.get(f"{{{OPML_NAMESPACE}}}id")
        usable = wanted_id and not id_problem(wanted_id) and wanted_id not in taken
        if name == wanted_id:  # export writes the id where a feed has no name: keep none
            name = None
        new = NewFeed(
            id=wanted_id if usable and wanted_id else suggest_id(name, url, taken),
            url=url,
            kind=feed_kind,
            name=name,
            tags=tags,
        )
        taken.add(new.id)
        seen[canonical_url(url) or url] = new.id
        added.append(new)
    return ImportPlan(tuple(added), tuple(skipped))


def _parse_opml(opml: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(opml, parser)
    except etree.XMLSyntaxError as error:
        raise OperatorError(f"not an OPML file: {error}") from error
    if not isinstance(root.tag, str) or etree.QName(root).localname != "opml":
        raise OperatorError(f"not an OPML file: the document is <{root.tag}>, not <opml>")
    return root


def _feed_outlines(root: etree._Element) -> Iterator[etree._Element]:
    for outline in root.iter("outline"):  # document order, nested outlines included
        if _attribute(outline, "xmlUrl") is not None:
            yield outline


def _attribute(outline: etree._Element, name: str) -> str | None:
    """An outline attribute, its name matched without case (``xmlurl`` is seen in the wild)."""
    value = outline.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((str(v) for k, v in outline.attrib.items() if str(k).lower() == lowered), None)


def _import_refusal(config: Config, url: str, seen: dict[str, str]) -> str | None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    existing = same_feed(config, url)
    if existing is not None:
        return f"already in {config.path.name} as '{existing.id}' (line {existing.line})"
    earlier = seen.get(canonical_url(url) or url)
    if earlier is not None:
        return f"listed twice in the OPML file (added once, as '{earlier}')"
    return None


def _clean_text(value: str | None) -> str | None:
    text = " ".join((value or "").split())[:200]
    return text or None


def _categories(category: str, default_kind: Kind) -> tuple[Kind, tuple[str, ...]]:
    kind = default_kind
    tags: list[str] = []
    for item in category.split(","):
        path = [part.strip() for part in item.strip().split("/") if part.strip()]
        if not path:
            continue
        if item.strip().startswith("/") and len(path) == 1 and path[0] in KINDS:
            kind = next(k for k in KINDS if k == path[0])
            continue
        tag = _slug(path[-1])
        if tag and not id_problem(tag) and tag not in tags:
            tags.append(tag)
    return kind, tuple(tags)


def export_opml(config: Config) -> bytes:
    """Every feed of feeds.yaml (disabled ones too) as OPML 2.0: ``text``/``title`` the name
    (else the id), ``category`` ``/kind`` then the tags (as ``sources.opml``), and the id
    in ``syndicator:id`` so that ``import`` elsewhere keeps it."""
    nsmap = {"syndicator": OPML_NAMESPACE}
    opml = etree.Element("opml", version="2.0", nsmap=nsmap)
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = f"{config.site.title}: partner feeds"
    body = etree.SubElement(opml, "body")
    for feed in config.feeds:
        name = feed.name or feed.id
        outline = etree.SubElement(body, "outline")
        for key, value in (
            ("type", "rss"),
            ("text", name),
            ("title", name),
            ("xmlUrl", feed.url),
            ("category", ",".join([f"/{feed.kind}", *feed.tags])),
            (f"{{{OPML_NAMESPACE}}}id", feed.id),
        ):
            outline.set(key, value)
    return etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True)


# --------------------------------------------------------------------------- editing feeds.yaml


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where and how new feed entries go in the text of feeds.yaml."""

    insert_at: int  # index into the lines: new entries go before this line
    dash_column: int  # column of the "-" of feed items
    key_column: int  # column of their keys
    separated: bool  # items are separated by a blank line
    newline: str


@dataclass(frozen=True, slots=True)
class Appended:
    """feeds.yaml after an append: its new text and where the new lines are (1-based)."""

    text: str
    first_line: int
    block: str  # the lines added (what --dry-run shows)
    lines: dict[str, int] = field(default_factory=dict)  # feed id -> its line


def append_feeds(path: Path, feeds: Sequence[NewFeed], *, write: bool = True) -> Appended:
    """Append ``feeds`` to the ``feeds:`` list of ``path``, every other byte unchanged.

    The result is validated as ``check`` does before anything is written; with ``write``
    it replaces the file atomically (temporary file + rename, mode kept). Raises
    OperatorError when the file's layout cannot be edited safely, ConfigError when the
    result would be invalid (the file is then untouched).
    """
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    bom = _BOM if text.startswith(_BOM) else ""
    body = text.removeprefix(bom)
    appended = _insert(body, feeds)
    check_config_text(appended.text, str(path), path.parent)  # raises ConfigError
    if write:
        _replace_file(path, raw, (bom + appended.text).encode("utf-8"))
    return appended


def render_block(feeds: Sequence[NewFeed], dash_column: int = 2, key_column: int = 4) -> str:
    """The YAML lines of ``feeds`` as items of a list: what ``--dry-run`` shows."""
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a long URL or name over two lines
    yaml.indent(mapping=2, sequence=key_column, offset=dash_column)
    stream = io.StringIO()
    yaml.dump([feed.mapping() for feed in feeds], stream)
    return stream.getvalue()


def _insert(text: str, feeds: Sequence[NewFeed]) -> Appended:
    try:
        data, layout = _layout(text)
    except _Uneditable as error:
        raise _cannot_edit(str(error), render_block(feeds)) from error
    nl = layout.newline
    lines = text.splitlines(keepends=True)
    blocks = [render_block([feed], layout.dash_column, layout.key_column) for feed in feeds]
    before, after = lines[: layout.insert_at], lines[layout.insert_at :]
    if before and not before[-1].endswith(("\n", "\r")):
        before[-1] += nl  # the last feed ended the file without a newline
    added: list[str] = []
    first_lines: dict[str, int] = {}
    for feed, block in zip(feeds, blocks, strict=True):
        if layout.separated:
            added.append(nl)
        first_lines[feed.id] = len(before) + len(added) + 1
        added.extend(line.removesuffix("\n") + nl for line in block.splitlines(keepends=True))
    new_text = "".join(before + added + after)
    _verify(data, new_text, feeds, "".join(added))
    block = "".join(added)
    return Appended(new_text, len(before) + 1, block, first_lines)


def _load(text: str) -> Any:
    yaml = YAML(typ="rt")
    return yaml.load(text)


def _layout(text: str) -> tuple[Any, _Layout]:
    try:
        data = _load(text)
    except YAMLError as error:
        raise OperatorError(f"feeds.yaml cannot be read as YAML: {error}") from error
    feeds = data.get("feeds") if isinstance(data, dict) else None
    if not isinstance(feeds, CommentedSeq) or not feeds:
        raise OperatorError("feeds.yaml has no list under feeds:, so there is nowhere to add to")
    if feeds.fa.flow_style():
        raise _Uneditable("feeds: is written in flow style ([...])")
    lines = text.splitlines(keepends=True)
    last = len(feeds) - 1
    item_line, key_column = feeds.lc.item(last)
    prefix = lines[item_line][:key_column].rstrip()
    if not prefix.endswith("-") or prefix[:-1].strip():
        raise _Uneditable("the last feed does not start with '- key:' on one line")
    dash_column = len(prefix) - 1
    region_end = _next_top_level_line(data, item_line, len(lines))
    end = _end_of_item(lines, item_line, region_end, dash_column, key_column)
    if last > 0:
        previous_line = feeds.lc.item(last - 1)[0]
        separated = any(not line.strip() for line in lines[previous_line:item_line])
    else:
        separated = any(not line.strip() for line in lines[feeds.lc.line : item_line])
    newline = "\r\n" if "\r\n" in text else "\n"
    return data, _Layout(end + 1, dash_column, key_column, separated, newline)


def _next_top_level_line(data: Any, after: int, default: int) -> int:
    lines = [int(data.lc.key(key)[0]) for key in data]
    return min((line for line in lines if line > after), default=default)


def _end_of_item(lines: list[str], start: int, stop: int, dash_column: int, key_column: int) -> int:
    """The last line of the feed item starting at ``start``: its last value line, plus the
    comments right below it indented as its keys (they are about it)."""
    end = start
    for number in range(start + 1, stop):
        line = lines[number]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped and not stripped.startswith("#") and indent > dash_column:
            end = number
    for number in range(end + 1, stop):
        line = lines[number]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if not stripped.startswith("#") or indent < key_column:
            break
        end = number
    return end


def _verify(old: Any, new_text: str, feeds: Sequence[NewFeed], block: str) -> None:
    """The new text must read as the old document plus exactly the new entries."""
    try:
        new = _load(new_text)
    except YAMLError as error:
        raise _cannot_edit(f"the result would not be valid YAML ({error})", block) from error
    expected = dict(old)
    expected["feeds"] = [*old["feeds"], *(feed.mapping() for feed in feeds)]
    if _plain(new) != _plain(expected):
        raise _cannot_edit("inserting the lines would change other values", block)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Uneditable(Exception):
    """The layout of feeds.yaml is not one we can insert into without touching other lines."""


def _cannot_edit(why: str, block: str | None = None) -> OperatorError:
    hint = f"; add these lines at the end of feeds: by hand:\n{block}" if block else ""
    return OperatorError(f"feeds.yaml was not changed: {why}{hint}")


def _replace_file(path: Path, old: bytes, new: bytes) -> None:
    """Write ``new`` over ``path`` atomically, unless someone changed the file meanwhile."""
    target = path.resolve()  # a symlinked feeds.yaml stays a symlink
    if target.read_bytes() != old:
        raise OperatorError(
            f"{path} changed while this command ran (someone editing it?); nothing written: "
            "run the command again"
        )
    mode = stat.S_IMODE(target.stat().st_mode)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).chmod(mode)
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- what the CLI shows


def describe_add(plan: AddPlan, config_name: str, appended: Appended, *, written: bool) -> str:
    """What ``add`` found and did, for the operator."""
    lines = []
    if plan.page_feeds:
        count = len(plan.page_feeds)
        lines.append(
            f"page        {plan.requested_url} announces {count} feed{'s' if count > 1 else ''}:"
        )
        for number, found in enumerate(plan.page_feeds, start=1):
            mark = "  <- picked" + (" (--pick N for another)" if count > 1 else "")
            title = f' "{found.title}"' if found.title else ""
            chosen = mark if number - 1 == plan.picked else ""
            lines.append(f"  {number}. {found.format_name}{title} {found.url}{chosen}")
    parsed = plan.parsed
    newest = plan.newest_entry
    newest_text = f", newest {newest:%Y-%m-%d %H:%M} UTC" if newest else ", no dated entries"
    title = f'"{" ".join(parsed.title.split())}"' if parsed.title.strip() else "no title"
    lines.append(
        f"feed        {plan.fetch.final_url}: {parsed.format}, {title}, "
        f"{counted(len(parsed.entries), 'entry')}{newest_text}"
    )
    if plan.fetch.permanent_redirect:
        lines.append(
            f"moved       permanently to {plan.fetch.permanent_redirect}: that URL is used"
        )
    how = "suggested; --id to choose another" if plan.id_suggested else "from --id"
    lines.append(f"id          {plan.feed.id} ({how})")
    lines.append(f"kind        {plan.feed.kind} (--kind article|whitepaper|webinar)")
    line = appended.lines.get(plan.feed.id, appended.first_line)
    if written:
        lines.append(f"added to {config_name} at line {line}:")
    else:
        lines.append(f"would add to {config_name} at line {line} (--dry-run: nothing written):")
    lines.append(appended.block.rstrip("\r\n"))
    return "\n".join(lines) + "\n"


def describe_import(
    plan: ImportPlan, config_name: str, appended: Appended | None, *, dry_run: bool
) -> str:
    """What ``import`` added and skipped, and why, for the operator."""
    verb = "would add (--dry-run: nothing written)" if dry_run else "added"
    lines = [f"{verb} {counted(len(plan.added), 'feed')}, skipped {len(plan.skipped)}"]
    for feed in plan.added:
        line = f" (line {appended.lines[feed.id]})" if appended else ""
        lines.append(f"  + {feed.id}: {feed.url}{line}")
    lines.extend(f"  - skipped {s.url or '(no URL)'}: {s.reason}" for s in plan.skipped)
    if appended is not None and dry_run:
        lines.append(f"lines for {config_name}:")
        lines.append(appended.block.rstrip("\r\n"))
    return "\n".join(lines) + "\n"
