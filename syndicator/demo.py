"""``syndicator demo``: the whole pipeline on bundled sample partner feeds, on 127.0.0.1 only.

The sample feeds (``syndicator/demo_feeds/``) are one partner feed in each format we read:
WeGO's news as Atom, SmartCitiesWorld's news as RSS 2.0, its whitepapers as RSS 1.0 and its
webinars as JSON Feed 1.1. The partnership press release and the Seoul digital twin story
appear at both partners under different URLs and title case, so the merged feeds show
dedupe at work.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
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


def start_partner_server() -> ThreadingHTTPServer:
    """Serve the sample partner feeds on 127.0.0.1, on a free port, in a thread."""
    handler = partial(_PartnerFiles, directory=str(demo_feeds_dir()))
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
