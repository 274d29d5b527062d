"""Measure the local stack's start-up with caches in place (Kafka jars, apt packages).

``python -m ticketstream.devstack.measure`` starts a private stack on free ports in a temp dir
three times — fresh data dir, then restart on existing data, then after SIGKILL of the Kafka JVM —
and prints the seconds each ``up`` and ``down`` took as JSON. The target is ``up`` ≤ 60 s.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import sys
import time

from ticketstream.devstack import procs
from ticketstream.devstack.testing import private_root, private_stack_settings


def main() -> int:
    root = private_root("ticketstream-measure-")
    settings = private_stack_settings(root, prometheus_scrape_interval="5s")
    from ticketstream.devstack.stack import Stack

    stack = Stack(settings, log=lambda _msg: None)
    result: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "kafka_version": settings.kafka_version,
    }
    try:
        t = time.monotonic()
        stack.up()
        result["up_fresh_data_s"] = round(time.monotonic() - t, 2)
        t = time.monotonic()
        stack.down()
        result["down_s"] = round(time.monotonic() - t, 2)
        t = time.monotonic()
        stack.up()
        result["up_existing_data_s"] = round(time.monotonic() - t, 2)
        rec = procs.read_pidfile(stack.pidfile("kafka"))
        assert rec is not None
        os.kill(rec.pid, signal.SIGKILL)
        while procs.is_alive(rec.pid, rec.start_ticks):
            time.sleep(0.05)
        t = time.monotonic()
        stack.up()
        result["up_after_kafka_sigkill_s"] = round(time.monotonic() - t, 2)
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
