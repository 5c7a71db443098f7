"""Feed discovery: the feeds an HTML page announces with ``<link rel="alternate">``.

``add`` and ``preview`` offer them when given a web page; a pass names them when a feed's
url starts answering with a page (the partner moved its feed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

# Feed types announced by <link rel="alternate" type=...>, best first (the order we list them).
FEED_TYPES = (
    "application/atom+xml",
    "application/rss+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
)
_BOM = "\ufeff"
# As parse.py: each comment matches one way only (a lazy ".*?" backtracks exponentially).
_HTML_START = re.compile(
    r"^\s*(?:<!--(?:[^-]|-(?!->))*-->\s*)*<(?:!DOCTYPE\s+html|html[\s>])", re.I
)


@dataclass(frozen=True, slots=True)
class FoundFeed:
    """A feed an HTML page announces with ``<link rel="alternate">``."""

    url: str  # absolute
    type: str  # media type, e.g. application/rss+xml
    title: str | None

    @property
    def format_name(self) -> str:
        return {
            "application/atom+xml": "Atom",
            "application/rss+xml": "RSS",
            "application/rdf+xml": "RSS 1.0",
        }.get(self.type, "JSON Feed")


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in ("text/html", "application/xhtml+xml"):
        return True
    head = body[:8192].decode("utf-8", "replace").lstrip(_BOM)
    return _HTML_START.match(head) is not None


def discover_feeds(page: bytes, page_url: str) -> list[FoundFeed]:
    """The feeds ``page`` announces, in page order, relative hrefs resolved (``<base href>``
    included); each URL once. Alternate links of other types (translations, AMP) are not
    feeds and are ignored."""
    try:
        document = lxml.html.document_fromstring(page)
    except (etree.ParserError, ValueError):  # empty or not HTML at all
        return []
    base = page_url
    for element in document.iter("base"):
        if element.get("href"):
            base = urljoin(page_url, str(element.get("href")).strip())
            break
    found: dict[str, FoundFeed] = {}
    for link in document.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        media_type = (link.get("type") or "").split(";", 1)[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rels or media_type not in FEED_TYPES or not href:
            continue
        url = urljoin(base, href)
        if urlsplit(url).scheme not in ("http", "https") or url in found:
            continue
        title = " ".join((link.get("title") or "").split()) or None
        found[url] = FoundFeed(url, media_type, title)
    return list(found.values())
