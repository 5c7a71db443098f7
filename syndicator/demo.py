"""``syndicator demo``: the whole pipeline on bundled sample partner feeds, on 127.0.0.1 only.

The sample feeds (``syndicator/demo_feeds/``) are one partner feed in each format we read:
WeGO's news as Atom, SmartCitiesWorld's news as RSS 2.0, its whitepapers as RSS 1.0 and its
webinars as JSON Feed 1.1. The partnership press release and the Seoul digital twin story
appear at both partners under different URLs and title case, so the merged feeds show
dedupe at work.
"""

from __future__ import annotations

import logging
import re
import socket
import tempfile
import threading
from datetime import UTC, date, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

from syndicator.server import CONTENT_TYPES, bind

log = logging.getLogger(__name__)

DEMO_FEEDS = (
    # (feed id, file, kind, priority, name)
    ("wego-news", "wego-news.atom", "article", 0, "WeGO News"),
    ("scw-news", "scw-news.rss", "article", 0, "SmartCitiesWorld News"),
    ("scw-whitepapers", "scw-whitepapers.rdf", "whitepaper", 0, "SmartCitiesWorld Whitepapers"),
    ("scw-webinars", "scw-webinars.json", "webinar", 10, "SmartCitiesWorld Webinars"),
)


def demo_feeds_dir() -> Path:
    """The folder of bundled sample feeds (package data, installed as plain files)."""
    return Path(str(files("syndicator") / "demo_feeds"))


class _PartnerFiles(SimpleHTTPRequestHandler):
    """The sample partners: plain static files with feed content types."""

    extensions_map = {  # noqa: RUF012 (the stdlib declares it as a plain class attribute)
        **SimpleHTTPRequestHandler.extensions_map,
        **CONTENT_TYPES,
    }

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("demo partner: %s", format % args)


# The sample's first webinar starts then (scw-webinars.json). The demo moves every date of
# the sample feeds on by the whole weeks since (weekdays stay right), so one webinar has just
# passed and two are ahead, whenever it runs. (Counted from the sample's Wednesday, the week
# turned a day early: on a Wednesday all three were ahead.)
FIRST_WEBINAR_START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_SHORT_MONTHS = tuple(month[:3] for month in _MONTHS)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")  # also inside ids
_RFC_822_DATE = re.compile(
    rf"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{{2}}) ({'|'.join(_SHORT_MONTHS)}) (\d{{4}})\b"
)
_WRITTEN_DATE = re.compile(
    rf"\b(?:{'|'.join(_DAYS)}) (\d{{1,2}}) ({'|'.join(_MONTHS)}) (\d{{4}})\b"
)


def weeks_to_shift(now: datetime) -> int:
    """Whole weeks from the sample's first webinar to ``now`` (0 before it)."""
    return max(0, (now - FIRST_WEBINAR_START) // timedelta(weeks=1))


def shift_dates(text: str, days: int) -> str:
    """A sample feed with its dates ``days`` later: ISO dates (also inside ids), RFC 822
    dates and written ones ("Thursday 10 December 2026"), weekdays recomputed."""
    if not days:
        return text
    later = timedelta(days=days)

    def iso(match: re.Match[str]) -> str:
        year, month, day = map(int, match.groups())
        return (date(year, month, day) + later).isoformat()

    def rfc_822(match: re.Match[str]) -> str:
        day, month, year = match.groups()
        moved = date(int(year), _SHORT_MONTHS.index(month) + 1, int(day)) + later
        weekday, short_month = _DAYS[moved.weekday()][:3], _SHORT_MONTHS[moved.month - 1]
        return f"{weekday}, {moved.day:02d} {short_month} {moved.year}"

    def written(match: re.Match[str]) -> str:
        day, month, year = match.groups()
        moved = date(int(year), _MONTHS.index(month) + 1, int(day)) + later
        return f"{_DAYS[moved.weekday()]} {moved.day} {_MONTHS[moved.month - 1]} {moved.year}"

    text = _ISO_DATE.sub(iso, text)
    text = _RFC_822_DATE.sub(rfc_822, text)
    return _WRITTEN_DATE.sub(written, text)


def write_partner_files(folder: Path, now: datetime | None = None) -> Path:
    """The sample feeds, their dates moved on to ``now``'s week, in ``folder``/partners."""
    days = 7 * weeks_to_shift(now or datetime.now(UTC))
    partners = folder / "partners"
    partners.mkdir(parents=True, exist_ok=True)
    for _, file_name, *_ in DEMO_FEEDS:
        text = (demo_feeds_dir() / file_name).read_text(encoding="utf-8")
        (partners / file_name).write_text(shift_dates(text, days), encoding="utf-8")
    return partners


def start_partner_server(folder: Path) -> ThreadingHTTPServer:
    """Serve the sample partner feeds (``write_partner_files``) on 127.0.0.1, on a free
    port, in a thread."""
    handler = partial(_PartnerFiles, directory=str(write_partner_files(folder)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo partners", daemon=True).start()
    return server


def partner_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/"


def demo_folder(folder: Path | None) -> Path:
    if folder is None:
        return Path(tempfile.mkdtemp(prefix="syndicator-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


def write_demo_config(folder: Path, partner_url: str, site_url: str) -> Path:
    """A feeds.yaml for the demo: the sample partners, output and database in ``folder``."""
    lines = [
        "# Written by `syndicator demo`: sample partners served on 127.0.0.1.",
        "site:",
        "  title: WeGO Partner Digest (demo)",
        f"  url: {site_url}",
        "  description: News, whitepapers and webinars from WeGO and its partners.",
        "  language: en",
        "  max_items: 50",
        "storage:",
        "  database: demo.db",
        "  output_dir: public",
        "allow_private_networks: true  # the sample partners are on 127.0.0.1",
        "feeds:",
    ]
    for feed_id, file_name, kind, priority, name in DEMO_FEEDS:
        lines += [
            f"  - id: {feed_id}",
            f"    url: {partner_url}{file_name}",
            f"    name: {name}",
            f"    kind: {kind}",
            f"    priority: {priority}",
        ]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def output_socket(folder: Path, host: str, port: int) -> socket.socket:
    """Bind the socket for the published files first: the site URL needs its port."""
    (folder / "public").mkdir(parents=True, exist_ok=True)
    return bind(host, port)
