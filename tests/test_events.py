"""Webinar start times: structured data (JSON Feed ``_event``, ev:, xCal, JSON-LD) and text."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fuzzing import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from syndicator.events import (
    event_from_iso,
    event_from_json_feed,
    event_from_json_ld,
    event_from_text,
    mentions_time_zone,
)
from syndicator.model import Event
from syndicator.parse import parse_feed


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("text", "start", "zone"),
    [
        # The three notations of the issue, and more that partners write.
        ("Join us on Thursday 12 May 2022, 14:00 BST for a webinar.", utc(2022, 5, 12, 13), "BST"),
        ("Webinar: 12/05/2022 2pm CET. Register now.", utc(2022, 5, 12, 13), "CET"),
        ("It starts May 12, 2022 at 9:00 AM EDT and lasts an hour.", utc(2022, 5, 12, 13), "EDT"),
        ("Seoul, 12 May 2022 14:00 (UTC+9)", utc(2022, 5, 12, 5), "UTC+9"),
        ("2022-05-12 14:30 KST", utc(2022, 5, 12, 5, 30), "KST"),
        ("12.05.2022, 10.30 CEST", utc(2022, 5, 12, 8, 30), "CEST"),
        ("1 March 2023, 10 a.m. GMT", utc(2023, 3, 1, 10), "GMT"),
        ("Monday, 3rd of October 2022 at 2pm ET", utc(2022, 10, 3, 18), "ET"),  # EDT then
        ("Monday 5 December 2022 at 2pm ET", utc(2022, 12, 5, 19), "ET"),  # EST then
        ("14:00 CEST on 12 May 2022", utc(2022, 5, 12, 12), "CEST"),
        ("12 May 2022 14:00 UTC\u22125", utc(2022, 5, 12, 19), "UTC\u22125"),  # minus sign
        ("12 May 2022 14:00 GMT+05:30", utc(2022, 5, 12, 8, 30), "GMT+05:30"),
    ],
)
def test_text_notations(text: str, start: datetime, zone: str) -> None:
    event = event_from_text(text)
    assert event == Event(start=start, end=None, timezone=zone, source="text")


def test_utc_plus_nine_is_ahead_of_utc_not_behind() -> None:
    # dateutil alone reads "UTC+9" the POSIX way, as UTC-9: 14:00 would become 23:00 UTC.
    event = event_from_text("12 May 2022 14:00 UTC+9")
    assert event is not None and event.start == utc(2022, 5, 12, 5)


def test_numeric_dates_are_day_first_iso_dates_year_first() -> None:
    day_first = event_from_text("05/12/2022 14:00 CET")
    iso = event_from_text("2022-05-12 14:00 CET")
    assert day_first is not None and day_first.start == utc(2022, 12, 5, 13)
    assert iso is not None and iso.start == utc(2022, 5, 12, 13)  # CET is +1, literally


def test_a_time_range_gives_the_end() -> None:
    event = event_from_text("12 May 2022 | 14.00 \u2013 15.30 CEST")
    assert event is not None
    assert (event.start, event.end) == (utc(2022, 5, 12, 12), utc(2022, 5, 12, 13, 30))
    overnight = event_from_text("12 May 2022 23:00-01:00 UTC")
    assert overnight is not None and overnight.end == utc(2022, 5, 13, 1)


@pytest.mark.parametrize(
    "text",
    [
        "Register now for our webinar next week",  # dateparser finds "now" and "next week"
        "12 May 2022 14:00",  # no time zone: could be off by a day
        "12 May 14:00 BST",  # no year
        "Thursday 12 May 2022, BST",  # no time
        "12 May 2022",  # a day, not a start
        "12 May 2022 14:00 CST",  # ambiguous abbreviation (China or US Central)
        "12 May 2022 14:00 IST",  # India, Ireland or Israel
        "32/05/2022 14:00 CET",  # no such day
        "12 May 2022 25:00 CET",  # no such hour
        "12 May 2022 14:00 UTC+15",  # no such offset
        "",
    ],
)
def test_never_guesses(text: str) -> None:
    assert event_from_text(text) is None


def test_the_first_readable_date_time_wins() -> None:
    text = (
        "Updated 1 May 2022 09:00 CST. The webinar: 12 May 2022 14:00 BST; "
        "replay 13 May 2022 10:00 BST"
    )
    event = event_from_text(text)
    assert event is not None and event.start == utc(2022, 5, 12, 13)


def test_mentions_time_zone_is_a_cheap_hint() -> None:
    assert mentions_time_zone("<p>12 May, 14:00 <b>BST</b></p>")
    assert not mentions_time_zone("<p>Seoul opens its digital twin to member cities</p>")


# --------------------------------------------------------------------------- ISO 8601 values


def test_iso_with_offset_keeps_the_offset_as_written() -> None:
    event = event_from_iso("2022-05-12T14:00:00+01:00", "2022-05-12T15:00:00+01:00", source="ev")
    assert event == Event(utc(2022, 5, 12, 13), utc(2022, 5, 12, 14), "+01:00", "ev")
    basic = event_from_iso("20220512T130000Z", source="xcal")
    assert basic == Event(utc(2022, 5, 12, 13), None, "Z", "xcal")


def test_iso_without_offset_needs_a_time_zone() -> None:
    london = event_from_iso("2022-05-12T14:00", None, "Europe/London", source="json feed")
    assert london == Event(utc(2022, 5, 12, 13), None, "Europe/London", "json feed")
    seoul = event_from_iso("2022-05-12T14:00", None, "KST", source="json feed")
    assert seoul is not None and seoul.start == utc(2022, 5, 12, 5)
    assert event_from_iso("2022-05-12T14:00", source="json feed") is None


@pytest.mark.parametrize(
    ("start", "end", "zone"),
    [
        ("2022-05-12", None, "UTC"),  # a day, not a start time
        ("20220512", None, "UTC"),
        ("next thursday", None, None),
        ("2022-05-12T14:00", None, "../../etc/passwd"),  # not a time zone key
        ("2022-05-12T14:00", None, "Mars/Olympus_Mons"),
        ("2022-05-12T14:00", None, "CST"),  # ambiguous abbreviation
        (1652360400, None, None),  # not text
        (None, None, None),
    ],
)
def test_iso_values_that_give_no_start(start: object, end: object, zone: object) -> None:
    assert event_from_iso(start, end, zone, source="json feed") is None


def test_an_end_before_the_start_is_dropped() -> None:
    event = event_from_iso("2022-05-12T14:00:00Z", "2022-05-12T13:00:00Z", source="ev")
    assert event is not None and event.end is None


def test_json_feed_event_extension() -> None:
    item = {"_event": {"start": "2022-05-12T14:00:00+09:00", "end": "2022-05-12T15:30:00+09:00"}}
    assert event_from_json_feed(item) == Event(
        utc(2022, 5, 12, 5), utc(2022, 5, 12, 6, 30), "+09:00", "json feed"
    )
    assert event_from_json_feed({"_event": "2022-05-12T14:00:00Z"}) is None
    assert event_from_json_feed({}) is None


# --------------------------------------------------------------------------- JSON-LD


def ld(document: str) -> str:
    return f'<p>Join us</p><script type="application/ld+json">{document}</script><p>end</p>'


@pytest.mark.parametrize(
    "document",
    [
        '{"@context": "https://schema.org", "@type": "Event",'
        ' "startDate": "2022-05-12T14:00:00+09:00"}',
        '[{"@type": "Organization"},'
        ' {"@type": "EducationEvent", "startDate": "2022-05-12T05:00:00Z"}]',
        '{"@graph": [{"@type": "WebPage"},'
        ' {"@type": ["BusinessEvent"], "startDate": "2022-05-12T14:00+09:00"}]}',
        '{"@type": "WebPage", "about":'
        ' {"@type": "https://schema.org/Event", "startDate": "2022-05-12T05:00Z"}}',
    ],
)
def test_json_ld_event_shapes(document: str) -> None:
    event = event_from_json_ld(ld(document))
    assert event is not None
    assert (event.start, event.source) == (utc(2022, 5, 12, 5), "json-ld")


def test_json_ld_without_a_usable_event() -> None:
    assert event_from_json_ld("<p>no structured data</p>") is None
    assert event_from_json_ld(ld('{"@type": "Event", "startDate": "2022-05-12T14:00"}')) is None
    assert (
        event_from_json_ld(ld('{"@type": "Article", "datePublished": "2022-05-12T14:00Z"}')) is None
    )
    assert event_from_json_ld(ld("{not json")) is None
    # A broken script does not hide a good one after it.
    both = ld("{not json") + ld('{"@type": "Event", "startDate": "2022-05-12T05:00:00Z"}')
    assert event_from_json_ld(both) is not None


# --------------------------------------------------------------------------- parse.py


RSS10_EV = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:e="http://purl.org/rss/1.0/modules/event/">
  <channel rdf:about="https://we-gov.org/"><title>WeGO events</title><link>https://we-gov.org/</link>
    <description>d</description></channel>
  <item rdf:about="https://we-gov.org/events/assembly">
    <title>Members' assembly (online)</title><link>https://we-gov.org/events/assembly</link>
    <e:startdate>2022-05-12T14:00:00+09:00</e:startdate><e:enddate>2022-05-12T16:00:00+09:00</e:enddate>
    <e:location>Online</e:location>
  </item>
</rdf:RDF>"""

RSS20_XCAL = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:xc="urn:ietf:params:xml:ns:xcal"><channel><title>t</title>
  <link>https://www.smartcitiesworld.net/</link><description>d</description>
  <item><title>Urban data masterclass</title><link>https://www.smartcitiesworld.net/events/1</link>
    <xc:dtstart>20220512T130000Z</xc:dtstart><xc:dtend>20220512T140000Z</xc:dtend></item>
  <item><title>No event</title><link>https://www.smartcitiesworld.net/news/2</link></item>
</channel></rss>"""


def test_parse_reads_the_rss_event_module_under_any_prefix() -> None:
    feed = parse_feed(RSS10_EV, content_type="application/rdf+xml", url="https://we-gov.org/rss")
    assert feed.entries[0].event == Event(utc(2022, 5, 12, 5), utc(2022, 5, 12, 7), "+09:00", "ev")


def test_parse_reads_xcal_under_any_prefix() -> None:
    feed = parse_feed(RSS20_XCAL, content_type="application/rss+xml", url="https://x.org/rss")
    assert feed.entries[0].event == Event(utc(2022, 5, 12, 13), utc(2022, 5, 12, 14), "Z", "xcal")
    assert feed.entries[1].event is None


def test_parse_reads_the_json_feed_event_extension() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": ['
        b'{"id": "1", "title": "Webinar", "_event": {"start": "2022-05-12T14:00:00",'
        b' "timezone": "Europe/London"}}, {"id": "2", "title": "Article"}]}'
    )
    feed = parse_feed(body, content_type="application/feed+json", url="https://x.org/feed.json")
    assert feed.entries[0].event == Event(utc(2022, 5, 12, 13), None, "Europe/London", "json feed")
    assert feed.entries[1].event is None


# --------------------------------------------------------------------------- any input

FUZZ = fuzz_settings(300)
_PIECES = st.sampled_from(
    [
        "12",
        "/05/",
        "2022",
        " May ",
        "Thursday ",
        ", ",
        "14:00",
        ".30",
        " 2pm",
        " a.m.",
        " BST",
        " UTC+",
        "9",
        "-",
        "\u2013",
        " (",
        ")",
        " at ",
        "T",
        "Z",
        "+09:00",
        "99",
        " ET",
        "\n",
    ]
)


@FUZZ
@given(st.one_of(st.text(max_size=200), st.lists(_PIECES, max_size=12).map("".join)))
def test_text_never_raises_and_is_utc(text: str) -> None:
    event = event_from_text(text)
    if event is not None:
        assert event.start.tzinfo is UTC and event.source == "text"
        assert event.end is None or event.end > event.start


@FUZZ
@given(
    st.one_of(st.text(max_size=40), st.lists(_PIECES, max_size=8).map("".join)),
    st.text(max_size=20),
)
def test_iso_never_raises(start: str, zone: str) -> None:
    event = event_from_iso(start, start, zone, source="json feed")
    assert event is None or event.start.tzinfo is UTC


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.text(max_size=30) | st.integers(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["@type", "@graph", "startDate", "endDate", "x"]), inner, max_size=4
            )
        ),
        max_leaves=20,
    )
)
def test_json_ld_never_raises(document: object) -> None:
    event_from_json_ld(ld(json.dumps(document)))
