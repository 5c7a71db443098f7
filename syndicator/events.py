"""When a webinar takes place: its start (and end) time and time zone, or nothing.

Pure functions; ``parse.py`` and ``normalize.py`` call them. The sources, best first:

- structured data from the partner: the JSON Feed ``_event`` extension
  (``{"start": ISO 8601, "end": ..., "timezone": ...}``, README "Content kinds"), the
  RSS 1.0 Event module (``ev:startdate`` / ``ev:enddate``), xCal elements in RSS
  (``xCal:dtstart`` / ``xCal:dtend``), schema.org Event JSON-LD in the entry's HTML
  (``<script type="application/ld+json">``, read before the HTML is sanitized);
- the text of the entry, only for entries that are (or may be) webinars: a date with a
  year, a time and a time zone next to each other, e.g. "Thursday 12 May 2022, 14:00 BST",
  "12/05/2022 2pm CET", "May 12, 2022 at 9:00 AM EDT", "12 May 2022 14:00 (UTC+9)".

Never a guess. A date without a year, a date without a time, a time without a time zone
(it could be off by up to 26 hours) or an ISO time without an offset or time zone: no
start, the webinar's start stays unknown. Numeric dates are day first (12/05/2022 is 12
May): the partners are European and Korean. Time zone abbreviations mean what the table
below says, literally ("CET" in July is still UTC+1), and an abbreviation not in it is not
read at all, since many are ambiguous (CST: China or US Central; IST: India, Ireland or
Israel).

Parsing the date and time themselves is python-dateutil's (``dateutil.parser``); this
module only finds where a date is (a conservative pattern, so "now" or "next week" are
never taken for dates, as dateparser's ``search_dates`` does) and reads the time zone,
because dateutil reads "UTC+9" the POSIX way, as nine hours *behind* UTC.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import timezone as fixed_offset
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import parser as date_parser

from syndicator.model import Event

__all__ = [
    "ZONE_ABBREVIATIONS",
    "event_from_iso",
    "event_from_json_feed",
    "event_from_json_ld",
    "event_from_text",
    "mentions_time_zone",
    "zone_of",
]

# What each abbreviation means here, in hours from UTC (README lists them). Zones whose
# offset depends on the date are IANA names.
ZONE_ABBREVIATIONS: Mapping[str, float | str] = {
    "UTC": 0,
    "GMT": 0,
    "WET": 0,
    "WEST": 1,
    "BST": 1,  # British Summer Time (not Bangladesh)
    "IRST": 1,  # Irish Standard Time (summer)
    "CET": 1,
    "CEST": 2,
    "MET": 1,
    "MEST": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "TRT": 3,
    "GST": 4,  # Gulf Standard Time
    "PKT": 5,
    "ICT": 7,
    "WIB": 7,
    "HKT": 8,
    "SGT": 8,
    "PHT": 8,
    "AWST": 8,
    "KST": 9,
    "JST": 9,
    "AEST": 10,
    "AEDT": 11,
    "NZST": 12,
    "NZDT": 13,
    "EST": -5,
    "EDT": -4,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "ET": "America/New_York",
    "PT": "America/Los_Angeles",
}

MAX_TEXT_CHARS = 20_000  # of an entry's text searched for a date
MAX_JSON_LD_CHARS = 100_000  # per script
MAX_JSON_LD_SCRIPTS = 5
MAX_JSON_LD_NODES = 2_000

# --- structured data --------------------------------------------------------------------

_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")
_OFFSET_WRITTEN = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


def event_from_iso(
    start: object, end: object = None, timezone: object = None, *, source: str
) -> Event | None:
    """An Event from ISO 8601 start and end times, as structured data gives them.

    A start without a UTC offset needs ``timezone`` (an IANA name such as
    ``Europe/London``, or an abbreviation of ``ZONE_ABBREVIATIONS``); a date without a
    time is no start. ``timezone`` is kept as written, else the offset written in the start.
    """
    zone_name = timezone.strip() if isinstance(timezone, str) and timezone.strip() else None
    begins = _iso_time(start, zone_name)
    if begins is None:
        return None
    ends = _iso_time(end, zone_name)
    if ends is not None and ends < begins:
        ends = None
    written = zone_name
    if written is None and isinstance(start, str):
        offset = _OFFSET_WRITTEN.search(start.strip())
        written = offset.group(0).upper() if offset else None
    return Event(start=begins, end=ends, timezone=written, source=source)


def _iso_time(value: object, zone_name: str | None) -> datetime | None:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip()
    if _DATE_ONLY.fullmatch(text):
        return None  # a day, not a start time
    try:
        parsed = date_parser.isoparse(text)
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        zone = _zone(zone_name) if zone_name else None
        if zone is None:
            return None  # no offset and no time zone: the start is unknown
        parsed = parsed.replace(tzinfo=zone)
    return _as_utc(parsed)


def _zone(name: str) -> tzinfo | None:
    """A time zone from an abbreviation of the table or an IANA name; None if unknown."""
    known = ZONE_ABBREVIATIONS.get(name.upper() if len(name) <= 5 else name)
    if isinstance(known, int | float):
        return fixed_offset(timedelta(hours=known))
    if isinstance(known, str):
        name = known
    if "/" not in name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # unknown, or not a valid key ("../x")
        return None


def _as_utc(moment: datetime) -> datetime | None:
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def event_from_json_feed(item: Mapping[str, Any]) -> Event | None:
    """The ``_event`` extension of a JSON Feed item (README, "Content kinds")."""
    extension = item.get("_event")
    if not isinstance(extension, dict):
        return None
    return event_from_iso(
        extension.get("start"),
        extension.get("end"),
        extension.get("timezone"),
        source="json feed",
    )


_LD_SCRIPT = re.compile(
    r"<script\b[^>]*?\btype\s*=\s*[\"']?application/ld\+json[\"']?[^>]*>(.*?)</script\s*>",
    re.IGNORECASE | re.DOTALL,
)


def event_from_json_ld(markup: str) -> Event | None:
    """The first schema.org Event (Event, EducationEvent, BusinessEvent, ...) described in
    ``<script type="application/ld+json">`` elements of raw (unsanitized) HTML."""
    if "ld+json" not in markup:  # most entries: one fast scan
        return None
    for number, script in enumerate(_LD_SCRIPT.finditer(markup)):
        if number >= MAX_JSON_LD_SCRIPTS:
            break
        text = script.group(1).strip()
        if not text or len(text) > MAX_JSON_LD_CHARS:
            continue
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            continue
        for node in _json_ld_nodes(document):
            if _is_event_type(node.get("@type")):
                event = event_from_iso(node.get("startDate"), node.get("endDate"), source="json-ld")
                if event is not None:
                    return event
    return None


def _json_ld_nodes(document: object) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD document (top level, lists, @graph, nested), breadth first."""
    todo: list[object] = [document]
    seen = 0
    while todo and seen < MAX_JSON_LD_NODES:
        value = todo.pop(0)
        seen += 1
        if isinstance(value, list):
            todo.extend(value)
        elif isinstance(value, dict):
            yield value
            todo.extend(v for v in value.values() if isinstance(v, dict | list))


def _is_event_type(value: object) -> bool:
    names = value if isinstance(value, list) else [value]
    for name in names:
        if isinstance(name, str):
            local = name.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            if local.endswith("Event"):
                return True
    return False


# --- text -------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?"
    r"|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE = (
    rf"(?:{_WEEKDAY}[\s,]+)?"
    rf"(?P<{{n}}date>\d{{{{1,2}}}}{_ORDINAL}\s+(?:of\s+)?{_MONTH},?\s+\d{{{{4}}}}"
    rf"|{_MONTH}\s+\d{{{{1,2}}}}{_ORDINAL},?\s+\d{{{{4}}}}"
    r"|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{4}}"
    r"|\d{{4}}-\d{{2}}-\d{{2}})(?![\d/.-]\d)"
)
_CLOCK = r"\d{{1,2}}(?:[:.h]\d{{2}})?"
_AM_PM = r"\s*[ap]\.?m\b\.?"
_TIME = (
    r"(?P<{n}time>\d{{1,2}}[:.h]\d{{2}}(?:" + _AM_PM + r")?|\d{{1,2}}" + _AM_PM + ")"
    r"(?:\s*(?:-|\u2013|\u2014|to|until)\s*(?P<{n}end>" + _CLOCK + "(?:" + _AM_PM + r")?))?"
)
_ABBREVIATIONS = "|".join(sorted(ZONE_ABBREVIATIONS, key=len, reverse=True))
_ZONE = (
    r"\(?\s*(?P<{n}zone>(?:UTC|GMT)\s*[+\-\u2212]\s*\d{{1,2}}(?::?\d{{2}})?"
    r"|(?-i:(?:" + _ABBREVIATIONS + r")))(?![\w+\-\u2212])\s*\)?"
)
_DATE_FIRST = (
    _DATE.format(n="a_")
    + r"[\s,]*(?:(?:at|from|starting\s+at|@|\||-|\u2013|\u2014)[\s,]*)?"
    + _TIME.format(n="a_")
    + r"\s*"
    + _ZONE.format(n="a_")
)
_TIME_FIRST = (
    _TIME.format(n="b_")
    + r"\s*"
    + _ZONE.format(n="b_")
    + r"[\s,]*(?:on\s+)?"
    + _DATE.format(n="b_")
)
_DATE_TIME = re.compile(
    rf"(?<![\w/.:-])(?:{_DATE_FIRST}|{_TIME_FIRST})",
    re.IGNORECASE,
)
# Every date-time above has a time zone, and zones are a few literal words: the full
# pattern only runs on a window around each one found (~10 times faster on plain text).
# A literal alternation the regex engine searches fast; anchors only say where to look.
_ZONE_ANCHOR = re.compile(r"(?:UTC|GMT|" + _ABBREVIATIONS + r")\b")
_WINDOW_BEFORE = 120  # characters before a zone: a weekday, date, connector and time range
_WINDOW_AFTER = 80  # characters after a zone: a date written after the time
_OFFSET = re.compile(r"(?:UTC|GMT)\s*([+\-\u2212])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
# Defaults that differ in every part: a part dateutil took from them was not in the text.
_DEFAULTS = (datetime(1901, 1, 1, 0, 0), datetime(1902, 2, 2, 1, 0))


def mentions_time_zone(text: str) -> bool:
    """False when ``text`` (plain or HTML) cannot hold a date-time ``event_from_text`` reads:
    a fast test that spares building the plain text of most entries."""
    return _ZONE_ANCHOR.search(text, 0, MAX_TEXT_CHARS) is not None


def event_from_text(text: str) -> Event | None:
    """The first date with a year, a time and a time zone in ``text``; None if there is none.

    A time range ("14:00-15:30 BST") gives the end too.
    """
    text = text[:MAX_TEXT_CHARS]
    for anchor in _ZONE_ANCHOR.finditer(text):
        start = max(0, anchor.start() - _WINDOW_BEFORE)
        window = text[start : anchor.end() + _WINDOW_AFTER]
        for found in _DATE_TIME.finditer(window):
            prefix = "a_" if found.group("a_date") else "b_"
            event = _event_from_match(found, prefix)
            if event is not None:
                return event
    return None


def _event_from_match(found: re.Match[str], prefix: str) -> Event | None:
    date_text = found.group(prefix + "date")
    zone_text = " ".join(found.group(prefix + "zone").split())
    zone = _text_zone(zone_text)
    if zone is None:
        return None
    start = _local_time(date_text, found.group(prefix + "time"), zone)
    if start is None:
        return None
    end = None
    if found.group(prefix + "end"):
        end = _local_time(date_text, found.group(prefix + "end"), zone)
        if end is not None and end <= start:
            end += timedelta(days=1)  # "23:00-01:00"
    start_utc = _as_utc(start)
    if start_utc is None:
        return None
    end_utc = _as_utc(end) if end is not None else None
    return Event(start=start_utc, end=end_utc, timezone=zone_text, source="text")


def zone_of(written: str) -> tzinfo | None:
    """The time zone an event's ``timezone`` names, as the partner wrote it: an IANA name,
    an abbreviation of ``ZONE_ABBREVIATIONS``, "UTC+9" or an ISO offset ("+09:00"); None
    when it names none we know."""
    iso = _ISO_OFFSET.fullmatch(written.strip())
    if iso is not None:
        written = f"UTC{iso[1]}{iso[2]}:{iso[3] or '00'}"
    return _text_zone(written.strip())


_ISO_OFFSET = re.compile(r"([+\-\u2212])(\d{2}):?(\d{2})?")


def _text_zone(written: str) -> tzinfo | None:
    offset = _OFFSET.fullmatch(written)
    if offset is None:
        return _zone(written)
    sign = -1 if offset.group(1) in ("-", "\u2212") else 1
    hours, minutes = int(offset.group(2)), int(offset.group(3) or 0)
    if hours > 14 or minutes >= 60:
        return None
    return fixed_offset(sign * timedelta(hours=hours, minutes=minutes))


def _local_time(date_text: str, time_text: str, zone: tzinfo) -> datetime | None:
    """dateutil reads the date and time; every part must come from the text."""
    clock = re.sub(r"(?<=\d)[.h](?=\d)", ":", time_text)
    clock = re.sub(r"\.", "", clock)  # "2 p.m." -> "2 pm"
    day_first = not re.match(r"\d{4}-", date_text)  # 12/05/2022 is 12 May; ISO is year first
    wording = f"{date_text} {clock}"
    try:
        readings = [
            date_parser.parse(wording, dayfirst=day_first, default=default) for default in _DEFAULTS
        ]
    except (ValueError, OverflowError):
        return None
    first, second = readings
    if (first.year, first.month, first.day, first.hour) != (
        second.year,
        second.month,
        second.day,
        second.hour,
    ):
        return None  # a part was missing after all: never guess it
    return first.replace(tzinfo=zone)
