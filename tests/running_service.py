"""``syndicator run`` (or ``serve``) as a subprocess, the way an operator starts it.

    with RunningService(config_path) as service:        # `syndicator run -c ... --port 0`
        service.wait_for(lambda: service.feed("scw-news")["health"] == "ok")
        body = service.get("all.atom").body
        assert "scw-news" in service.log_text()
    assert service.returncode == 0                       # SIGTERM on leaving the block

It reads the URL from the first line of stdout ("... at http://127.0.0.1:PORT/ (Ctrl-C to
stop)"), collects stderr in a thread (one log line per event) and waits on events by polling
with short sleeps under a generous deadline, never with long fixed sleeps.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

WAIT = 30.0  # seconds: generous, for a loaded CI machine; events normally come in 1-5 s


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


class RunningService:
    def __init__(self, config: Path, verb: str = "run", *extra: str) -> None:
        self.config = config
        self.command = [
            sys.executable,
            "-m",
            "syndicator",
            verb,
            "-c",
            str(config),
            "--port",
            "0",
            *extra,
        ]
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self._log: list[str] = []
        self._log_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self.returncode: int | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> Self:
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "SYNDICATOR_LOG_LEVEL": "INFO"},
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=WAIT)
            raise AssertionError(f"{self.command} exited at once:\n{self.log_text()}")
        self.url = line.rsplit(" at ", 1)[1].split()[0]
        return self

    def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            with self._log_lock:
                self._log.append(line.rstrip("\n"))

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send ``sig`` and wait at most ``timeout`` seconds for the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"no exit within {timeout} s of {sig.name}:\n{self.log_text()}"
            ) from None
        if self._reader is not None:
            self._reader.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return self.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()

    # --- looking at it ------------------------------------------------------------------

    def log_lines(self) -> list[str]:
        with self._log_lock:
            return list(self._log)

    def log_text(self) -> str:
        return "\n".join(self.log_lines())

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        """GET ``path`` exactly as written (no normalisation of ``..`` or ``%2e``)."""
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            names = {name.lower(): value for name, value in response.getheaders()}
            return Reply(response.status, names, body)
        finally:
            connection.close()

    def status(self) -> dict[str, Any]:
        reply = self.get("/status.json")
        assert reply.status == 200, reply
        document: dict[str, Any] = json.loads(reply.body)
        return document

    def feed(self, feed_id: str) -> dict[str, Any]:
        for feed in self.status()["feeds"]:
            if feed["id"] == feed_id:
                return dict(feed)
        raise KeyError(feed_id)

    def wait_for(
        self, condition: Callable[[], object], what: str = "", timeout: float = WAIT
    ) -> Any:
        """Poll ``condition`` every 0.1 s until it returns something true; return that."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the service exited while waiting for {what}:\n{self.log_text()}"
                )
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what or condition}:\n"
                    f"{self.log_text()}"
                )
            time.sleep(0.1)
