"""The partner world served on 127.0.0.1, from its own process.

    python -m bench.partners --seed 8 --feeds 2000      # prints "ready PORT" once serving

Every feed is generated before the port is announced, so no generation happens while a pass
is timed. A minimal asyncio HTTP/1.1 server (keep-alive, ETag / If-None-Match,
Last-Modified / If-Modified-Since, 304) rather than ``http.server``: a thread per connection
costs more CPU than the client under test on a 2-core machine, and the bench should measure
syndicator, not the partners. Control paths, for the benchmark only:

    /_bench/bump?round=N&feeds=F   the feeds of ``world.changed_feeds(F, round N)`` (10% of the
                                   first F) get 2 new entries
    /_bench/reset           every feed back to version 0
    /_bench/stats           requests served so far: {"200": n, "304": n, "404": n}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from bench.world import FeedSpec, World, changed_feeds, feed_specs


@dataclass(frozen=True, slots=True)
class _Served:
    body: bytes
    etag: str
    last_modified: str
    content_type: str


class PartnerWorld:
    """What each path serves now; bumps replace a feed's bytes with its next version."""

    def __init__(self, seed: int, count: int) -> None:
        self.seed = seed
        self.count = count
        self._world = World(seed)
        self._specs = feed_specs(count)
        self._by_path = {spec.path: spec for spec in self._specs}
        self._versions = [0] * count
        self._original = [self._render(spec, 0) for spec in self._specs]
        self._served = list(self._original)
        self.stats: dict[str, int] = {"200": 0, "304": 0, "404": 0}

    def _render(self, spec: FeedSpec, version: int) -> _Served:
        body = self._world.body(spec, version)
        etag, last_modified = self._world.validators(spec, version, body)
        return _Served(body, etag, last_modified, spec.content_type)

    def feed(self, path: str) -> _Served | None:
        spec = self._by_path.get(path)
        return self._served[spec.index] if spec is not None else None

    def bump(self, round_number: int, count: int) -> list[str]:
        bumped = []
        for index in changed_feeds(min(count, self.count), self.seed, round_number):
            self._versions[index] += 1
            self._served[index] = self._render(self._specs[index], self._versions[index])
            bumped.append(self._specs[index].feed_id)
        return bumped

    def reset(self) -> None:
        self._versions = [0] * self.count
        self._served = list(self._original)


def _response(status: str, headers: dict[str, str], body: bytes, *, send_body: bool) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
    head.extend(f"{name}: {value}" for name, value in headers.items())
    data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    return data + body if send_body else data


def answer(world: PartnerWorld, method: str, target: str, headers: dict[str, str]) -> bytes:
    """The whole HTTP response to one request."""
    send_body = method != "HEAD"
    path = urlsplit(target).path
    if path.startswith("/_bench/"):
        return _control(world, target)
    served = world.feed(path)
    if served is None or method not in ("GET", "HEAD"):
        world.stats["404"] += 1
        plain = {"Content-Type": "text/plain"}
        return _response("404 Not Found", plain, b"not found\n", send_body=send_body)
    validators = {"ETag": served.etag, "Last-Modified": served.last_modified}
    if_none_match = headers.get("if-none-match")
    fresh = (
        served.etag in {tag.strip() for tag in if_none_match.split(",")}
        if if_none_match is not None
        else headers.get("if-modified-since") == served.last_modified
    )
    if fresh:
        world.stats["304"] += 1
        return _response("304 Not Modified", validators, b"", send_body=False)
    world.stats["200"] += 1
    headers_out = {"Content-Type": served.content_type, **validators}
    return _response("200 OK", headers_out, served.body, send_body=send_body)


def _control(world: PartnerWorld, target: str) -> bytes:
    parts = urlsplit(target)
    query = parse_qs(parts.query)
    result: object
    if parts.path == "/_bench/bump":
        result = world.bump(int(query["round"][0]), int(query["feeds"][0]))
    elif parts.path == "/_bench/reset":
        world.reset()
        result = "reset"
    elif parts.path == "/_bench/stats":
        result = dict(world.stats)
    else:
        return _response("404 Not Found", {}, b"", send_body=True)
    body = json.dumps(result).encode()
    return _response("200 OK", {"Content-Type": "application/json"}, body, send_body=True)


async def _serve_connection(
    world: PartnerWorld, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            writer.write(answer(world, method, target, headers))
            await writer.drain()
            if headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
                return
    except ConnectionError:
        return
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _main(seed: int, count: int, port: int) -> None:
    world = PartnerWorld(seed, count)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(world, reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"ready {bound}", flush=True)
    async with server:
        # Serve until the benchmark closes our stdin (or dies).
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(_main(args.seed, args.feeds, args.port))


if __name__ == "__main__":
    main()
