"""Process and port helpers for the local stack: pid files, liveness, who holds a port.

Linux only (reads /proc). A pid file holds ``<pid> <start ticks>`` so a recycled pid is never
mistaken for one of ours; a zombie counts as dead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start_ticks: int


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces/parentheses: split after the last ')'.
    rest = raw[raw.rfind(")") + 2 :].split()
    return rest  # rest[0] is state (field 3), rest[19] is starttime (field 22)


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    return int(fields[19])


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds ``pid`` has used (and its reaped children), from /proc; None
    when there is no such process."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 13:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def is_alive(pid: int, ticks: int | None = None) -> bool:
    """True when ``pid`` runs and, if given, started at ``ticks``.

    A zombie is dead — but after SIGKILL a multi-threaded process (the JVM) shows its main
    thread as a zombie while other threads still exit and hold its sockets: alive until the
    last thread is gone.
    """
    fields = _stat_fields(pid)
    if fields is None or (ticks is not None and int(fields[19]) != ticks):
        return False
    if fields[0] not in ("Z", "X"):
        return True
    try:
        tasks = [t.name for t in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return False
    for tid in tasks:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X"):
            return True
    return False


def write_pidfile(path: Path, pid: int) -> None:
    ticks = start_ticks(pid) or 0
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid} {ticks}\n")
    tmp.replace(path)


def read_pidfile(path: Path) -> PidRecord | None:
    try:
        parts = path.read_text().split()
        return PidRecord(int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)
    except (OSError, ValueError, IndexError):
        return None


def running_pid(path: Path) -> int | None:
    """The pid recorded in ``path`` if that very process still runs."""
    rec = read_pidfile(path)
    if rec is None:
        return None
    return rec.pid if is_alive(rec.pid, rec.start_ticks or None) else None


def terminate(pid: int, ticks: int | None, timeout: float = 20.0) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL; returns when the process is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        if not is_alive(pid, ticks):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if not is_alive(pid, ticks):
                return
            time.sleep(0.1)


def _reap(pid: int) -> None:
    """Reap ``pid`` if it is our own child (otherwise init does)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could listen on ``host:port`` (servers set SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def wait_ports_free(ports: list[int], timeout: float = 20.0) -> list[int]:
    """Wait until every port is free; return the ones still taken at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        taken = [p for p in ports if not port_is_free(p)]
        if not taken or time.monotonic() >= deadline:
            return taken
        time.sleep(0.1)


def free_port() -> int:
    """A port that is free right now on 127.0.0.1 (for tests and private stacks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10:
                continue
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def port_holder(port: int) -> str | None:
    """``"pid N (name)"`` of the process listening on ``port``, when /proc tells."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    name = (entry / "comm").read_text().strip()
                    return f"pid {entry.name} ({name})"
            except OSError:
                continue
    return None
