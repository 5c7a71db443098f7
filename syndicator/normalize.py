"""ParsedEntry -> Entry: identity, canonical URL, plain-text titles, safe HTML, UTC dates.

Everything here is pure: the same partner entry and fetch time give the same Entry.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from syndicator.model import Enclosure, Entry, Kind, ParsedEntry, ParsedFeed

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 500

# Characters XML 1.0 forbids: C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF.
# feedgen raises on them and feed readers reject the whole file (STACK-NOTES).
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Query parameters that only track the reader; they never select different content.
_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ref", "ref_src", "source"}
    | {"mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id"}
    | {"vero_conv", "vero_id", "wt_mc", "cmpid", "s_cid", "spm", "share", "amp"}
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
_URL_SCHEMES = frozenset({"http", "https", "mailto"})

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
    host = host.removeprefix("www.")
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    query = urlencode(sorted(_content_params(parts.query)))
    return urlunsplit(("https", host, path, query, ""))


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
    text = html.unescape(nh3.clean(markup, tags=set(), attributes={}))
    return " ".join(xml_safe(text).split())


def sanitize_html(markup: str, base_url: str) -> str:
    """Safe HTML for feed readers: nh3's allowlist, links only http(s)/mailto, URLs absolute."""
    if not markup.strip():
        return ""
    cleaned = nh3.clean(
        xml_safe(markup),
        url_schemes=set(_URL_SCHEMES),
        attribute_filter=partial(_absolute_url_attribute, base_url),
    )
    return cleaned.strip()


def _absolute_url_attribute(base_url: str, tag: str, attribute: str, value: str) -> str | None:
    # nh3 has already refused unsafe schemes by the time this runs; only relative URLs remain
    # to be made absolute, since a feed reader has no base to resolve them against.
    if attribute in _URL_ATTRIBUTES:
        return urljoin(base_url, value.strip())
    return value


def _absolute_http_url(url: str | None, base_url: str) -> str | None:
    if not url or not url.strip():
        return None
    absolute = urljoin(base_url, url.strip())
    if urlsplit(absolute).scheme.lower() not in _DEFAULT_PORTS:
        return None
    return xml_safe(absolute)


def _clean_title(entry: ParsedEntry) -> str:
    # Titles are plain text everywhere we publish, also when the partner escaped markup into
    # a "text" title, so tags are always stripped (STACK-NOTES: feedparser keeps <script>).
    title = plain_text(entry.title if entry.title_is_html else html.escape(entry.title))
    title = plain_text(title) if "<" in title else title
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return title


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


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
        return link
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
    site_base = urljoin(context.url, feed.link) if feed.link else context.url
    link = _absolute_http_url(entry.link, entry.base or site_base)
    base_url = entry.base or link or site_base
    title = _clean_title(entry)
    summary = sanitize_html(entry.summary, base_url)
    content = sanitize_html(entry.content, base_url)
    if content == summary:
        content = ""
    enclosures = _enclosures(entry, base_url)
    published, updated, published_is_guess = _dates(entry, context.fetched_at)
    enclosure_urls = "\n".join(e.url for e in enclosures)
    return Entry(
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
        content_hash=_hash(title, summary, content, link or "", enclosure_urls),
        published_is_guess=published_is_guess,
    )


def normalize_entries(feed: ParsedFeed, context: FeedContext) -> list[Entry]:
    """Every usable entry of a parsed feed, one per entry key (the first wins).

    An entry with neither title, link nor text carries nothing a member could read and is
    skipped. A key seen twice in one fetch keeps the first, as partners list newest first.
    """
    entries: list[Entry] = []
    seen_keys: set[str] = set()
    for parsed in feed.entries:
        entry = normalize_entry(parsed, context, feed)
        if not (entry.title or entry.link or entry.summary or entry.content):
            log.warning("%s: skipped an entry with no title, link or text", context.feed_id)
            continue
        if entry.entry_key in seen_keys:
            log.warning(
                "%s: entry id %r appears twice in the feed; kept the first",
                context.feed_id,
                entry.entry_key,
            )
            continue
        seen_keys.add(entry.entry_key)
        entries.append(entry)
    return entries
