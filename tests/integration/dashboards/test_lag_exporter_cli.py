"""`ticketstream lag-exporter` as a process: serves /metrics with Kafka and ClickHouse up,
stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ticketstream.devstack.procs import free_port


def test_lag_exporter_serves_metrics_and_stops_on_sigterm(stack) -> None:
    port = free_port()
    env = {**os.environ, **stack.env(), "TICKETSTREAM_FRESHNESS_TABLES": ""}
    exe = Path(sys.executable).with_name("ticketstream")
    proc = subprocess.Popen(
        [str(exe), "lag-exporter", "--port", str(port), "--addr", "127.0.0.1", "--interval", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    body = r.read().decode()
                # /metrics answers before the first poll of both servers has finished
                if "ticketstream_kafka_up 1.0" in body and "ticketstream_clickhouse_up 1.0" in body:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert "ticketstream_kafka_up 1.0" in body
        assert "ticketstream_clickhouse_up 1.0" in body
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert f"lag exporter: /metrics on 127.0.0.1:{port}" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
