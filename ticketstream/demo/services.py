"""The demo's services as child processes: started with their own settings and log file,
checked for readiness by a real round trip, stopped by pid (SIGTERM, then SIGKILL).

Each child runs in its own session so a Ctrl-C in the terminal reaches only the demo, which
then stops its children in order (producers first) instead of all of them dying at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


class ServiceError(Exception):
    """A service did not start or died; the message names it and quotes its log."""


@dataclass
class Service:
    """One ``ticketstream …`` child process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_url: str | None = None  # GET must answer 200 when the service is ready
    ready_log: str | None = None  # or this text must appear in its log
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ticketstream.cli", *self.argv],
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def tail(self, chars: int = 1500) -> str:
        try:
            data = self.log_path.read_bytes()[-chars:].decode(errors="replace")
        except OSError:
            return ""
        return " | ".join(ln.strip() for ln in data.splitlines() if ln.strip())[-chars:]

    def check_alive(self) -> None:
        if self.proc is None:
            raise ServiceError(f"{self.name} was never started")
        code = self.proc.poll()
        if code is not None:
            raise ServiceError(
                f"{self.name} (pid {self.proc.pid}) exited with status {code}; "
                f"its log {self.log_path} ends: {self.tail()}"
            )

    def is_ready(self) -> bool:
        self.check_alive()
        if self.ready_url is not None:
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as resp:
                    if resp.status != 200:
                        return False
            except (urllib.error.URLError, OSError):
                return False
        if self.ready_log is not None:
            try:
                if self.ready_log.encode() not in self.log_path.read_bytes():
                    return False
            except OSError:
                return False
        return True

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the child by pid, wait, SIGKILL if it does not exit; close its log."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None


def wait_ready(services: list[Service], timeout: float, out: Callable[[str], None] = print) -> None:
    """Return when every service is ready; raise ServiceError naming the ones that are not."""
    deadline = time.monotonic() + timeout
    pending = list(services)
    while pending:
        pending = [s for s in pending if not s.is_ready()]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise ServiceError(
                f"not ready after {timeout:.0f} s: "
                + "; ".join(f"{s.name} (log {s.log_path}: {s.tail(400)})" for s in pending)
            )
        time.sleep(0.5)


def stop_all(services: list[Service]) -> None:
    """Stop ``services`` in order, each by its pid."""
    for s in services:
        s.stop()
