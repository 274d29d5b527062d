"""The connector processes without an HTTP server of their own — ``ticketstream gateway
outbound`` and ``ticketstream gateway email-poll`` — serve their metrics on /metrics (the
ports of Prometheus jobs ``outbound`` and ``email-poll``), so the outbound-delivery panel and
alert see production data, not only in-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ticketstream.devstack.procs import free_port

REPO = Path(__file__).resolve().parents[3]


def scrape_text(port: int, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"the process exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                return r.read().decode()
        except OSError:
            assert time.monotonic() < deadline, f"no /metrics on :{port} after {timeout} s"
            time.sleep(0.3)


def test_outbound_and_email_poll_processes_serve_their_metrics(stack, tmp_path: Path) -> None:
    ports = {"outbound": free_port(), "email-poll": free_port()}
    env = {
        **os.environ,
        **stack.env(),
        "TICKETSTREAM_OUTBOUND_METRICS_PORT": str(ports["outbound"]),
        "TICKETSTREAM_EMAIL_POLL_METRICS_PORT": str(ports["email-poll"]),
        "TICKETSTREAM_IMAP_PORT": str(free_port()),  # nobody listens: polls fail, it carries on
        "TICKETSTREAM_IMAP_POLL_SECONDS": "60",
        "TICKETSTREAM_OUTBOUND_GROUP_ID": f"outbound-metrics-{tmp_path.name}",
    }
    cmd = [sys.executable, "-m", "ticketstream.cli", "gateway"]
    procs = {
        "outbound": [*cmd, "outbound"],
        "email-poll": [*cmd, "email-poll", "--state", str(tmp_path / "imap.json")],
    }
    logs = {job: (tmp_path / f"{job}.log").open("wb") for job in procs}
    running = {
        job: subprocess.Popen(argv, env=env, cwd=REPO, stdout=logs[job], stderr=subprocess.STDOUT)
        for job, argv in procs.items()
    }
    try:
        outbound = scrape_text(ports["outbound"], running["outbound"], 60)
        assert "# TYPE ticketstream_outbound_messages_total counter" in outbound
        mail = scrape_text(ports["email-poll"], running["email-poll"], 60)
        assert "# TYPE ticketstream_email_messages_total counter" in mail
    finally:
        for proc in running.values():
            proc.terminate()
        for proc in running.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for f in logs.values():
            f.close()
