"""ticketstream.devstack.procs: reading a process's CPU time from /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ticketstream.devstack.procs import cpu_seconds


def test_cpu_seconds_grows_with_the_work_a_process_does() -> None:
    before = cpu_seconds(os.getpid())
    assert before is not None
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    after = cpu_seconds(os.getpid())
    assert after is not None
    assert after - before >= 0.15  # /proc counts in clock ticks (10 ms)


def test_cpu_seconds_of_no_process_is_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid names no process now
    assert cpu_seconds(child.pid) is None
