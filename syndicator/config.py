"""feeds.yaml -> Config: typed, validated, every problem reported with its line.

How it works:

1. ruamel.yaml reads the file as YAML 1.2 (so ``no`` and ``1:30`` stay strings). The node tree
   is composed first to find *every* duplicate key, then the file is loaded round-trip so each
   mapping and list remembers the lines of its keys and items.
2. The loaded tree is copied to plain Python values plus a ``{key path: line}`` table.
3. Strict pydantic models (nothing coerced, unknown keys forbidden) validate the plain values;
   each error becomes a :class:`Problem`: a short sentence for an operator, at the right line.

Units:

- durations: a positive whole number and one unit ``s``, ``m``, ``h`` or ``d``
  (``90s``, ``15m``, ``2h``, ``1d``), at most ``365d``. A bare number is an error.
- sizes: a positive whole number and ``B``, ``KB`` or ``MB``, 1024-based
  (``1KB`` = 1024 bytes, ``10MB`` = 10 MiB), at most ``1024MB``. A bare number is an error.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import SplitResult, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError
from ruamel.yaml import YAML
from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scalarbool import ScalarBoolean

from syndicator.classify import (
    FIELDS,
    Condition,
    Filters,
    Matcher,
    Rule,
    plain_matcher,
    regex_matcher,
)
from syndicator.model import KINDS, Kind
from syndicator.normalize import canonical_url

DEFAULT_INTERVAL = timedelta(minutes=30)
DEFAULT_TIMEOUT = timedelta(seconds=30)
DEFAULT_MAX_SIZE = 10 * 1024 * 1024  # bytes of decoded body
DEFAULT_MAX_ENTRIES = 1000  # entries read from one partner feed; the first ones are kept
# Video players whose <iframe>s are kept in partner HTML (subdomains included), sandboxed.
DEFAULT_IFRAME_HOSTS = ("youtube.com", "youtube-nocookie.com", "player.vimeo.com")
_HOST_NAME = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
DEFAULT_MAX_POLL_INTERVAL = timedelta(days=1)  # longest wait between two polls of a feed
# How long after its start a webinar stays in webinars.* (it stays in all.* regardless).
DEFAULT_KEEP_PAST_WEBINARS = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in feeds.yaml; ``str()`` is ``FILE:LINE: key.path: message``."""

    file: str
    line: int  # 1-based
    path: str  # e.g. "feeds[2].url", "" for the whole document
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class ConfigError(Exception):
    """feeds.yaml is invalid; ``problems`` lists every problem found, in line order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class SiteConfig:
    title: str
    url: str  # public base URL of the published folder, always ends with "/"
    description: str | None = None
    language: str | None = None
    max_items: int = 100
    websub_hub: str | None = None  # WebSub hub announced in published feeds and pinged
    keep_past_webinars: timedelta = DEFAULT_KEEP_PAST_WEBINARS  # in webinars.* after the start


@dataclass(frozen=True, slots=True)
class StorageConfig:
    database: Path  # absolute (relative paths resolve against the folder of feeds.yaml)
    output_dir: Path  # absolute


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True, slots=True)
class FeedConfig:
    id: str
    url: str
    line: int  # line of this feed's entry in feeds.yaml (for operator messages)
    kind: Kind = "article"
    name: str | None = None
    interval: timedelta = DEFAULT_INTERVAL
    timeout: timedelta = DEFAULT_TIMEOUT
    max_size: int = DEFAULT_MAX_SIZE
    max_poll_interval: timedelta = DEFAULT_MAX_POLL_INTERVAL  # caps partner hints and backoff
    max_entries: int = DEFAULT_MAX_ENTRIES
    iframe_hosts: frozenset[str] = frozenset(DEFAULT_IFRAME_HOSTS)
    tags: tuple[str, ...] = ()
    enabled: bool = True
    priority: int = 0
    allow_private_networks: bool = False  # already merged with the top-level setting
    rules: tuple[Rule, ...] = ()  # this feed's kind rules, then the top-level ones
    filters: Filters = field(default_factory=Filters)  # include: / exclude:
    max_stories: int | None = None  # cap of this feed's stories in the merged feeds


@dataclass(frozen=True, slots=True)
class FeedDefaults:
    """feeds.yaml's ``defaults:``: what a feed that does not set these keys gets."""

    interval: timedelta = DEFAULT_INTERVAL
    timeout: timedelta = DEFAULT_TIMEOUT
    max_size: int = DEFAULT_MAX_SIZE
    max_poll_interval: timedelta = DEFAULT_MAX_POLL_INTERVAL
    max_entries: int = DEFAULT_MAX_ENTRIES
    iframe_hosts: frozenset[str] = frozenset(DEFAULT_IFRAME_HOSTS)

    def under(self, written: dict[str, Any]) -> dict[str, Any]:
        """Each of these keys as a feed wrote it (``written``), else its default here: the
        one place that applies ``defaults:``, to listed and unlisted feeds alike."""
        return {key.name: written.get(key.name, getattr(self, key.name)) for key in fields(self)}


@dataclass(frozen=True, slots=True)
class Config:
    path: Path  # absolute path of feeds.yaml
    site: SiteConfig
    storage: StorageConfig
    server: ServerConfig
    feeds: tuple[FeedConfig, ...]
    allow_private_networks: bool = False
    rules: tuple[Rule, ...] = ()  # top-level kind rules (every feed's rules end with them)
    defaults: FeedDefaults = field(default_factory=FeedDefaults)

    @property
    def enabled_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(f for f in self.feeds if f.enabled)

    def feed(self, feed_id: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.id == feed_id), None)

    def unlisted_feed(self, feed_id: str, url: str) -> FeedConfig:
        """A feed that is not in feeds.yaml, set up as if it were added with only ``id`` and
        ``url``: ``defaults:``, the top-level kind rules and ``allow_private_networks``."""
        return FeedConfig(
            id=feed_id,
            url=url,
            line=0,
            allow_private_networks=self.allow_private_networks,
            rules=self.rules,
            **self.defaults.under({}),
        )


# --------------------------------------------------------------------------- public entry points


def load_config(path: Path) -> Config:
    """Read and validate feeds.yaml; raise ConfigError listing every problem.

    Problems name the file as ``str(path)``, as the caller gave it.
    """
    file_name = str(path)
    text = _read_text(path, file_name)
    return _check(text, file_name, path.resolve())


def check_config_text(text: str, file_name: str, base_dir: Path) -> Config:
    """Validate feeds.yaml content; ``file_name`` is used in problems, ``base_dir`` for paths.

    ``Config.path`` becomes ``base_dir / <last part of file_name>``, made absolute.
    """
    return _check(text, file_name, base_dir.resolve() / Path(file_name).name)


ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_ID_LENGTH = 64
MAX_DURATION = timedelta(days=365)
MAX_SIZE = 1024 * 1024 * 1024

_DURATION = re.compile(r"([0-9]+)([smhd])")
_DURATION_PART = re.compile(r"([0-9]{1,9})([a-zA-Z]+)")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}  # largest first, for formatting
_UNIT_WORDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "w"),  # only in hints: "1w" is "7d"
}
_WEEK = 7 * 86400
# How a duration may be written by mistake: "1.5h", "2 weeks", "15 minutes".
_DURATION_WORDING = re.compile(r"([0-9]{1,9}(?:\.[0-9]{1,6})?)([a-zA-Z]+)")
_SIZE = re.compile(r"([0-9]+)(B|KB|MB)")
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 * 1024}
_SIZE_WORDS = {
    **dict.fromkeys(("b", "byte", "bytes"), "B"),
    **dict.fromkeys(("k", "kb", "kib", "kbyte", "kbytes"), "KB"),
    **dict.fromkeys(("m", "mb", "mib", "mbyte", "mbytes"), "MB"),
}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d`` -> timedelta; ValueError holds an operator sentence."""
    match = _DURATION.fullmatch(text)
    if match is None:
        hint = _suggestion(text, _duration_hint(text))
        raise ValueError(f"expected a duration like {_DURATION_EXAMPLES}, got '{text}'{hint}")
    seconds = _amount(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds == 0:
        raise ValueError(f"a duration must be more than zero, got '{text}'")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"a duration must be at most 365d, got '{text}'")
    return timedelta(seconds=seconds)


def parse_size(text: str) -> int:
    """``512KB``, ``10MB`` -> bytes (1024-based); ValueError holds an operator sentence."""
    match = _SIZE.fullmatch(text)
    if match is None:
        hint = _suggestion(text, _size_hint(text))
        raise ValueError(f"expected a size like {_SIZE_EXAMPLES}, got '{text}'{hint}")
    size = _amount(match[1]) * _SIZE_UNITS[match[2]]
    if size == 0:
        raise ValueError(f"a size must be more than zero, got '{text}'")
    if size > MAX_SIZE:
        raise ValueError(f"a size must be at most 1024MB, got '{text}'")
    return size


def _amount(digits: str) -> int:
    """The number in front of a unit; absurdly long ones count as "too large" (no int() limit)."""
    return int(digits) if len(digits) <= 15 else 10**15


_DURATION_EXAMPLES = "90s, 15m, 2h or 1d"
_SIZE_EXAMPLES = "512KB or 10MB (units B, KB, MB; 1KB = 1024 bytes)"


def _suggestion(text: str, hint: str | None) -> str:
    return f"; did you mean '{hint}'?" if hint and hint != text else ""


_CLOCK = re.compile(r"(\d{1,3}):(\d{2})(?::(\d{2}))?")


def _duration_hint(text: str) -> str | None:
    """``15 minutes`` -> ``15m``; ``1h30m`` -> ``90m``; None when there is no clear reading."""
    compact = text.replace(" ", "")
    clock = _CLOCK.fullmatch(compact)  # 1:30, 0:15:00: hours and minutes, maybe seconds
    if clock is not None:
        hours, minutes, seconds_part = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        total = hours * 3600 + minutes * 60 + seconds_part
        return _format_duration(total) if minutes < 60 and seconds_part < 60 and total else None
    if not compact or _DURATION_WORDING.sub("", compact):
        return None
    seconds = 0.0
    for number, word in _DURATION_WORDING.findall(compact):
        unit = _UNIT_WORDS.get(word.lower())
        if unit is None:
            return None
        seconds += float(number) * (_WEEK if unit == "w" else _UNIT_SECONDS[unit])
    seconds = round(seconds, 3)  # 0.1h is 360.00000000000006 s in floating point
    if seconds <= 0 or seconds != int(seconds):
        return None
    return _format_duration(int(seconds))


def _format_duration(seconds: int) -> str:
    unit, size = next((u, s) for u, s in _UNIT_SECONDS.items() if seconds % s == 0)
    return f"{seconds // size}{unit}"


def _size_hint(text: str) -> str | None:
    """``10 mb`` -> ``10MB``; ``2GB`` -> ``2048MB``; None when there is no clear reading."""
    match = _DURATION_PART.fullmatch(text.replace(" ", ""))
    if match is None:
        return None
    number, word = int(match[1]), match[2].lower()
    if word in {"g", "gb", "gib"}:
        return f"{number * 1024}MB"
    unit = _SIZE_WORDS.get(word)
    return f"{number}{unit}" if unit else None


# --------------------------------------------------------------------------- value validators
# Each takes the raw YAML value and returns the typed value or raises a PydanticCustomError whose
# message is the sentence the operator sees.


def _fail(message: str) -> NoReturn:
    raise PydanticCustomError("config", "{message}", {"message": message})


def _show(value: object) -> str:
    """A value as the operator wrote it, for messages."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return "'" + text.replace("\n", "\\n") + "'"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, TaggedScalar):
        return f"a value tagged {value.tag}"
    return f"a {type(value).__name__}"


def _text(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        _fail(f"expected text, got the number {value}; put it in quotes: '{value}'")
    if not isinstance(value, str):
        _fail(f"expected text, got {_show(value)}")
    if not value.strip():
        _fail("must not be empty")
    return value.strip()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _slug_problem(text: str, what: str) -> str | None:
    if len(text) > MAX_ID_LENGTH:
        return f"{what} is too long (at most {MAX_ID_LENGTH} characters)"
    if ID_PATTERN.fullmatch(text):
        return None
    example = _slug(text)
    like = f", like '{example}'" if example else ""
    rule = "use lower-case letters, digits and hyphens (no hyphen first or last)"
    return f"bad {what} '{text}': {rule}{like}"


def _feed_id(value: object) -> str:
    text = _text(value)
    problem = _slug_problem(text, "id")
    if problem:
        _fail(problem)
    return text


def _tag(value: object) -> str:
    text = _text(value)
    problem = _slug_problem(text, "tag")
    if problem:
        _fail(f"{problem} (tags become file names: tags/<tag>.atom)")
    return text


def _iframe_host(value: object) -> str:
    text = _text(value).lower()
    if not _HOST_NAME.fullmatch(text):
        _fail(
            f"expected a host name such as 'www.youtube.com' (no scheme, port or path), "
            f"got {_show(value)}"
        )
    return text


def _unique_tags(tags: list[str]) -> list[str]:
    repeated = sorted({tag for tag in tags if tags.count(tag) > 1})
    if repeated:
        _fail(f"tag '{repeated[0]}' is listed more than once")
    return tags


_MATCHER_FORMS = "a text, {regex: PATTERN} or a list of them"


def _matchers(value: object) -> tuple[Matcher, ...]:
    """A rule or filter field: ``webinar``, ``{regex: ...}``, or a list of those (any)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        _fail(f"the list is empty; expected {_MATCHER_FORMS}")
    return tuple(
        _matcher(item, f"item {number}: " if isinstance(value, list) else "")
        for number, item in enumerate(items, 1)
    )


def _matcher(item: object, where: str) -> Matcher:
    try:
        if isinstance(item, str):
            return plain_matcher(item)
        if isinstance(item, dict):
            pattern = item.get("regex")
            others = sorted(set(item) - {"regex"})
            if others:
                close = difflib.get_close_matches(others[0], ["regex"], n=1)
                hint = "; did you mean 'regex'?" if close else ""
                _fail(f"{where}unknown key '{others[0]}': write {{regex: PATTERN}}{hint}")
            if not isinstance(pattern, str):
                _fail(f"{where}expected a regular expression as text, got {_show(pattern)}")
            return regex_matcher(pattern)
    except ValueError as exc:
        _fail(f"{where}{exc}")
    _fail(f"{where}expected {_MATCHER_FORMS}, got {_show(item)}")


def _kind(value: object) -> Kind:
    for kind in KINDS:
        if value == kind:
            return kind
    close = difflib.get_close_matches(value, KINDS, n=1) if isinstance(value, str) else []
    hint = f"; did you mean '{close[0]}'?" if close else ""
    _fail(f"expected one of {', '.join(KINDS)}, got {_show(value)}{hint}")


def _split_url(value: object) -> tuple[str, SplitResult]:
    text = _text(value)
    if any(char.isspace() or ord(char) < 32 for char in text):
        _fail(f"a URL must not contain spaces, got {_show(text)}")
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        _fail(f"not a valid URL: {_show(text)}")
    if parts.scheme.lower() not in {"http", "https"}:
        bare = not parts.scheme and "." in text.split("/")[0]
        hint = f"; did you mean 'https://{text}'?" if bare else ""
        _fail(f"expected an http:// or https:// URL, got {_show(text)}{hint}")
    if not parts.hostname:
        _fail(f"the URL has no host name: {_show(text)}")
    return text, parts


def _feed_url(value: object) -> str:
    return _split_url(value)[0]


def _site_url(value: object) -> str:
    text, parts = _split_url(value)
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        _fail(f"the site URL is the address of a folder: remove the '?' or '#' part from '{text}'")
    return text if text.endswith("/") else text + "/"


def _language(value: object) -> str:
    text = _text(value)
    if not re.fullmatch(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*", text):
        _fail(f"expected a language code like en, ko or zh-CN, got {_show(text)}")
    return text


def _host(value: object) -> str:
    text = _text(value)
    if any(char.isspace() for char in text):
        _fail(f"expected a host name or address like 127.0.0.1, got {_show(text)}")
    return text


def _file_path(value: object) -> str:
    text = _text(value)
    if "\x00" in text:
        _fail("a path must not contain NUL characters")
    return text


def _duration(value: object) -> timedelta:
    if isinstance(value, int) and not isinstance(value, bool):
        _fail(f"a duration needs a unit: write '{value}m' (or s, h, d), not {value}")
    if not isinstance(value, str):
        _fail(f"expected a duration like {_DURATION_EXAMPLES}, got {_show(value)}")
    try:
        return parse_duration(value)
    except ValueError as exc:
        _fail(str(exc))


def _size(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        _fail(f"a size needs a unit: write '{value}B', '{value}KB' or '{value}MB', not {value}")
    if not isinstance(value, str):
        _fail(f"expected a size like {_SIZE_EXAMPLES}, got {_show(value)}")
    try:
        return parse_size(value)
    except ValueError as exc:
        _fail(str(exc))


# --------------------------------------------------------------------------- models (internal)

Text = Annotated[str, PlainValidator(_text)]
OptionalText = Annotated[str | None, PlainValidator(_text)]  # may be absent, never empty
Duration = Annotated[timedelta, PlainValidator(_duration)]
Size = Annotated[int, PlainValidator(_size)]
FilePath = Annotated[str, PlainValidator(_file_path)]
Tag = Annotated[str, PlainValidator(_tag)]
IframeHost = Annotated[str, PlainValidator(_iframe_host)]
Matchers = Annotated[tuple[Matcher, ...] | None, PlainValidator(_matchers)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _Site(_Model):
    title: Text
    url: Annotated[str, PlainValidator(_site_url)]
    description: OptionalText = None
    language: Annotated[str | None, PlainValidator(_language)] = None
    max_items: int = Field(default=100, gt=0)
    websub_hub: Annotated[str | None, PlainValidator(_feed_url)] = None
    keep_past_webinars: Duration = DEFAULT_KEEP_PAST_WEBINARS


class _Storage(_Model):
    database: FilePath = "syndicator.db"
    output_dir: FilePath = "public"


class _Server(_Model):
    host: Annotated[str, PlainValidator(_host)] = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)


class _Defaults(_Model):
    interval: Duration = DEFAULT_INTERVAL
    timeout: Duration = DEFAULT_TIMEOUT
    max_size: Size = DEFAULT_MAX_SIZE
    max_poll_interval: Duration = DEFAULT_MAX_POLL_INTERVAL
    max_entries: int = Field(default=DEFAULT_MAX_ENTRIES, gt=0)
    iframe_hosts: list[IframeHost] = Field(default_factory=lambda: list(DEFAULT_IFRAME_HOSTS))


class _Condition(_Model):
    """An include/exclude filter: every field given must match (README, "Content kinds")."""

    title: Matchers = None
    url: Matchers = None
    category: Matchers = None
    enclosure_type: Matchers = None

    @model_validator(mode="after")
    def _some_field(self) -> _Condition:
        if all(getattr(self, name) is None for name in FIELDS):
            _fail(f"give at least one of {', '.join(FIELDS)}")
        return self


class _Rule(_Condition):
    """A kind rule: entries matching every field given are of ``kind``."""

    kind: Annotated[Kind, PlainValidator(_kind)]


class _Feed(_Model):
    id: Annotated[str, PlainValidator(_feed_id)]
    url: Annotated[str, PlainValidator(_feed_url)]
    kind: Annotated[Kind, PlainValidator(_kind)] = "article"
    name: OptionalText = None
    interval: Duration = DEFAULT_INTERVAL  # these four fall back to defaults: / the top level
    timeout: Duration = DEFAULT_TIMEOUT
    max_size: Size = DEFAULT_MAX_SIZE
    max_poll_interval: Duration = DEFAULT_MAX_POLL_INTERVAL
    max_entries: int = Field(default=DEFAULT_MAX_ENTRIES, gt=0)
    iframe_hosts: list[IframeHost] = Field(default_factory=lambda: list(DEFAULT_IFRAME_HOSTS))
    allow_private_networks: bool = False
    tags: Annotated[list[Tag], AfterValidator(_unique_tags)] = Field(default_factory=list)
    enabled: bool = True
    priority: int = 0
    rules: list[_Rule] = Field(default_factory=list)
    include: list[_Condition] = Field(default_factory=list)
    exclude: list[_Condition] = Field(default_factory=list)
    max_stories: int | None = Field(default=None, gt=0)


class _Root(_Model):
    site: _Site
    storage: _Storage | None = None  # an empty block (every key commented out) is fine
    server: _Server | None = None
    defaults: _Defaults | None = None
    allow_private_networks: bool = False
    feeds: list[_Feed] = Field(min_length=1)
    rules: list[_Rule] = Field(default_factory=list)


_BLOCKS: dict[str, type[_Model]] = {
    "site": _Site,
    "storage": _Storage,
    "server": _Server,
    "defaults": _Defaults,
}
_HOMES: tuple[tuple[str, type[_Model]], ...] = (
    *_BLOCKS.items(),
    ("each feed", _Feed),
    ("the top level", _Root),
)

# --------------------------------------------------------------------------- reading YAML

Loc = tuple[str | int, ...]
_MAX_VALUES = 100_000  # guards against alias bombs ("billion laughs")


@dataclass(frozen=True, slots=True)
class _Where:
    """Turns a key path into a Problem at the right line."""

    file: str
    lines: dict[Loc, int]  # 1-based line of each key / list item; () is the top mapping

    def line(self, loc: Loc) -> int:
        while loc and loc not in self.lines:
            loc = loc[:-1]  # a missing key: the line of the mapping that lacks it
        return self.lines.get(loc, 1)

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(self.file, self.line(loc), _dotted(loc), message)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else part
    return out


def _read_text(path: Path, file_name: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([Problem(file_name, 1, "", f"cannot read the file: {reason}")]) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = "not UTF-8 text: save the file as UTF-8"
        raise ConfigError([Problem(file_name, line, "", message)]) from exc


_VERSION_DIRECTIVE = re.compile(r"^%YAML[ \t]+(\S+)", re.MULTILINE)


def _parse_yaml(text: str, file_name: str) -> tuple[Any, list[Problem]]:
    """Load ``text`` (round trip, YAML 1.2); also return a Problem for every duplicate key."""
    directive = _VERSION_DIRECTIVE.search(text)
    if directive and directive.group(1) != "1.2":
        # ruamel honours "%YAML 1.1", which would bring back `no` read as false.
        line = text.count("\n", 0, directive.start()) + 1
        message = f"only YAML 1.2 is read: remove the '%YAML {directive.group(1)}' line"
        raise ConfigError([Problem(file_name, line, "", message)])
    try:
        tree = YAML(typ="rt").compose(text)
        loader = YAML(typ="rt")
        loader.allow_duplicate_keys = True  # found and reported below, all of them
        data = loader.load(text)
    except MarkedYAMLError as exc:
        raise ConfigError([_syntax_problem(exc, file_name, text)]) from exc
    except (YAMLError, ValueError) as exc:  # e.g. "!!int abc": no position is known
        raise ConfigError([Problem(file_name, 1, "", f"invalid YAML: {exc}")]) from exc
    except RecursionError as exc:
        raise ConfigError([_too_deep(file_name)]) from exc
    return data, _duplicate_keys(tree, file_name) if tree is not None else []


def _too_deep(file_name: str) -> Problem:
    return Problem(file_name, 1, "", "invalid YAML: lists or mappings nested too deeply")


def _syntax_problem(exc: MarkedYAMLError, file_name: str, text: str) -> Problem:
    problem, context = str(exc.problem or ""), str(exc.context or "")
    opened = _never_closed(exc) or _bracket_open_at_end(exc, text)
    if opened is not None:  # at the opening quote or bracket: the parser stops at the end
        return Problem(file_name, opened[0], "", f"invalid YAML: {opened[1]}")
    mark = exc.problem_mark or exc.context_mark
    if "could not find expected ':'" in problem and exc.context_mark is not None:
        mark = exc.context_mark  # where the key began; the parser notices on a later line
    lines = text.splitlines()
    # The end of a file that ends with a newline is on the line after its last one.
    line = min(mark.line + 1, len(lines)) if mark is not None and lines else 1
    joiner = ", " if problem.startswith("but ") else "; "
    what = joiner.join(part for part in (context, problem) if part)
    column = f" (column {mark.column + 1})" if mark is not None and line == mark.line + 1 else ""
    hint = _syntax_hint(problem, lines[line - 1] if mark is not None and lines else "")
    return Problem(file_name, line, "", f"invalid YAML: {what}{column}{hint}")


def _never_closed(exc: MarkedYAMLError) -> tuple[int, str] | None:
    """(line, message) for a quote or a bracket that is never closed, else None."""
    mark, context = exc.context_mark, str(exc.context or "")
    problem = str(exc.problem or "")
    if mark is None:
        return None
    where = f"opened here (column {mark.column + 1}) is never closed"
    if context == "while scanning a quoted scalar" and "end of stream" in problem:
        return mark.line + 1, f"the quote {where}; add the closing quote"
    for kind, opening, closing in (("sequence", "[", "]"), ("mapping", "{", "}")):
        if context == f"while parsing a flow {kind}" and f"or '{closing}'" in problem:
            return mark.line + 1, f"the {opening} {where}; add '{closing}' at the end of it"
    return None


def _bracket_open_at_end(exc: MarkedYAMLError, text: str) -> tuple[int, str] | None:
    """(line, message) for a [ or { never closed (``tags: [a,`` at the end of the file, or
    followed by the next feed's lines), else None. The parser then names the place it
    expected a value, not the bracket: its events up to the error tell which is open."""
    ended = "<stream end>" in str(exc.problem or "")
    in_flow = str(exc.context or "").startswith("while parsing a flow")
    if not ended and not in_flow:
        return None
    opened: list[CollectionStartEvent] = []  # block and flow collections not ended yet
    try:
        for event in YAML(typ="rt").parse(text):
            if isinstance(event, CollectionStartEvent):
                opened.append(event)
            elif isinstance(event, CollectionEndEvent) and opened:
                opened.pop()
    except YAMLError:
        pass
    flow = [event for event in opened if event.flow_style]
    problem_line = exc.problem_mark.line if exc.problem_mark is not None else -1
    # A bracket left open on a line before the error: in feeds.yaml, lists and mappings
    # in brackets fit on one line (an error on the bracket's own line is another mistake).
    if not flow or not (ended or flow[-1].start_mark.line < problem_line):
        return None
    mark = flow[-1].start_mark
    opening, closing = ("[", "]") if isinstance(flow[-1], SequenceStartEvent) else ("{", "}")
    where = f"opened here (column {mark.column + 1}) is never closed"
    return mark.line + 1, f"the {opening} {where}; add '{closing}' at the end of it"


def _syntax_hint(problem: str, line_text: str) -> str:
    if "'\\t'" in problem:
        return "; indent with spaces, not tabs"
    if "<block" in problem:
        return "; check the indentation of this line and the ones above"
    if "could not find expected ':'" in problem:
        return "; a key needs ': ' and its value after it"
    _, colon, value = line_text.strip().lstrip("- ").partition(": ")
    if "mapping values are not allowed" in problem and colon and ": " in value:
        quoted = value.strip().replace('"', '\\"')
        return f'; for ": " inside a value, put it in quotes: "{quoted}"'
    return ""


def _duplicate_keys(root: Node, file_name: str) -> list[Problem]:
    """Every repeated key of every mapping, at the later occurrence (ruamel stops at the first)."""
    problems: list[Problem] = []
    done: set[int] = set()
    todo: list[tuple[Node, Loc]] = [(root, ())]
    while todo:
        node, loc = todo.pop()
        if id(node) in done:  # an anchor used again through an alias
            continue
        done.add(id(node))
        if isinstance(node, SequenceNode):
            todo.extend((item, (*loc, index)) for index, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            first_lines: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    continue
                key, line = str(key_node.value), key_node.start_mark.line + 1
                if key in first_lines:
                    message = f"duplicate key; first set on line {first_lines[key]}"
                    problems.append(Problem(file_name, line, _dotted((*loc, key)), message))
                else:
                    first_lines[key] = line
                todo.append((value_node, (*loc, key)))
    return problems


class _Flattener:
    """Copies the loaded tree to plain dict/list/str/int/float/bool/None values and notes the
    1-based line of every key and list item."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.lines: dict[Loc, int] = {}
        self.count = 0

    def run(self, value: Any, loc: Loc) -> Any:
        self.count += 1
        if self.count > _MAX_VALUES:
            message = f"too many values (more than {_MAX_VALUES}; aliases expanding?)"
            raise ConfigError([Problem(self.file_name, 1, "", message)])
        if isinstance(value, dict):
            return self._mapping(value, loc)
        if isinstance(value, list):
            return self._sequence(value, loc)
        return _plain_scalar(value)

    def _mapping(self, mapping: dict[Any, Any], loc: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in mapping.items():
            name = _key_text(key)
            self._note((*loc, name), _key_line(mapping, key))
            out[name] = self.run(value, (*loc, name))
        return out

    def _sequence(self, sequence: list[Any], loc: Loc) -> list[Any]:
        out: list[Any] = []
        for index, value in enumerate(sequence):
            self._note((*loc, index), _item_line(sequence, index))
            out.append(self.run(value, (*loc, index)))
        return out

    def _note(self, loc: Loc, line: int | None) -> None:
        if line is not None:  # None e.g. for a key merged in with "<<": its mapping's line is used
            self.lines[loc] = line


def _key_line(mapping: Any, key: Any) -> int | None:
    """1-based line ruamel recorded for ``key`` (its ``lc`` lines are 0-based)."""
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _item_line(sequence: Any, index: int) -> int | None:
    try:
        return int(sequence.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _key_text(key: Any) -> str:
    if isinstance(key, bool | ScalarBoolean):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _plain_scalar(value: Any) -> Any:
    if isinstance(value, ScalarBoolean):  # an int subclass, for anchored booleans
        return bool(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):  # HexInt, ScalarInt, ...
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):  # LiteralScalarString, ...
        return str(value)
    return value  # dates, tagged values, sets: the validators say "expected ..., got ..."


def _top_line(data: Any) -> int:
    try:
        return int(data.lc.line) + 1
    except (AttributeError, TypeError):
        return 1


# --------------------------------------------------------------------------- validation


def _check(text: str, file_name: str, config_path: Path) -> Config:
    data, problems = _parse_yaml(text, file_name)
    if not isinstance(data, dict):
        problems.append(Problem(file_name, _top_line(data), "", _top_level_message(data)))
        raise ConfigError(_in_order(problems))
    flattener = _Flattener(file_name)
    try:
        plain = flattener.run(data, ())
    except RecursionError as exc:
        raise ConfigError([_too_deep(file_name)]) from exc
    where = _Where(file_name, {(): _top_line(data), **flattener.lines})
    problems += _duplicate_ids(plain, where)
    try:
        root = _Root.model_validate(plain)
    except ValidationError as exc:
        problems += [where.problem(err["loc"], _message(err)) for err in exc.errors()]
        raise ConfigError(_in_order(problems)) from None
    problems += _duplicate_urls(root, where)
    if problems:
        raise ConfigError(_in_order(problems))
    return _build(root, where, config_path)


def _in_order(problems: list[Problem]) -> list[Problem]:
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.line, p.path, p.message))


def _top_level_message(data: Any) -> str:
    needs = "it needs at least site: and feeds: (see the shipped feeds.yaml)"
    if data is None:
        return f"the file is empty; {needs}"
    return f"expected a mapping at the top level, got {_show(data)}; {needs}"


def _duplicate_ids(plain: dict[str, Any], where: _Where) -> list[Problem]:
    feeds = plain.get("feeds")
    if not isinstance(feeds, list):
        return []
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for index, feed in enumerate(feeds):
        feed_id = feed.get("id") if isinstance(feed, dict) else None
        if not isinstance(feed_id, str):
            continue
        if feed_id in first:
            earlier = first[feed_id]
            line = where.line(("feeds", earlier, "id"))
            message = f"duplicate id '{feed_id}'; feeds[{earlier}] on line {line} has it already"
            problems.append(where.problem(("feeds", index, "id"), message))
        else:
            first[feed_id] = index
    return problems


def _duplicate_urls(root: _Root, where: _Where) -> list[Problem]:
    """Two feeds at one partner URL (compared as links are: http/https, ``www.``, tracking
    parameters): polled twice, each story credited to itself. Allowed only when both have
    include:/exclude: filters, which split one partner feed into several (by kind, say)."""
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for index, feed in enumerate(root.feeds):
        address = canonical_url(feed.url) or feed.url
        earlier = first.setdefault(address, index)
        if earlier == index or (_filtered(root.feeds[earlier]) and _filtered(feed)):
            continue
        line = where.line(("feeds", earlier, "url"))
        message = (
            f"the same feed as '{root.feeds[earlier].id}' (line {line}): it would be polled "
            "twice and credit itself; remove one, or give both include:/exclude: filters to "
            "split the feed between them"
        )
        problems.append(where.problem(("feeds", index, "url"), message))
    return problems


def _filtered(feed: _Feed) -> bool:
    return bool(feed.include or feed.exclude)


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "model_type": "a mapping (key: value lines)",
    "dict_type": "a mapping (key: value lines)",
}
_BOUNDS = {
    "greater_than": ("more than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def _message(err: ErrorDetails) -> str:
    """pydantic's error -> a short sentence for the operator."""
    kind, value, loc = err["type"], err["input"], err["loc"]
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        return _unknown_key_message(loc)
    if kind == "too_short":
        return "the list is empty; add at least one feed"
    if kind in _BOUNDS:
        words, bound = _BOUNDS[kind]
        return f"must be {words} {err.get('ctx', {}).get(bound)}, got {_show(value)}"
    if kind == "list_type" and isinstance(value, str):
        return f"expected a list like [{value}], got {_show(value)}"
    if kind == "model_type" and len(loc) == 2 and loc[0] == "feeds":
        return f"expected a feed (a mapping with id: and url:), got {_show(value)}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_show(value)}"
    return err["msg"]  # our own validators' sentences ("config" errors), or pydantic's


def _model_at(loc: Loc) -> type[_Model] | None:
    if not loc:
        return _Root
    if len(loc) == 1 and isinstance(loc[0], str):
        return _BLOCKS.get(loc[0])
    if len(loc) == 2 and loc[0] == "feeds" and isinstance(loc[1], int):
        return _Feed
    if len(loc) >= 2 and isinstance(loc[-1], int) and loc[-2] in _CONDITION_LISTS:
        return _CONDITION_LISTS[str(loc[-2])]
    return None


_CONDITION_LISTS: dict[str, type[_Model]] = {
    "rules": _Rule,
    "include": _Condition,
    "exclude": _Condition,
}


def _unknown_key_message(loc: Loc) -> str:
    key, model = str(loc[-1]), _model_at(loc[:-1])
    allowed = list(model.model_fields) if model else []
    if model in (_Rule, _Condition):
        return _condition_key_message(key, model, allowed)
    # A key that exists elsewhere is misplaced, not misspelt (max_items vs max_entries).
    homes = [name for name, home in _HOMES if home is not model and key in home.model_fields]
    if homes:
        return f"unknown key here; '{key}' belongs in {' or '.join(homes)}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; expected one of: {', '.join(allowed)}"


def _condition_key_message(key: str, model: type[_Model], allowed: list[str]) -> str:
    if key == "kind" and model is _Condition:
        return "unknown key: a filter keeps or drops entries and has no kind (see rules:)"
    close = _CONDITION_SYNONYMS.get(key) or next(
        iter(difflib.get_close_matches(key, allowed, n=1)), None
    )
    hint = f"did you mean '{close}'? " if close else ""
    what = "a rule" if model is _Rule else "a filter"
    return f"unknown key; {hint}({what} has {', '.join(allowed)})"


_CONDITION_SYNONYMS = {
    "link": "url",
    "categories": "category",
    "tag": "category",
    "tags": "category",
    "enclosure": "enclosure_type",
    "enclosures": "enclosure_type",
    "type": "enclosure_type",
    "mime_type": "enclosure_type",
}


# --------------------------------------------------------------------------- building the result


def _build(root: _Root, where: _Where, config_path: Path) -> Config:
    base = config_path.parent
    storage = root.storage or _Storage()
    server = root.server or _Server()
    given_defaults = root.defaults or _Defaults()
    defaults = FeedDefaults(
        given_defaults.interval,
        given_defaults.timeout,
        given_defaults.max_size,
        given_defaults.max_poll_interval,
        given_defaults.max_entries,
        frozenset(given_defaults.iframe_hosts),
    )
    site = root.site
    global_rules = _rules(root.rules, ("rules",), where)
    return Config(
        path=config_path,
        site=SiteConfig(
            site.title,
            site.url,
            site.description,
            site.language,
            site.max_items,
            websub_hub=site.websub_hub,
            keep_past_webinars=site.keep_past_webinars,
        ),
        storage=StorageConfig(
            database=(base / storage.database).resolve(),
            output_dir=(base / storage.output_dir).resolve(),
        ),
        server=ServerConfig(server.host, server.port),
        feeds=tuple(
            _with_rules(
                _feed_config(feed, where.line(("feeds", index)), root, defaults),
                feed,
                ("feeds", index),
                where,
                global_rules,
            )
            for index, feed in enumerate(root.feeds)
        ),
        allow_private_networks=root.allow_private_networks,
        rules=global_rules,
        defaults=defaults,
    )


def _with_rules(
    config: FeedConfig, feed: _Feed, loc: Loc, where: _Where, global_rules: tuple[Rule, ...]
) -> FeedConfig:
    """``config`` with its kind rules (its own, then the global ones), filters and cap."""
    return replace(
        config,
        rules=_rules(feed.rules, (*loc, "rules"), where) + global_rules,
        filters=Filters(
            include=_conditions(feed.include, (*loc, "include"), where),
            exclude=_conditions(feed.exclude, (*loc, "exclude"), where),
        ),
        max_stories=feed.max_stories,
    )


def _conditions(models: list[_Condition], loc: Loc, where: _Where) -> tuple[Condition, ...]:
    file = Path(where.file).name
    return tuple(
        Condition(
            tests=tuple(
                (name, matchers)
                for name in FIELDS
                if (matchers := getattr(model, name)) is not None
            ),
            line=where.line((*loc, index)),
            file=file,
        )
        for index, model in enumerate(models)
    )


def _rules(models: list[_Rule], loc: Loc, where: _Where) -> tuple[Rule, ...]:
    conditions = _conditions(list(models), loc, where)
    return tuple(Rule(m.kind, c) for m, c in zip(models, conditions, strict=True))


def _feed_config(feed: _Feed, line: int, root: _Root, defaults: FeedDefaults) -> FeedConfig:
    given = feed.model_fields_set  # keys written in this feed; the others are inherited
    written = {key: getattr(feed, key) for key in given}
    if "iframe_hosts" in written:
        written["iframe_hosts"] = frozenset(feed.iframe_hosts)
    return FeedConfig(
        id=feed.id,
        url=feed.url,
        line=line,
        kind=feed.kind,
        name=feed.name,
        **defaults.under(written),
        tags=tuple(feed.tags),
        enabled=feed.enabled,
        priority=feed.priority,
        allow_private_networks=(
            feed.allow_private_networks
            if "allow_private_networks" in given
            else root.allow_private_networks
        ),
    )
