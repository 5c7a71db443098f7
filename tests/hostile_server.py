"""A partner server that misbehaves on purpose, on 127.0.0.1 (issue 7).

``HostileServer`` is a ``PartnerServer`` (static routes, redirects, gzip, slow chunks, error
statuses, Retry-After: see its docstring) plus *behaviours*: handlers that write whatever
they like to the socket, for what no well-meaning server does::

    with HostileServer() as server:
        server.endless("/huge")                  # a body that never ends
        server.dribble("/slowloris", b"<rss>")   # one byte at a time, forever
        server.silent("/hang")                   # reads the request, never answers
        server.cut_short("/reset", body)         # promises a length, closes half-way
        server.raw("/garbage", b"HELLO\\r\\n\\r\\n") # not HTTP at all

The feeds themselves (entity bombs, hostile HTML, 100,000 entries, ...) are built by the
functions at the end, so tests/test_hostile.py reads as a table of hazards.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import cast

from partner_server import LoggedRequest, PartnerServer, _Handler, _HTTPServer

__all__ = ["HostileServer", "gzip_bomb", "rss", "rss_item"]

Behaviour = Callable[[BaseHTTPRequestHandler, "HostileServer"], None]

_PIECE = 64 * 1024


class HostileServer(PartnerServer):
    """PartnerServer plus per-path behaviours that write raw responses."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._behaviours: dict[str, Behaviour] = {}

    def _handler_class(self) -> type[_Handler]:
        return _HostileHandler

    def behave(self, path: str, behaviour: Behaviour) -> None:
        """Answer GET ``path`` (query ignored) by calling ``behaviour(handler, server)``."""
        with self._lock:
            self._behaviours[path] = behaviour

    def behaviour_for(self, path: str) -> Behaviour | None:
        with self._lock:
            return self._behaviours.get(path.split("?", 1)[0])

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # --- ready-made behaviours --------------------------------------------------------

    def endless(self, path: str, piece: bytes = b"<item><title>x</title></item>") -> None:
        """200 with a body that never ends (no Content-Length, closed by the client)."""

        def behaviour(handler: BaseHTTPRequestHandler, server: HostileServer) -> None:
            _start(handler, 200, {"Content-Type": "application/rss+xml", "Connection": "close"})
            handler.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
            block = piece * max(1, _PIECE // len(piece))
            while not server.stopping:
                handler.wfile.write(block)

        self.behave(path, behaviour)

    def dribble(self, path: str, body: bytes, *, every: float = 0.2) -> None:
        """200, then ``body`` one byte every ``every`` seconds, then more bytes forever."""

        def behaviour(handler: BaseHTTPRequestHandler, server: HostileServer) -> None:
            _start(handler, 200, {"Content-Type": "application/rss+xml", "Connection": "close"})
            position = 0
            while server._sleep(every):
                handler.wfile.write(body[position : position + 1] or b" ")
                handler.wfile.flush()
                position += 1

        self.behave(path, behaviour)

    def silent(self, path: str) -> None:
        """Read the request and never answer (until the server stops)."""

        def behaviour(handler: BaseHTTPRequestHandler, server: HostileServer) -> None:
            server._sleep(3600)
            handler.close_connection = True

        self.behave(path, behaviour)

    def cut_short(self, path: str, body: bytes) -> None:
        """Promise ``len(body)`` bytes, send half of them, close the connection."""

        def behaviour(handler: BaseHTTPRequestHandler, server: HostileServer) -> None:
            headers = {"Content-Type": "application/rss+xml", "Content-Length": str(len(body))}
            _start(handler, 200, headers)
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True

        self.behave(path, behaviour)

    def raw(self, path: str, data: bytes) -> None:
        """Write ``data`` as the whole response (no status line unless it has one), close."""

        def behaviour(handler: BaseHTTPRequestHandler, server: HostileServer) -> None:
            handler.wfile.write(data)
            handler.wfile.flush()
            handler.close_connection = True

        self.behave(path, behaviour)

    def huge_length(self, path: str, length: int) -> None:
        """Announce a ``Content-Length`` of ``length`` bytes and send zeros until stopped."""

        def behaviour(handler: BaseHTTPRequestHandler, server: HostileServer) -> None:
            _start(
                handler, 200, {"Content-Type": "application/rss+xml", "Content-Length": str(length)}
            )
            zeros = bytes(_PIECE)
            while not server.stopping:
                handler.wfile.write(zeros)

        self.behave(path, behaviour)


def _start(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()


class _HostileHandler(_Handler):
    def do_GET(self) -> None:
        server = cast(HostileServer, cast(_HTTPServer, self.server).partner)
        behaviour = server.behaviour_for(self.path)
        if behaviour is None:
            super().do_GET()
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        server._record(LoggedRequest(self.command, self.path, headers))
        # The client giving up (deadline, size cap) is what these behaviours are for.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            behaviour(self, server)
        self.close_connection = True


# --- hostile feeds --------------------------------------------------------------------


def rss_item(
    title: str,
    *,
    guid: str | None = None,
    link: str | None = None,
    description: str = "",
    date: str | None = "Mon, 02 Mar 2026 08:00:00 GMT",
    extra: str = "",
) -> str:
    """One RSS 2.0 ``<item>``; values are inserted as given (escape them yourself)."""
    parts = [f"<title>{title}</title>"]
    if guid is not None:
        parts.append(f"<guid>{guid}</guid>")
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if description:
        parts.append(f"<description>{description}</description>")
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    return "<item>" + "".join(parts) + extra + "</item>"


def rss(
    items: str, *, title: str = "Hostile partner", prolog: str = "", encoding: str = "utf-8"
) -> str:
    """An RSS 2.0 document around ``items``; ``prolog`` goes after the XML declaration."""
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n{prolog}'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>https://hostile.example.org/</link>"
        f"<description>d</description>{items}</channel></rss>\n"
    )


def gzip_bomb(mib: int) -> bytes:
    """``mib`` MiB of zeros, gzipped to about 1 KiB per MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    return b"".join([compressor.compress(block) for _ in range(mib)] + [compressor.flush()])
