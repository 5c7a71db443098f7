"""Which kind each entry is (article, whitepaper, webinar), and which entries a feed keeps.

Pure functions over plain data; feeds.yaml rules arrive compiled (``config.py`` builds the
``Rule`` and ``Condition`` values below) and travel to the parser worker processes inside
``PrepareJob``, so everything here pickles.

The kind of an entry comes from, in this order (README, "Content kinds"):

1. the feed's own ``rules:`` in feeds.yaml, then the top-level ``rules:``: the first rule
   whose every field matches decides;
2. built-in heuristics:
   - a webinar word in the title or a category ("webinar", "online event", "livestream",
     "register", ...) and a start time after the entry's publication date -> webinar;
   - structured event data from the partner (ev:, xCal, JSON-LD Event, the JSON Feed
     ``_event`` extension) with a start after the publication date -> webinar;
   - a PDF enclosure, a link to a PDF, or a "whitepaper" / "white paper" / "report"
     category -> whitepaper;
   The webinar tests come first: a webinar announcement often has a PDF agenda attached,
   and they need two signals each (a word and a date), the whitepaper test only one.
3. the feed's ``kind``.

Titles are not used for whitepapers on purpose: "Report: Seoul cuts emissions" is news
about a report, and news feeds are full of such titles. A category is the partner's own
label, so "report" there is taken at its word.

Matching a field: a plain text matches when it appears in the value, ignoring case, with
no letter or digit glued to either end for alphabetic scripts (``report`` does not match
``reported``; ``/webinars/`` matches inside a URL); in scripts without case (Korean,
Chinese, Japanese...) words are not separated the same way, so there it matches anywhere.
``{regex: ...}`` is a Python regular expression searched in the value, ignoring case
(``(?-i:...)`` makes a part case-sensitive).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from syndicator.model import Entry, Event, Kind

__all__ = [
    "FIELDS",
    "Condition",
    "Field",
    "Filters",
    "Matcher",
    "Rule",
    "classify",
    "plain_matcher",
    "regex_matcher",
]

Field = Literal["title", "url", "category", "enclosure_type"]
FIELDS: tuple[Field, ...] = ("title", "url", "category", "enclosure_type")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One value to look for in a field: a plain text or a regular expression."""

    text: str  # as the operator wrote it
    pattern: re.Pattern[str]
    is_regex: bool = False

    def matches(self, value: str) -> bool:
        return self.pattern.search(value) is not None

    def __str__(self) -> str:
        return f"regex {_quoted(self.text)}" if self.is_regex else _quoted(self.text)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def plain_matcher(text: str) -> Matcher:
    """``text`` as a case-insensitive word or phrase (see the module docstring)."""
    words = text.split()
    if not words:
        raise ValueError("must not be empty")
    body = r"\s+".join(re.escape(word) for word in words)
    start = r"(?<![^\W_])" if _is_cased_or_digit(words[0][0]) else ""
    end = r"(?![^\W_])" if _is_cased_or_digit(words[-1][-1]) else ""
    return Matcher(text, re.compile(start + body + end, re.IGNORECASE))


def _is_cased_or_digit(char: str) -> bool:
    # Letters with case (Latin, Greek, Cyrillic...) and digits get word boundaries; letters
    # of scripts without case (Hangul, Han, Kana, Arabic...) do not: see the module docstring.
    return unicodedata.category(char) in ("Lu", "Ll", "Lt", "Nd")


def regex_matcher(pattern: str) -> Matcher:
    """``pattern`` as a case-insensitive Python regular expression.

    Raises ValueError with an operator sentence when it does not compile.
    """
    if not pattern:
        raise ValueError("the regular expression is empty (it would match everything)")
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        message = f"invalid regular expression {_quoted(pattern)}: {error.msg}{where}"
        raise ValueError(message) from None
    return Matcher(pattern, compiled, is_regex=True)


def field_values(entry: Entry, field: Field) -> tuple[str, ...]:
    """The values of ``entry`` a rule on ``field`` looks at (any one may match)."""
    if field == "title":
        return (entry.title,)
    if field == "url":
        return (entry.link,) if entry.link else ()
    if field == "category":
        return entry.categories
    return tuple(enclosure.type for enclosure in entry.enclosures)


@dataclass(frozen=True, slots=True)
class Condition:
    """Tests on some fields, all of which must pass; each test passes when any of its
    matchers matches any value of its field. ``line`` is where it is in feeds.yaml."""

    tests: tuple[tuple[Field, tuple[Matcher, ...]], ...]
    line: int
    file: str = "feeds.yaml"

    def match(self, entry: Entry) -> str | None:
        """What matched, e.g. ``title matches "webinar"``; None when the condition fails."""
        found: list[str] = []
        for field, matchers in self.tests:
            values = field_values(entry, field)
            hit = next((m for m in matchers for v in values if m.matches(v)), None)
            if hit is None:
                return None
            found.append(f"{field} matches {hit}")
        return " and ".join(found)

    @property
    def where(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass(frozen=True, slots=True)
class Rule:
    """feeds.yaml: entries matching ``condition`` are of ``kind``."""

    kind: Kind
    condition: Condition


@dataclass(frozen=True, slots=True)
class Filters:
    """feeds.yaml ``include:`` / ``exclude:`` of one feed."""

    include: tuple[Condition, ...] = ()
    exclude: tuple[Condition, ...] = ()

    def keep(self, entry: Entry) -> tuple[bool, str]:
        """Whether the feed keeps ``entry``, and why (exclude wins over include)."""
        for condition in self.exclude:
            matched = condition.match(entry)
            if matched is not None:
                return False, f"excluded by {condition.where}: {matched}"
        if not self.include:
            return True, "no include filter"
        for condition in self.include:
            matched = condition.match(entry)
            if matched is not None:
                return True, f"included by {condition.where}: {matched}"
        lines = ", ".join(str(c.line) for c in self.include)
        return False, f"matches no include filter ({self.include[0].file} line {lines})"

    def lines_excluding(self, entry: Entry) -> tuple[int, ...]:
        """The feeds.yaml lines that drop ``entry``; () when it is kept."""
        excluding = tuple(c.line for c in self.exclude if c.match(entry) is not None)
        if excluding:
            return excluding
        if self.include and all(c.match(entry) is None for c in self.include):
            return tuple(c.line for c in self.include)
        return ()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)


# --- heuristics -----------------------------------------------------------------------

# Whole words in cased scripts (with plurals), anywhere in the others.
_EVENT_WORDS = re.compile(
    r"(?<![^\W_])(?:webinars?|web\s+seminars?|online\s+events?|virtual\s+events?"
    r"|live\s*streams?|livestreaming|register|registration|вебинары?)(?![^\W_])"
    r"|웨비나|网络研讨会|網路研討會|ウェビナー",
    re.IGNORECASE,
)
_WHITEPAPER_CATEGORY = re.compile(
    r"(?<![^\W_])(?:white\s*papers?|reports?)(?![^\W_])|백서|보고서|白皮书|白皮書|报告|報告",
    re.IGNORECASE,
)

# Cheap first looks, on lower-cased text (about 4 times faster than the patterns above,
# which every entry of every feed would otherwise pay): no hint, no match.
_EVENT_HINT = re.compile(
    r"webinar|seminar|online|virtual|stream|regist|вебинар|웨비나|研讨|研討|ウェビナー"
)
_WHITEPAPER_HINT = re.compile(r"paper|report|백서|보고서|白皮|报告|報告")


def _event_word(entry: Entry) -> str | None:
    # One search over title and categories (joined by a line break, which no word spans).
    words = "\n".join((entry.title, *entry.categories)) if entry.categories else entry.title
    if not _EVENT_HINT.search(words.lower()):
        return None
    found = _EVENT_WORDS.search(words)
    return found.group(0) if found else None


def _is_pdf(url: str | None) -> bool:
    if not url or ".pdf" not in url.lower():  # most links: no need to split them
        return False
    try:
        return urlsplit(url).path.lower().endswith(".pdf")
    except ValueError:
        return False


def _whitepaper_reason(entry: Entry) -> str | None:
    for enclosure in entry.enclosures:
        if enclosure.type.lower().startswith("application/pdf") or _is_pdf(enclosure.url):
            return "heuristic: PDF enclosure"
    if _is_pdf(entry.link):
        return "heuristic: the link is a PDF"
    for category in entry.categories:
        if not _WHITEPAPER_HINT.search(category.lower()):
            continue
        found = _WHITEPAPER_CATEGORY.search(category)
        if found:
            return f'heuristic: category "{category}" (a {found.group(0).lower()})'
    return None


def _upcoming(event: Event | None, entry: Entry) -> bool:
    return event is not None and event.start > entry.published


def classify(
    entry: Entry,
    rules: Sequence[Rule],
    feed_kind: Kind,
    event_of: Callable[[], Event | None],
) -> tuple[Kind, str]:
    """The kind of ``entry`` and exactly what decided it.

    ``rules`` are the feed's rules followed by the global ones. ``event_of`` returns the
    entry's start time (structured data, else found in its text); it is called only when a
    heuristic needs it, as the text search is the costly part.
    """
    for rule in rules:
        matched = rule.condition.match(entry)
        if matched is not None:
            return rule.kind, f"{rule.condition.where}: {matched}"
    word = _event_word(entry)
    if word is not None and _upcoming(event_of(), entry):
        return "webinar", f'heuristic: "{word.lower()}" and a start date in the future'
    if entry.event is not None and _upcoming(entry.event, entry):
        source = entry.event.source
        return "webinar", f"heuristic: event data ({source}) with a start in the future"
    whitepaper = _whitepaper_reason(entry)
    if whitepaper is not None:
        return "whitepaper", whitepaper
    return feed_kind, "feed kind"
