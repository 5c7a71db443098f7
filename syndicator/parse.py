"""Partner feed bytes -> ParsedFeed: RSS, RDF and Atom through feedparser, JSON Feed by hand.

``parse_feed`` is the only entry point. It returns plain dataclasses (``syndicator.model``)
and raises ``ParseError`` with an operator sentence when the body is not a usable feed.

What feedparser gets wrong and what we do about it (STACK-NOTES.md; each has a test in
tests/test_parse.py):

- it cannot read JSON Feed: ``_parse_json_feed`` does;
- given str/bytes it may open a file or URL: it only ever gets ``io.BytesIO(body)``;
- its sanitizer and relative-URI rewriting are slow and incomplete: both off, normalize
  sanitizes with nh3 and resolves against ``ParsedEntry.base``;
- entity expansion is unbounded: a DOCTYPE declaring entities is refused before parsing;
- some character references (``&#xD800;``) raise instead of setting bozo: every call wrapped;
- it raises on character references to surrogates or past U+10FFFF: those are replaced
  by ``&#xFFFD;`` first, so the rest of the feed is still read;
- its time and memory grow with the number of elements (about 25 µs and 1 KB each: 10 MB
  of ``<item/>`` took 20 s, 10 MB of nested tags 96 s and 1.1 GB): entries past
  ``max_entries`` are cut from the bytes before parsing, and so are entries past a budget of
  ``MAX_XML_TAGS`` tags (tests/test_parse.py, tests/test_hostile.py);
- a guid without ``isPermaLink="false"`` is resolved against the base URL in ``entry.id``:
  we pass no Content-Location, and take ``id`` out of feedparser's set of elements that may
  hold relative URIs, so an ``xml:base`` in the document does not apply either:
  ``entry.id`` is the raw guid (or Atom id) as the partner wrote it;
- without a document URL it restored the base after an element with ``xml:base`` only
  when the outer base was not empty, so one entry's base leaked into the entries after it:
  ``_end_element_restoring_base`` restores an empty one too.
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import html
import io
import json
import re
import time
import xml.sax
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from syndicator import feedparser_speed
from syndicator.events import event_from_iso, event_from_json_feed, zone_of
from syndicator.model import Enclosure, Event, ParsedEntry, ParsedFeed
from syndicator.normalize import plain_title

__all__ = ["CUT_MARK", "ParseError", "parse_feed"]

feedparser_speed.install()  # same results, ~20% faster (see feedparser_speed.py)
# Identity uses the raw guid: feedparser would resolve a guid without isPermaLink="false"
# (and an Atom id) against xml:base (tests/test_parse.py::test_guid_ignores_xml_base).
_Mixin = feedparser.mixin._FeedParserMixin
_Mixin.can_be_relative_uri = frozenset(_Mixin.can_be_relative_uri) - {"id"}
_end_element = _Mixin.unknown_endtag


def _end_element_restoring_base(self: Any, tag: str) -> None:
    """feedparser restores the base URL after an element with ``xml:base`` only when the
    outer base is not empty, and we give it none (see above): one entry's ``xml:base`` then
    applied to every entry after it (tests/test_parse.py)."""
    _end_element(self, tag)
    if self.basestack and not self.basestack[-1]:
        self.baseuri = self.basestack[-1]


_Mixin.unknown_endtag = _end_element_restoring_base


class ParseError(Exception):
    """The body is not a usable feed. ``str()`` is an operator sentence without the feed id."""


_BOM = b"\xef\xbb\xbf"
_JSON_TYPES = ("application/feed+json", "application/json")
_HTML_TYPES = ("text/html",)
_HTML_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml"})

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
# Comments may precede <html>. The comment body cannot contain "-->", so each comment has
# one way to match: a lazy ".*?" here backtracks exponentially (test_many_comments_...).
_HTML_START = re.compile(
    rb"^\s*(?:<!--(?:[^-]|-(?!->))*-->\s*)*<(?:!DOCTYPE\s+html|html[\s>])", re.I
)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.I | re.S)
_SURROGATE = re.compile("[\ud800-\udfff]")

# What we accept of one partner feed (README, SECURITY). Past these, fields are cut and
# entries dropped, with a warning in the feed's status; nothing fails.
MAX_TITLE_CHARS = 4 * 1024  # as sent; normalize shortens the plain-text title further
MAX_HTML_CHARS = 256 * 1024  # summary, content
# What a summary or content cut to MAX_HTML_CHARS ends with.
CUT_MARK = (
    " …<p><em>(This text is too long to carry in full and is cut here; the whole article "
    "is on the partner's site.)</em></p>"
)
MAX_URL_CHARS = 4 * 1024  # longer links and enclosure URLs are dropped, never cut
MAX_GUID_CHARS = 1024  # longer guids are replaced by their sha256 (stable, distinct)
MAX_NAMES = 50  # authors, categories
MAX_NAME_CHARS = 256
MAX_ENCLOSURES = 20
# Cost limits of the parsers: feedparser spends ~25 us and ~1 KB per element, json ~100 B
# per object. Counted on the bytes, before parsing (``<`` and ``{`` overcount, never under).
MAX_XML_TAGS = 250_000
MAX_JSON_OBJECTS = 500_000

_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));")
# Every reference _replace_bad_char_refs may replace matches this (and some good ones do):
# at most 2 digits (controls), 4 hex digits starting with D or F (surrogates, U+FFFE),
# 5 or more digits. Searched first, so feeds full of &#8217; pay one C-speed scan.
_SUSPECT_CHAR_REF = re.compile(
    rb"&#(?:[xX]0*(?:[0-9A-Fa-f]{1,2}|[DdFf][0-9A-Fa-f]{3}|[0-9A-Fa-f]{5,})|0*(?:[0-9]{1,2}|[0-9]{5,}));"
)
# An entry's start tag, any namespace prefix: <item>, <item/>, <rss:item ...>, <entry>.
# Not <items> (RSS 1.0's list of links) nor <entryx>.
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)(?=[\s/>])")
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/(\d+(?:\.\d+)?)/?$")


def parse_feed(
    body: bytes, *, content_type: str | None, url: str, max_entries: int | None = None
) -> ParsedFeed:
    """Parse a partner feed body.

    ``content_type`` is the response's Content-Type header (charset included) when known;
    ``url`` is the feed URL, against which a relative xml:base is resolved. At most
    ``max_entries`` entries are kept (the first ones: feeds list newest first), and every
    field is cut to the limits below; both are reported in ``ParsedFeed.warning``.
    """
    stripped = body.lstrip(_BOM + b" \t\r\n")
    if not stripped:
        raise ParseError("empty response body")
    notes: list[str] = []
    if _looks_like_json(stripped, content_type):
        parsed = _parse_json_feed(body, url, max_entries, notes)
    else:
        if _declares_entities(body):
            raise ParseError(
                "refused: the feed declares XML entities in its DOCTYPE (entity expansion attack?)"
            )
        body = _replace_bad_char_refs(body, notes)
        body = _limit_xml_entries(body, max_entries, notes)
        parsed = _parse_with_feedparser(body, content_type, url)
    return _within_limits(parsed, url, notes)


# --- limits ---------------------------------------------------------------------------


def _is_ascii_compatible(body: bytes) -> bool:
    head = body[:4]
    return b"\x00" not in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))


def _replace_bad_char_refs(body: bytes, notes: list[str]) -> bytes:
    """Replace character references XML forbids (``&#xD800;``, ``&#0;``, past U+10FFFF).

    feedparser raises on some (feedparser #591, #599) and drops to its slow loose parser on
    the others; ``&#xFFFD;`` keeps the rest of the feed readable. Only for ASCII-compatible
    encodings: a UTF-16 feed with such a reference still fails with a ParseError.
    """
    if not _SUSPECT_CHAR_REF.search(body) or not _is_ascii_compatible(body):
        return body
    replaced = 0

    def fix(match: re.Match[bytes]) -> bytes:
        nonlocal replaced
        hex_digits, decimal = match.group(1), match.group(2)
        digits = (hex_digits or decimal).lstrip(b"0") or b"0"
        code = int(digits, 16 if hex_digits else 10) if len(digits) <= 8 else -1
        if _is_xml_char(code):
            return match.group(0)
        replaced += 1
        return b"&#xFFFD;"

    body = _CHAR_REF.sub(fix, body)
    if replaced:
        notes.append(
            f"replaced {replaced} character reference(s) that XML forbids "
            f"(such as &#xD800;) with U+FFFD"
        )
    return body


def _is_xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _limit_xml_entries(body: bytes, max_entries: int | None, notes: list[str]) -> bytes:
    """Cut entries out of the bytes before feedparser sees them.

    Keeps the first ``max_entries`` entries, fewer when the kept part would have more than
    ``MAX_XML_TAGS`` tags. The cut removes whole entries, from the start of the first one
    dropped to the end of the last one, so the document stays well-formed when the entries
    are siblings, as in every RSS, RDF and Atom feed.
    """
    total_tags = body.count(b"<")
    if max_entries is None and total_tags <= MAX_XML_TAGS:
        return body
    limit = max_entries if max_entries is not None else total_tags
    starts: list[int] = []  # of the first limit + 1 entries
    count = 0
    last_start = -1
    for match in _ENTRY_START.finditer(body):
        if count <= limit:
            starts.append(match.start())
        count += 1
        last_start = match.start()
    if count == 0:
        if total_tags > MAX_XML_TAGS:
            raise _too_many_tags()
        return body
    tail = _end_of_entry(body, last_start)
    keep = min(count, limit)
    if total_tags > MAX_XML_TAGS:
        keep = _entries_within_tag_budget(body, starts, keep, tail)
    if keep == count:
        return body
    if keep < min(count, limit):
        notes.append(
            f"the feed has {count} entries; kept the first {keep}: more would exceed "
            f"{MAX_XML_TAGS} tags, which costs too much time and memory to parse"
        )
    else:
        notes.append(_capped(count, keep))
    return body[: starts[keep]] + body[tail:]


def _end_of_entry(body: bytes, start: int) -> int:
    end = _ENTRY_END.search(body, start)
    if end is not None:
        return end.end()
    close = body.find(b">", start)  # a self-closing <item/>
    return close + 1 if close >= 0 else len(body)


def _entries_within_tag_budget(body: bytes, starts: list[int], keep: int, tail: int) -> int:
    """The most entries, at most ``keep``, whose document has at most MAX_XML_TAGS tags."""
    tail_tags = body.count(b"<", tail)

    def tags_with(entries: int) -> int:
        end = starts[entries] if entries < len(starts) else tail
        return body.count(b"<", 0, end) + tail_tags

    low, high = 0, keep  # tags_with(low) fits or low == 0
    while low < high:
        middle = (low + high + 1) // 2
        if tags_with(middle) <= MAX_XML_TAGS:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        raise _too_many_tags()
    return low


def _too_many_tags() -> ParseError:
    return ParseError(
        f"refused: the first entry alone (or the feed without entries) has more than "
        f"{MAX_XML_TAGS} tags, which costs too much time and memory to parse"
    )


def _capped(total: int, kept: int) -> str:
    return (
        f"the feed has {total} entries; kept the first {kept} "
        f"(raise max_entries in feeds.yaml to keep more)"
    )


def _within_limits(parsed: ParsedFeed, url: str, notes: list[str]) -> ParsedFeed:
    """``parsed`` with every field within the limits above; what was cut goes in ``warning``."""
    cuts: dict[str, int] = {}
    entries = tuple(_entry_within_limits(entry, cuts) for entry in parsed.entries)
    if cuts:
        notes.append(
            "cut oversized fields: "
            + ", ".join(f"{count} {field}" for field, count in sorted(cuts.items()))
        )
    warning = "; ".join(filter(None, [parsed.warning, *notes])) or None
    return replace(
        parsed,
        title=_cut(parsed.title, MAX_TITLE_CHARS, "feed title", cuts),
        link=_site_link(parsed.link, url),
        language=parsed.language if parsed.language and len(parsed.language) <= 35 else None,
        entries=entries,
        warning=warning,
    )


def _site_link(link: str | None, url: str) -> str | None:
    """The partner's site: an absolute http(s) URL, else None (it is published as a link)."""
    if not link or len(link) > MAX_URL_CHARS:
        return None
    try:
        absolute = urljoin(url, link.strip())
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") else None


def _entry_within_limits(entry: ParsedEntry, cuts: dict[str, int]) -> ParsedEntry:
    guid = entry.guid
    if guid is not None and len(guid) > MAX_GUID_CHARS:
        _note(cuts, "guids (replaced by their sha256)")
        guid = "sha256:" + hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()
    enclosures = tuple(e for e in entry.enclosures if len(e.url) <= MAX_URL_CHARS)
    if len(enclosures) > MAX_ENCLOSURES:
        _note(cuts, "enclosure lists")
        enclosures = enclosures[:MAX_ENCLOSURES]
    return replace(
        entry,
        guid=guid,
        link=_url_within_limit(entry.link, "links", cuts),
        title=_cut(entry.title, MAX_TITLE_CHARS, "titles", cuts),
        summary=_cut_html(entry.summary, "summaries", cuts),
        content=_cut_html(entry.content, "contents", cuts),
        authors=_names_within_limits(entry.authors, "author lists", cuts),
        categories=_names_within_limits(entry.categories, "category lists", cuts),
        enclosures=tuple(replace(e, type=e.type[:MAX_NAME_CHARS]) for e in enclosures),
        thumbnail=_url_within_limit(entry.thumbnail, "thumbnails", cuts),
        language=entry.language if entry.language and len(entry.language) <= 35 else None,
        base=_url_within_limit(entry.base, "xml:base values", cuts),
    )


def _cut(text: str, limit: int, what: str, cuts: dict[str, int]) -> str:
    if len(text) <= limit:
        return text
    _note(cuts, what)
    return text[:limit]


def _cut_html(markup: str, what: str, cuts: dict[str, int]) -> str:
    """``markup`` cut to ``MAX_HTML_CHARS`` between words, outside any tag, and saying so
    (members otherwise read an article that stops mid-word); the sanitizer closes what the
    cut left open."""
    if len(markup) <= MAX_HTML_CHARS:
        return markup
    _note(cuts, what)
    head = markup[:MAX_HTML_CHARS]
    tag_start = head.rfind("<")
    if tag_start > head.rfind(">"):
        head = head[:tag_start]
    space = max(head.rfind(" "), head.rfind("\n"), head.rfind(">"))
    if space > len(head) - 1000:  # a word is never that long; else cut where it is
        head = head[: space + 1]
    return head.rstrip() + CUT_MARK


def _url_within_limit(url: str | None, what: str, cuts: dict[str, int]) -> str | None:
    if url is None or len(url) <= MAX_URL_CHARS:
        return url
    _note(cuts, f"{what} (dropped)")
    return None


def _names_within_limits(
    names: tuple[str, ...], what: str, cuts: dict[str, int]
) -> tuple[str, ...]:
    if len(names) <= MAX_NAMES and all(len(name) <= MAX_NAME_CHARS for name in names):
        return names
    _note(cuts, what)
    return tuple(name[:MAX_NAME_CHARS] for name in names[:MAX_NAMES])


def _note(cuts: dict[str, int], what: str) -> None:
    cuts[what] = cuts.get(what, 0) + 1


# --- detection ------------------------------------------------------------------------


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _looks_like_json(stripped: bytes, content_type: str | None) -> bool:
    if stripped.startswith(b"{"):
        return True
    # A JSON content type on a body that is obviously markup: believe the body.
    return _media_type(content_type) in _JSON_TYPES and not stripped.startswith(b"<")


def _declares_entities(body: bytes) -> bool:
    """True when a DOCTYPE is followed by an ``<!ENTITY`` declaration.

    Deliberately conservative: any ``<!ENTITY`` after a DOCTYPE counts, so tricks that hide
    the internal subset from a regex (comments, quoted ``>``) cannot slip through. UTF-16/32
    bodies are checked with their NUL bytes removed, which leaves the ASCII markup intact.
    """
    if b"\x00" in body[:4]:
        body = body.replace(b"\x00", b"")
    doctype = _DOCTYPE.search(body)
    return doctype is not None and _ENTITY.search(body, doctype.end()) is not None


def _html_page_error(body: bytes, content_type: str | None) -> ParseError | None:
    media_type = _media_type(content_type)
    head = body[:8192].lstrip(_BOM)
    if media_type not in _HTML_TYPES and not _HTML_START.match(head):
        return None
    described = content_type.strip() if content_type else "no Content-Type"
    title = _HTML_TITLE.search(head)
    titled = ""
    if title:
        text = " ".join(title.group(1).decode("utf-8", "replace").split())
        if text:
            titled = f' titled "{html.unescape(text)[:80]}"'
    return ParseError(f"not a feed: the server sent an HTML page{titled} ({described})")


# --- feedparser: RSS, RDF, Atom -------------------------------------------------------


def _parse_with_feedparser(body: bytes, content_type: str | None, url: str) -> ParsedFeed:
    # No Content-Location header on purpose: with one, feedparser resolves guids
    # against it and entry.id stops being the raw guid (tests/test_parse.py).
    headers = {"content-type": content_type} if content_type else {}
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except UnicodeError as exc:  # e.g. &#xD800; (feedparser #591, #599)
        raise ParseError(
            "the feed contains a character reference the parser cannot handle "
            "(a lone UTF-16 surrogate such as &#xD800;); ask the partner to fix the feed"
        ) from exc
    except Exception as exc:  # feedparser bugs must not take the whole pass down
        raise ParseError(f"the feed parser failed: {type(exc).__name__}: {exc}") from exc

    feed = _get(result, "feed", {})
    entries = _dicts(_get(result, "entries"))
    version = _get(result, "version") or ""
    # Plain text, as entry titles are: it names the partner in every credit.
    feed_title = plain_title(
        _text(_get(feed, "title")), _get(_get(feed, "title_detail"), "type") in _HTML_CONTENT_TYPES
    )
    bozo_exception = _get(result, "bozo_exception") if _get(result, "bozo") else None

    if not entries and not feed_title:
        html_error = _html_page_error(body, content_type)
        if html_error is not None:
            raise html_error
        if bozo_exception is not None:
            raise ParseError(f"not a feed: {_describe_bozo(bozo_exception)}")
        if not version:
            raise ParseError("not a feed: the document is XML but not RSS, Atom or RDF")

    feed_language = _text(_get(feed, "language")) or None
    inherited_authors = _names(_get(feed, "authors")) if version.startswith("atom") else ()
    xcal = _xcal_prefixes(_get(result, "namespaces"))
    broken = bozo_exception is not None
    # What the lenient parser read of an entry never closed (cut in the middle: a title and
    # half a link) would replace the stored entry, or make a story with a broken link.
    left_out = broken and bool(entries) and _cut_inside_an_entry(body)
    cut_off = left_out or (broken and _cut_off(body))
    parsed_entries = tuple(
        _map_entry(entry, url, feed_language, inherited_authors, xcal)
        for entry in (entries[:-1] if left_out else entries)
    )
    warning = None
    if bozo_exception is not None:
        warning = _bozo_warning(bozo_exception, cut_off=cut_off, left_out=left_out)
    return ParsedFeed(
        format=version or "unknown",
        title=feed_title,
        link=_text(_get(feed, "link")) or None,
        language=feed_language,
        entries=parsed_entries,
        warning=warning,
        ttl_minutes=_positive_int(_get(feed, "ttl")),
    )


_CLOSED_AT_END = re.compile(rb"(?:</[A-Za-z_][\w:.-]*\s*>|-->)\s*\Z")
_ENTRY_OPENS = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_ENTRY_CLOSES = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")


def _cut_off(body: bytes) -> bool:
    """Whether the document stops before its end (the last thing in it is no closing tag)."""
    return _CLOSED_AT_END.search(body[-512:]) is None


def _cut_inside_an_entry(body: bytes) -> bool:
    """Whether the last entry of a broken document was opened and never closed."""
    opens = [m.start() for m in _ENTRY_OPENS.finditer(body)]
    closes = [m.start() for m in _ENTRY_CLOSES.finditer(body)]
    return bool(opens) and (not closes or opens[-1] > closes[-1])


def _describe_bozo(exc: object) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return f"{exc.getMessage()} at line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
    return str(exc) or type(exc).__name__


def _bozo_warning(exc: object, *, cut_off: bool = False, left_out: bool = False) -> str:
    """What a feed that was read despite ``exc`` warns its operator of: ``cut_off``, the
    document stops before its end; ``left_out``, in the middle of an entry, left out."""
    if isinstance(exc, xml.sax.SAXParseException):
        if left_out:
            return (
                f"the feed is malformed or cut off ({_describe_bozo(exc)}): the last entry, "
                "cut in the middle, was left out, and entries after it are missing; tell "
                "the partner"
            )
        if exc.getMessage() == "undefined entity" and not cut_off:  # &eacute; in XML
            # feedparser's lenient parser knows HTML's entities: nothing is missing.
            return (
                f"the feed uses an entity XML does not define ({_describe_bozo(exc)}), such "
                "as &nbsp; or &eacute;: it was read anyway, but strict readers refuse it; "
                "tell the partner"
            )
        return (
            f"the feed is malformed or cut off ({_describe_bozo(exc)}): entries after that "
            "point are missing; tell the partner"
        )
    return _describe_bozo(exc)


def _map_entry(
    entry: dict[str, Any],
    feed_url: str,
    feed_language: str | None,
    inherited_authors: tuple[str, ...],
    xcal_prefixes: tuple[str, ...] = (),
) -> ParsedEntry:
    title_detail = _get(entry, "title_detail")
    summary_detail = _get(entry, "summary_detail")
    contents = _dicts(_get(entry, "content"))

    # feedparser copies content into `summary` when the feed has no summary of its own
    # (no summary_detail then): keep summary empty rather than duplicate the content.
    summary = ""
    if isinstance(summary_detail, dict):
        summary = _as_html(_text(_get(summary_detail, "value")), _get(summary_detail, "type"))

    content = ""
    html_content = next((c for c in contents if _get(c, "type") in _HTML_CONTENT_TYPES), None)
    if html_content is not None:
        content = _text(_get(html_content, "value"))
    elif contents:  # only plain-text content: keep it, escaped into HTML
        content = _as_html(_text(_get(contents[0], "value")), _get(contents[0], "type"))

    details = [*contents, summary_detail, title_detail]
    base = next((_text(_get(d, "base")) for d in details if _text(_get(d, "base"))), "")
    language = _text(_get(entry, "language")) or next(
        (_text(_get(d, "language")) for d in details if _text(_get(d, "language"))), ""
    )

    return ParsedEntry(
        guid=_text(_get(entry, "id")) or None,
        link=_entry_link(entry),
        title=_text(_get(entry, "title")),
        title_is_html=_get(title_detail, "type") in _HTML_CONTENT_TYPES,
        summary=summary,
        content=content,
        published=_entry_date(entry, "published"),
        updated=_entry_date(entry, "updated"),
        authors=_names(_get(entry, "authors")) or inherited_authors,
        categories=_unique(_text(_get(tag, "term")) for tag in _dicts(_get(entry, "tags"))),
        enclosures=_enclosures(entry),
        thumbnail=_thumbnail(entry),
        language=language or feed_language,
        base=_joined(feed_url, base) if base else None,
        event=_feed_event(entry, xcal_prefixes),
    )


# xCal in RSS (urn:ietf:params:xml:ns:xcal): feedparser does not know the namespace and
# keeps the document's own prefix, lower-cased: <xCal:dtstart> is entry["xcal_dtstart"].
# The RSS 1.0 Event module it knows: <ev:startdate> (any prefix) is entry["ev_startdate"].
_XCAL_NAMESPACE = "urn:ietf:params:xml:ns:xcal"


def _xcal_prefixes(namespaces: object) -> tuple[str, ...]:
    if not isinstance(namespaces, dict):
        return ()
    return tuple(
        prefix.lower()
        for prefix, uri in namespaces.items()
        if isinstance(prefix, str) and prefix and _text(uri).strip().lower() == _XCAL_NAMESPACE
    )


def _feed_event(entry: dict[str, Any], xcal_prefixes: tuple[str, ...]) -> Event | None:
    """The start (and end) an RSS entry gives in ev: or xCal elements, if any."""
    if "ev_startdate" in entry:
        event = event_from_iso(_get(entry, "ev_startdate"), _get(entry, "ev_enddate"), source="ev")
        if event is not None:
            return event
    for prefix in xcal_prefixes:
        event = event_from_iso(
            _get(entry, f"{prefix}_dtstart"), _get(entry, f"{prefix}_dtend"), source="xcal"
        )
        if event is not None:
            return event
    return None


def _joined(base: str, url: str) -> str | None:
    try:
        return urljoin(base, url)
    except ValueError:  # "https://[::1" and the like
        return None


def _entry_link(entry: dict[str, Any]) -> str | None:
    links = _dicts(_get(entry, "links"))
    for candidate in links:
        href = _text(_get(candidate, "href"))
        if _get(candidate, "rel", "alternate") == "alternate" and href:
            return href
    link = _text(_get(entry, "link"))
    if not link:
        return None
    if _get(entry, "guidislink") and not links:
        # No <link>: feedparser copied the guid (or Atom id) into `link`. "12345" or
        # "tag:..." is no link; a real URL (or an absolute path) is.
        scheme = urlsplit(link).scheme.lower()
        if scheme not in ("http", "https") and not link.startswith("/"):
            return None
    return link


def _enclosures(entry: dict[str, Any]) -> tuple[Enclosure, ...]:
    # RSS <enclosure> and Atom rel="enclosure" both land in `links`; feedparser's
    # `entry.enclosures` is computed from those same links, so this is every enclosure.
    seen: set[str] = set()
    found: list[Enclosure] = []
    for item in _dicts(_get(entry, "links")):
        href = _text(_get(item, "href"))
        if _get(item, "rel") != "enclosure" or not href or href in seen:
            continue
        seen.add(href)
        mime = _text(_get(item, "type")) or "application/octet-stream"
        found.append(Enclosure(url=href, type=mime, length=_non_negative_int(_get(item, "length"))))
    return tuple(found)


def _thumbnail(entry: dict[str, Any]) -> str | None:
    for thumb in _dicts(_get(entry, "media_thumbnail")):
        if _text(_get(thumb, "url")):
            return _text(_get(thumb, "url"))
    for media in _dicts(_get(entry, "media_content")):
        is_image = _get(media, "medium") == "image" or _text(_get(media, "type")).startswith(
            "image/"
        )
        if is_image and _text(_get(media, "url")):
            return _text(_get(media, "url"))
    return None


# An RFC 822 (or ISO-like) date that ends in a zone abbreviation: "09:30:00 KST".
_ZONE_ABBREVIATION_AT_END = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?::\d{2})?\s*([A-Za-z]{2,5})\s*$")


def _entry_date(entry: Mapping[str, Any], key: str) -> datetime | None:
    """The entry's ``published`` or ``updated`` date, in UTC.

    feedparser knows the US abbreviations and reads any other ("KST", "CET", "JST") as
    UTC: a Korean partner's item came out 9 hours late. Where it did (the time it gives is
    the written one), ``events.zone_of`` reads the abbreviation, as it does for webinar
    times; an abbreviation neither knows stays UTC.
    """
    written = _text(_get(entry, key))
    moment = _from_struct(_get(entry, f"{key}_parsed")) or _without_zone(written)
    match = _ZONE_ABBREVIATION_AT_END.search(written)
    if moment is None or match is None:
        return moment
    zone = zone_of(match[3])
    if zone is None or (moment.hour, moment.minute) != (int(match[1]), int(match[2])):
        return moment  # unknown, or feedparser applied the offset itself
    return moment.replace(tzinfo=zone).astimezone(UTC)


def _without_zone(written: str) -> datetime | None:
    """An RFC 822 date without a zone ("Sat, 05 Dec 2026 10:00:00"), which feedparser
    gives up on: read as UTC, as feedparser reads an ISO 8601 date without one."""
    try:
        moment = email.utils.parsedate_to_datetime(written) if written else None
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is not None:
        return None  # with a zone, feedparser would have read it: not a date it can take
    return moment.replace(tzinfo=UTC)


def _from_struct(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


# --- JSON Feed 1.0 / 1.1 --------------------------------------------------------------


def _parse_json_feed(
    body: bytes, url: str, max_entries: int | None, notes: list[str]
) -> ParsedFeed:
    if body.count(b"{") > MAX_JSON_OBJECTS:  # an upper bound of the objects json.loads makes
        raise ParseError(
            f"refused: the JSON has more than {MAX_JSON_OBJECTS} objects; it would take too "
            f"much memory to read"
        )
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, huge ints
        raise ParseError(f"not a feed: invalid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ParseError("not a feed: JSON, but not a JSON Feed object")
    version_match = _JSON_FEED_VERSION.match(_text(document.get("version")).strip())
    if version_match is None:
        raise ParseError(
            "not a feed: JSON without a JSON Feed version "
            '("version": "https://jsonfeed.org/version/1.1")'
        )
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError('not a feed: the JSON Feed has no "items" list')
    if max_entries is not None and len(items) > max_entries:
        notes.append(_capped(len(items), max_entries))
        items = items[:max_entries]

    warnings: list[str] = []
    number = version_match.group(1)
    if number in ("1", "1.0"):
        fmt = "json10"
    else:
        fmt = "json11"
        if number != "1.1":
            warnings.append(f"unknown JSON Feed version {number}, read as 1.1")

    feed_language = _text(document.get("language")) or None
    feed_authors = _json_authors(document)
    entries = [
        _map_json_item(item, url, feed_language, feed_authors)
        for item in items
        if isinstance(item, dict)
    ]
    skipped = len(items) - len(entries)
    if skipped:
        warnings.append(f"skipped {skipped} item(s) that are not JSON objects")
    return ParsedFeed(
        format=fmt,
        title=plain_title(_text(document.get("title")), is_html=False),
        link=_text(document.get("home_page_url")) or None,
        language=feed_language,
        entries=tuple(entries),
        warning="; ".join(warnings) or None,
    )


def _map_json_item(
    item: Mapping[str, Any],
    feed_url: str,
    feed_language: str | None,
    feed_authors: tuple[str, ...],
) -> ParsedEntry:
    raw_id = item.get("id")
    guid: str | None = None
    if isinstance(raw_id, str):
        guid = _text(raw_id) or None
    elif isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        guid = str(raw_id)  # 1.0 allowed numbers; identity needs a string

    content = _text(item.get("content_html"))
    if not content and _text(item.get("content_text")):
        content = _text_to_html(_text(item.get("content_text")))
    summary = _text(item.get("summary"))  # plain text in JSON Feed

    enclosures: list[Enclosure] = []
    seen: set[str] = set()
    for attachment in item.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        href = _text(attachment.get("url"))
        if not href or href in seen:
            continue
        seen.add(href)
        enclosures.append(
            Enclosure(
                url=href,
                type=_text(attachment.get("mime_type")) or "application/octet-stream",
                length=_non_negative_int(attachment.get("size_in_bytes")),
            )
        )

    return ParsedEntry(
        guid=guid,
        link=_text(item.get("url")) or _text(item.get("external_url")) or None,
        title=_text(item.get("title")),
        title_is_html=False,  # JSON Feed titles are plain text
        summary=html.escape(summary, quote=False) if summary else "",
        content=content,
        published=_from_rfc3339(item.get("date_published")),
        updated=_from_rfc3339(item.get("date_modified")),
        authors=_json_authors(item) or feed_authors,
        categories=_unique(_text(tag) for tag in item.get("tags") or [] if isinstance(tag, str)),
        enclosures=tuple(enclosures),
        thumbnail=_text(item.get("image")) or _text(item.get("banner_image")) or None,
        language=_text(item.get("language")) or feed_language,
        event=event_from_json_feed(item),
    )


def _json_authors(obj: Mapping[str, Any]) -> tuple[str, ...]:
    authors = obj.get("authors")  # 1.1
    if not isinstance(authors, list):
        single = obj.get("author")  # 1.0
        authors = [single] if isinstance(single, dict) else []
    return _names(authors)


def _from_rfc3339(value: object) -> datetime | None:
    text = _text(value).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if parsed.tzinfo is None:  # not RFC 3339, but unambiguous enough: read as UTC
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _text_to_html(text: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + html.escape(p, quote=False).replace("\n", "<br>") + "</p>" for p in paragraphs
    )


# --- small helpers --------------------------------------------------------------------


def _text(value: object) -> str:
    """``value`` when it is a str (lone surrogates replaced), else ""."""
    if not isinstance(value, str):
        return ""
    if _SURROGATE.search(value):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _as_html(value: str, mime: object) -> str:
    if mime == "text/plain" and value:
        return _text_to_html(value)
    return value


def _get(mapping: object, key: str, default: object = None) -> Any:
    """Plain ``dict.get``: FeedParserDict's own ``get`` maps keys (``updated_parsed`` falls
    back to ``published_parsed``, ``url`` to ``href``), which would invent data."""
    return dict.get(mapping, key, default) if isinstance(mapping, dict) else default


def _dicts(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]


def _names(people: object) -> tuple[str, ...]:
    return _unique(_text(_get(person, "name")).strip() for person in _dicts(people))


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _non_negative_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    text = _text(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def _positive_int(value: object) -> int | None:
    number = _non_negative_int(value)
    return number if number else None
