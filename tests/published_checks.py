"""Checks every published file must pass, whatever the partners sent (issue 7).

``check_published_file(name, data)`` raises AssertionError unless the file is complete and
safe: Atom, RSS and OPML are well-formed XML (lxml), JSON parses, index.html parses,
webinars.ics parses with icalendar (every event with a UID and a start), and
nothing in them is live script: no ``<script>`` element, no ``on*=`` attribute and no
``javascript:``/``vbscript:``/``data:`` URL (in any attribute a browser or reader follows:
href, src, xmlUrl, ...), in the files themselves or in the HTML they
carry (Atom ``type="html"`` text, RSS ``description`` and ``content:encoded``, JSON
``content_html``). Text that merely mentions ``<script>`` (an escaped title) is fine.

Used by tests/test_hostile.py, tests/test_fuzz.py and tests/test_crash.py. Import it as
``from published_checks import check_published_file`` (tests/ is on sys.path).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import icalendar
import lxml.etree
import lxml.html

__all__ = ["check_published_file", "check_published_folder", "is_complete"]

_ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
_LIVE_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:")
# Browsers ignore tab, newline and other controls inside a scheme ("java\tscript:").
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]+")
# Attributes whose value a browser or feed reader follows as a URL (any namespace).
_URL_ATTRIBUTES = frozenset(
    {"href", "src", "url", "xmlurl", "htmlurl", "action", "formaction", "data", "poster"}
    | {"cite", "background", "srcset", "lowsrc", "dynsrc", "codebase", "longdesc", "usemap"}
    | {"manifest", "icon", "profile", "ping", "xml:base", "base"}
)
_JSON_URL_KEYS = frozenset({"url", "external_url", "image", "banner_image", "home_page_url"})
_JSON_URL_KEYS |= {"feed_url", "icon", "favicon"}


def check_published_folder(folder: Path) -> list[str]:
    """Check every published file in ``folder`` and its tags/ and partners/ folders (temp
    files of a crashed write skipped); return their paths relative to ``folder``."""
    names = []
    for path in sorted(folder.rglob("*")):
        if path.name.startswith(".") or not path.is_file():
            continue
        name = path.relative_to(folder).as_posix()
        check_published_file(name, path.read_bytes())
        names.append(name)
    return names


def is_complete(name: str, data: bytes) -> bool:
    """True when ``data`` is a whole file of its kind (parses to the end)."""
    try:
        _parse(name, data)
    except (ValueError, lxml.etree.LxmlError):
        return False
    return True


def check_published_file(name: str, data: bytes) -> None:
    parsed = _parse(name, data)
    if isinstance(parsed, icalendar.Calendar):
        _check_calendar(name, parsed)
        return
    if isinstance(parsed, dict):
        _check_json(name, parsed)
        return
    _check_tree(name, parsed)
    if name.endswith((".atom", ".rss")):
        for html_text in _embedded_html(parsed):
            _check_html_fragment(name, html_text)


def _parse(name: str, data: bytes) -> Any:
    if name.endswith((".atom", ".rss", ".opml")):
        parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
        return lxml.etree.fromstring(data, parser)
    if name.endswith(".json"):
        document = json.loads(data)
        if not isinstance(document, dict):
            raise ValueError(f"{name}: not a JSON object")
        return document
    if name.endswith(".ics"):
        if not data.endswith(b"END:VCALENDAR\r\n"):
            raise ValueError(f"{name}: does not end with END:VCALENDAR")
        calendar = icalendar.Calendar.from_ical(data)
        if not isinstance(calendar, icalendar.Calendar):
            raise ValueError(f"{name}: not one VCALENDAR")
        return calendar
    if name.endswith(".html"):
        text = data.decode("utf-8")
        if not text.rstrip().endswith("</html>"):
            raise ValueError(f"{name}: does not end with </html>")
        return lxml.html.document_fromstring(text)
    raise AssertionError(f"unexpected published file {name}")


def _embedded_html(root: Any) -> Iterable[str]:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        is_atom_html = element.tag in (f"{_ATOM}content", f"{_ATOM}summary") and (
            element.get("type") == "html"
        )
        carries_html = is_atom_html or element.tag in ("description", _CONTENT_ENCODED)
        if carries_html and element.text and element.text.strip():
            yield element.text


def _check_json(name: str, document: dict[str, Any]) -> None:
    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for child_key, child in value.items():
                walk(child, child_key)
        elif isinstance(value, list):
            for child in value:
                walk(child, key)
        elif isinstance(value, str):
            if key == "content_html" and value.strip():
                _check_html_fragment(name, value)
            elif key in _JSON_URL_KEYS:
                _check_url(name, key, value)

    walk(document, "")


def _check_calendar(name: str, calendar: Any) -> None:
    """Every VEVENT has a UID, a start and only http(s) URLs."""
    for event in calendar.walk("VEVENT"):
        assert event.get("uid"), f"{name}: a VEVENT without UID"
        assert event.get("dtstart") is not None, f"{name}: a VEVENT without DTSTART"
        if event.get("url") is not None:
            _check_url(name, "URL", str(event.get("url")))


def _check_html_fragment(name: str, html_text: str) -> None:
    root = lxml.html.fragment_fromstring(html_text, create_parent="div")
    _check_tree(name, root)


def _check_tree(name: str, root: Any) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments, processing instructions
        local = lxml.etree.QName(element).localname.lower()
        assert local != "script", f"{name}: a <script> element"
        for attribute, value in element.attrib.items():
            attribute_name = lxml.etree.QName(attribute).localname.lower()
            assert not attribute_name.startswith("on"), f"{name}: attribute {attribute_name}="
            if attribute_name in _URL_ATTRIBUTES:
                _check_url(name, attribute_name, value)


def _check_url(name: str, where: str, value: str) -> None:
    folded = _IGNORED_IN_SCHEME.sub("", value).lower()
    assert not folded.startswith(_LIVE_SCHEMES), f"{name}: {where}={value[:80]!r}"
