"""ParsedEntry -> Entry: identity, canonical URL, plain-text titles, safe HTML, UTC dates.

Everything here is pure: the same partner entry and fetch time give the same Entry.

Hostile input handled here (issue 7; tests/test_normalize.py, tests/test_hostile.py):
- HTML goes through nh3's allowlist; links only http(s)/mailto; ``<iframe>`` only from
  ``FeedContext.iframe_hosts``, sandboxed, its content dropped (html5ever keeps an iframe's
  raw text, ``<script>`` included, and nh3 serializes it as is);
- HTML nested deeper than ``MAX_HTML_DEPTH`` is reduced to its text first: html5ever's
  tree building is quadratic in the depth of block elements (20,000 nested ``<div>`` took
  1.1 s, 100,000 took 19 s);
- dates before ``MIN_DATE`` (epoch-zero and "0000-00-00" placeholders) count as missing;
- two items of one fetch with the same guid (or link) are told apart, never dropped.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from syndicator.classify import Filters, Rule, classify
from syndicator.events import event_from_json_ld, event_from_text, mentions_time_zone
from syndicator.model import Enclosure, Entry, Event, Kind, ParsedEntry, ParsedFeed

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 500
MAX_HTML_DEPTH = 256  # open elements; deeper HTML keeps only its text
MIN_DATE = datetime(1990, 1, 1, tzinfo=UTC)  # earlier dates are placeholders, not news
IFRAME_SANDBOX = "allow-scripts allow-same-origin allow-popups allow-presentation"

# Characters XML 1.0 forbids: C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF.
# feedgen raises on them and feed readers reject the whole file (STACK-NOTES).
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Query parameters that only track the reader; they never select different content.
_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ref", "ref_src", "source"}
    | {"mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id"}
    | {"vero_conv", "vero_id", "wt_mc", "cmpid", "s_cid", "spm", "share", "amp", "outputtype"}
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
# Mobile and AMP editions of a site serve the same pages: m.example.org, amp.example.org.
_MOBILE_HOST = re.compile(r"^(?:m|mobile|amp)\.(?=[^.]+\.)")
_AMP_PATH = re.compile(r"^/amp(?=/)|/amp$")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_IFRAME_ATTRIBUTES = frozenset({"src", "width", "height", "title", "allowfullscreen"})
# nh3 (html5ever) writes every attribute as name="value" with '"' escaped: exact to match.
_IFRAME = re.compile(r'<iframe((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*>.*?</iframe>', re.S)
_ATTRIBUTE = re.compile(r'([^\s=>]+)(?:="([^"]*)")?')
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*?(/?)>")
_ANY_TAG = re.compile(r"<[^>]*>")
# Elements that never stay open (void) or close themselves: they add no depth.
_NO_DEPTH = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option"}
    | {"optgroup", "thead", "tbody", "tfoot", "colgroup", "rb", "rt", "rtc", "rp"}
)

# Punctuation and symbols of every script fold away in title keys; curly and straight quotes,
# dashes and CJK punctuation all belong to these categories.
_PUNCTUATION_CATEGORIES = ("P", "S")


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What normalize needs to know about the partner feed the entries came from."""

    feed_id: str
    kind: Kind
    url: str  # the feed's final URL, base for relative links
    fetched_at: datetime  # aware UTC
    # Hosts whose <iframe>s are kept (subdomains included); feeds.yaml `iframe_hosts`.
    iframe_hosts: frozenset[str] = frozenset()
    rules: tuple[Rule, ...] = ()  # feeds.yaml kind rules: the feed's own, then the global ones
    filters: Filters = field(default_factory=Filters)  # feeds.yaml include: / exclude:


def xml_safe(text: str) -> str:
    """Remove every character that XML 1.0 does not allow."""
    return _XML_FORBIDDEN.sub("", text)


def canonical_url(url: str | None) -> str | None:
    """The form of ``url`` used to compare links, never to publish them.

    Scheme and host lower-cased, http taken as https (partners flip between them), ``www.``,
    default port, fragment, trailing slash and tracking parameters dropped, remaining query
    parameters sorted. Parameters that select content (``?id=12``) are kept.
    Returns None for anything that is not an absolute http(s) URL.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    host = _MOBILE_HOST.sub("", host.removeprefix("www."), count=1)
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    # The AMP edition of a page (/amp, /amp/..., .amp.html) is the same story.
    path = _AMP_PATH.sub("", path, count=1).replace(".amp.html", ".html") or path
    query = urlencode(sorted(_content_params(parts.query)))
    return urlunsplit(("https", host, path, query, ""))


def _without_tracking(link: str | None) -> str:
    """``link`` without its tracking parameters, otherwise exactly as given (a link that has
    none hashes as it always did): partners that stamp every poll's links with new
    ``utm_*`` values have not changed the entry."""
    if not link or "?" not in link:
        return link or ""
    parts = urlsplit(link)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = _content_params(parts.query)
    if len(kept) == len(pairs):
        return link
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _content_params(query: str) -> list[tuple[str, str]]:
    kept = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        lowered = name.lower()
        if lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES):
            continue
        kept.append((name, value))
    return kept


def title_key(title: str) -> str:
    """Fold a title for exact matching across partners, in any script.

    NFKC (full-width forms, ligatures), case-folded, punctuation and symbols removed
    (straight and curly quotes alike), white space collapsed.
    """
    folded = unicodedata.normalize("NFKC", title).casefold()
    kept = [
        " " if unicodedata.category(ch).startswith(_PUNCTUATION_CATEGORIES) else ch for ch in folded
    ]
    return " ".join("".join(kept).split())


def plain_text(markup: str) -> str:
    """Text of an HTML fragment: tags and script/style content dropped, entities decoded."""
    # xml_safe first as well: nh3 cannot take lone surrogates (tests/test_fuzz.py found it).
    text = html.unescape(nh3.clean(xml_safe(markup), tags=set(), attributes={}))
    return " ".join(xml_safe(text).split())


def sanitize_html(markup: str, base_url: str, iframe_hosts: frozenset[str] = frozenset()) -> str:
    """Safe HTML for feed readers: nh3's allowlist, links only http(s)/mailto, URLs absolute.

    ``<iframe>`` is kept only with an https ``src`` on one of ``iframe_hosts`` (or their
    subdomains), and then always sandboxed and empty.
    """
    if not markup.strip():
        return ""
    markup = xml_safe(markup)
    if _nested_too_deep(markup):
        markup = _ANY_TAG.sub(" ", markup)
    tags = set(nh3.ALLOWED_TAGS)
    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["img"] = attributes.get("img", set()) | _LAZY_SOURCES
    if iframe_hosts:
        tags.add("iframe")
        attributes["iframe"] = set(_IFRAME_ATTRIBUTES)
    cleaned = nh3.clean(
        markup,
        tags=tags,
        attributes=attributes,
        url_schemes=set(_URL_SCHEMES),
        attribute_filter=partial(_filter_attribute, base_url, iframe_hosts),
    )
    if iframe_hosts:
        cleaned = _IFRAME.sub(_rebuilt_iframe, cleaned)
    if "data-" in cleaned:
        cleaned = _IMG_TAG.sub(_with_lazy_source, cleaned)
    return cleaned.strip()


# Lazy-loading plugins put the picture in one of these and a placeholder (a data: URL,
# which is dropped) in src: the image then takes its src from the first one given.
_LAZY_SOURCES = frozenset({"data-src", "data-lazy-src", "data-original"})
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_LAZY_ATTRIBUTE = re.compile(r'\s(data-src|data-lazy-src|data-original)="([^"]*)"')


def _with_lazy_source(tag: re.Match[str]) -> str:
    img = tag.group(0)
    sources = _LAZY_ATTRIBUTE.findall(img)
    if not sources:
        return img
    img = _LAZY_ATTRIBUTE.sub("", img)
    if ' src="' in img:
        return img
    return img.replace("<img", f'<img src="{sources[0][1]}"', 1)


def _filter_attribute(
    base_url: str, iframe_hosts: frozenset[str], tag: str, attribute: str, value: str
) -> str | None:
    # nh3 has already refused unsafe schemes by the time this runs; only relative URLs remain
    # to be made absolute, since a feed reader has no base to resolve them against.
    if attribute in _LAZY_SOURCES:  # becomes the src: only an http(s) image address
        lazy = _join(base_url, value.strip())
        http = lazy is not None and urlsplit(lazy).scheme.lower() in {"http", "https"}
        return lazy if http else None
    if attribute not in _URL_ATTRIBUTES:
        return value
    absolute = _join(base_url, value.strip())
    if absolute is None or urlsplit(absolute).scheme.lower() not in {"", *_URL_SCHEMES}:
        return None  # a bad URL, or a base with another scheme made it one
    if tag == "iframe" and not _is_allowed_frame(absolute, iframe_hosts):
        return None  # the iframe then has no src, and _rebuilt_iframe drops it
    return absolute


def _is_allowed_frame(url: str, iframe_hosts: frozenset[str]) -> bool:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return False
    if parts.scheme != "https" or parts.username or parts.password:
        return False
    return any(host == allowed or host.endswith("." + allowed) for allowed in iframe_hosts)


def _rebuilt_iframe(match: re.Match[str]) -> str:
    """An allowed iframe in one fixed form: checked src, size, title, sandbox; no content."""
    found = dict(_ATTRIBUTE.findall(match.group(1)))
    if not found.get("src"):
        return ""  # not on an allowed host: the whole iframe goes
    kept = [f'src="{found["src"]}"']
    for name in ("width", "height"):
        value = found.get(name, "")
        if value.isascii() and value.isdigit() and len(value) <= 4:
            kept.append(f'{name}="{value}"')
    if found.get("title"):
        kept.append(f'title="{found["title"]}"')
    if "allowfullscreen" in found:
        kept.append('allowfullscreen=""')
    kept += [
        f'sandbox="{IFRAME_SANDBOX}"',
        'referrerpolicy="strict-origin-when-cross-origin"',
        'loading="lazy"',
    ]
    return f"<iframe {' '.join(kept)}></iframe>"


def _nested_too_deep(markup: str) -> bool:
    """True when ``markup`` may open more than MAX_HTML_DEPTH elements at once.

    Counts on the text, never under: a close tag only counts for an element of its name
    that is open, and elements that close themselves (``<p>``, ``<li>``) are not counted.
    """
    if markup.count("<") <= MAX_HTML_DEPTH:
        return False
    depth = 0
    open_elements: Counter[str] = Counter()
    for match in _TAG.finditer(markup):
        name = match.group(2).lower()
        if name in _NO_DEPTH:
            continue
        if match.group(1):
            if open_elements[name] > 0:
                open_elements[name] -= 1
                depth -= 1
        elif not match.group(3):
            open_elements[name] += 1
            depth += 1
            if depth > MAX_HTML_DEPTH:
                return True
    return False


def _join(base_url: str, url: str) -> str | None:
    """``url`` made absolute against ``base_url``; None when either is not a valid URL
    (``https://[::1``: urllib raises, and one bad link must not cost the whole feed)."""
    try:
        absolute = urljoin(base_url, url)
        urlsplit(absolute).port  # noqa: B018  # raises ValueError on a bad port or IPv6 host
    except ValueError:
        return None
    return absolute


def _absolute_http_url(url: str | None, base_url: str) -> str | None:
    if not url or not url.strip():
        return None
    absolute = _join(base_url, url.strip())
    if absolute is None or urlsplit(absolute).scheme.lower() not in _DEFAULT_PORTS:
        return None
    return xml_safe(absolute)


def plain_title(title: str, is_html: bool) -> str:
    """A title (an entry's, or a feed's own) as the plain text we publish everywhere.

    Also when the partner escaped markup into a "text" title, tags are stripped: feed
    readers may render an RSS title as HTML (STACK-NOTES: feedparser keeps <script>).
    """
    text = plain_text(title if is_html else html.escape(title))
    return plain_text(text) if "<" in text else text


def _clean_title(entry: ParsedEntry) -> str:
    title = plain_title(entry.title, entry.title_is_html)
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return title


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC, or None for no date and for placeholders before MIN_DATE."""
    if value is None:
        return None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 with a positive offset, and the like
        return None
    return value if value >= MIN_DATE else None


def _dates(entry: ParsedEntry, fetched_at: datetime) -> tuple[datetime, datetime, bool]:
    """published, updated, and whether published is our guess rather than the partner's.

    Missing dates become the first-seen time; dates in the future are clamped to the fetch
    time so a partner's typo cannot pin a story to the top of every feed.
    """
    published = _utc(entry.published) or _utc(entry.updated)
    updated = _utc(entry.updated) or published
    guessed = published is None or published > fetched_at
    published = min(published or fetched_at, fetched_at)
    updated = min(max(updated or published, published), fetched_at)
    return published, updated, guessed


def _entry_key(entry: ParsedEntry, link: str | None, title: str, content: str) -> str:
    guid = (entry.guid or "").strip()
    if guid:
        return xml_safe(guid)
    if link:
        # Tracking parameters rotated on every poll must not make a new entry each time.
        return _without_tracking(link)
    return "sha256:" + _hash(title, content)


def _hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _enclosures(entry: ParsedEntry, base_url: str) -> tuple[Enclosure, ...]:
    result: list[Enclosure] = []
    seen: set[str] = set()
    for enclosure in entry.enclosures:
        url = _absolute_http_url(enclosure.url, base_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        length = enclosure.length if enclosure.length and enclosure.length > 0 else None
        media_type = xml_safe(enclosure.type.strip()) or "application/octet-stream"
        result.append(Enclosure(url=url, type=media_type, length=length))
    return tuple(result)


def _clean_words(values: Sequence[str]) -> tuple[str, ...]:
    cleaned = (" ".join(xml_safe(html.unescape(v)).split()) for v in values)
    return tuple(dict.fromkeys(v for v in cleaned if v))


def normalize_entry(entry: ParsedEntry, context: FeedContext, feed: ParsedFeed) -> Entry:
    """One partner entry as plain, safe data."""
    # Relative URLs: an explicit xml:base wins; else the entry's link is relative to the
    # partner's site (the feed's <link>), and its text to the entry's own page, as a
    # browser showing that page would resolve them. The feed's URL is the last resort.
    site_base = (_join(context.url, feed.link) if feed.link else None) or context.url
    entry_base = _join(site_base, entry.base) if entry.base else None
    link = _absolute_http_url(entry.link, entry_base or site_base)
    base_url = entry_base or link or site_base
    title = _clean_title(entry)
    summary = sanitize_html(entry.summary, base_url, context.iframe_hosts)
    content = sanitize_html(entry.content, base_url, context.iframe_hosts)
    if content == summary:
        content = ""
    enclosures = _enclosures(entry, base_url)
    published, updated, published_is_guess = _dates(entry, context.fetched_at)
    enclosure_urls = "\n".join(e.url for e in enclosures)
    normalized = Entry(
        feed_id=context.feed_id,
        entry_key=_entry_key(entry, link, title, summary + content),
        guid=xml_safe(entry.guid.strip()) if entry.guid and entry.guid.strip() else None,
        link=link,
        canonical_url=canonical_url(link),
        title=title,
        title_key=title_key(title),
        summary=summary,
        content=content,
        published=published,
        updated=updated,
        authors=_clean_words(entry.authors),
        categories=_clean_words(entry.categories),
        enclosures=enclosures,
        thumbnail=_absolute_http_url(entry.thumbnail, base_url),
        language=entry.language or feed.language,
        kind=context.kind,
        content_hash=_hash(title, summary, content, _without_tracking(link), enclosure_urls),
        published_is_guess=published_is_guess,
    )
    return _with_kind(normalized, entry, context)


def _with_kind(entry: Entry, parsed: ParsedEntry, context: FeedContext) -> Entry:
    """``entry`` with its kind, what decided it, and when it takes place (classify.py).

    A start from the partner's structured data (parse.py; JSON-LD read here from the raw
    HTML, before sanitizing drops scripts) is kept on any entry; one found in the text only
    on webinars, and the text is searched only when a webinar word or the kind asks for it.
    """
    structured = parsed.event or _json_ld_event(parsed)
    if structured is not None:
        entry = replace(entry, event=structured)
    found: list[Event | None] = []  # the text's start, searched at most once

    def event_of() -> Event | None:
        if structured is not None:
            return structured
        if not found:
            fields = (entry.title, entry.summary, entry.content)
            hinted = any(mentions_time_zone(text) for text in fields)
            found.append(event_from_text(_searchable_text(entry)) if hinted else None)
        return found[0]

    kind, rule = classify(entry, context.rules, context.kind, event_of)
    event = event_of() if kind == "webinar" else structured
    if kind == entry.kind and rule == entry.kind_rule and event is None:
        return entry  # the common case: an article of an article feed
    # A moved webinar is a change members should see (an update in every feed).
    content_hash = entry.content_hash if event is None else _hash(entry.content_hash, *_when(event))
    return replace(entry, kind=kind, kind_rule=rule, event=event, content_hash=content_hash)


def _json_ld_event(parsed: ParsedEntry) -> Event | None:
    return event_from_json_ld(parsed.content) or event_from_json_ld(parsed.summary)


def sanitized_text(markup: str) -> str:
    """The text of HTML that ``sanitize_html`` made: no scripts or styles are left in it, so
    dropping the tags and decoding entities is enough (cheaper than ``plain_text``)."""
    return html.unescape(_ANY_TAG.sub(" ", markup))


def _searchable_text(entry: Entry) -> str:
    markup = f"{entry.summary}\n{entry.content}"
    return f"{entry.title}\n{sanitized_text(markup)}"


def _when(event: Event) -> tuple[str, str, str]:
    end = event.end.isoformat() if event.end else ""
    return event.start.isoformat(), end, event.timezone or ""


def normalize_entries(feed: ParsedFeed, context: FeedContext) -> list[Entry]:
    """Every usable entry of a parsed feed, each with its own entry key.

    An entry with neither title, link nor text carries nothing a member could read and is
    skipped. Items that share a guid (or, without guids, a link) are told apart by their
    link, else title, else content (``_distinct_keys``); only an item listed twice, identical
    in everything a member sees, is kept once. Entries the feed's filters drop are left out
    (``normalize_feed`` also counts them).
    """
    return normalize_feed(feed, context)[0]


def normalize_feed(feed: ParsedFeed, context: FeedContext) -> tuple[list[Entry], int]:
    """``normalize_entries``, and how many entries feeds.yaml filters excluded (logged once)."""
    entries: list[Entry] = []
    excluded = 0
    lines: set[int] = set()
    for parsed in feed.entries:
        entry = normalize_entry(parsed, context, feed)
        if not (entry.title or entry.link or entry.summary or entry.content):
            log.warning("%s: skipped an entry with no title, link or text", context.feed_id)
            continue
        dropped_by = context.filters.lines_excluding(entry) if context.filters else ()
        if dropped_by:
            excluded += 1
            lines.update(dropped_by)
            continue
        entries.append(entry)
    if excluded:
        where = ", ".join(str(line) for line in sorted(lines))
        log.info(
            "%s: %d entries excluded by %s filters (line%s %s)",
            context.feed_id,
            excluded,
            (context.filters.exclude or context.filters.include)[0].file,
            "s" if len(lines) > 1 else "",
            where,
        )
    return _distinct_keys(entries, context.feed_id), excluded


# What tells apart items that share an entry key, tried in this order: the first that
# differs for every item of the group is added to their key.
_TIEBREAKERS: tuple[tuple[str, Callable[[Entry], str]], ...] = (
    ("link", lambda e: _without_tracking(e.link)),
    ("title", lambda e: e.title),
    ("content", lambda e: e.content_hash),
)


def _distinct_keys(entries: list[Entry], feed_id: str) -> list[Entry]:
    groups: dict[str, list[int]] = {}
    for position, entry in enumerate(entries):
        groups.setdefault(entry.entry_key, []).append(position)
    result = list(entries)
    dropped: set[int] = set()
    for key, positions in groups.items():
        if len(positions) == 1:
            continue
        members = [entries[p] for p in positions]
        name, tiebreaker = next(
            ((n, t) for n, t in _TIEBREAKERS if len({t(e) for e in members}) == len(members)),
            _TIEBREAKERS[-1],
        )
        seen: set[str] = set()
        for position, entry in zip(positions, members, strict=True):
            value = tiebreaker(entry)
            if value in seen:  # the same item listed twice: nothing is lost
                dropped.add(position)
                continue
            seen.add(value)
            result[position] = replace(entry, entry_key=f"{key} | {name}: {value}")
        log.warning(
            "%s: %d items share the id %r; told apart by their %s",
            feed_id,
            len(positions),
            key[:200],
            name,
        )
    return [entry for position, entry in enumerate(result) if position not in dropped]
