"""`ticketstream dev up|status|down` on a private stack of this module (never the dev stack).

One stack is reused by every test here; each test first puts it in the state it needs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.structs import OffsetAndMetadata, TopicPartition

from ticketstream.devstack import Stack
from ticketstream.devstack.procs import is_alive, port_is_free, read_pidfile
from ticketstream.devstack.stack import SERVICES
from ticketstream.devstack.testing import StackHandle, private_root, private_stack_settings


@dataclass
class Cli:
    handle: StackHandle
    cwd: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ticketstream.cli", "dev", *args],
            cwd=self.cwd,
            env={**os.environ, **self.handle.env(), **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    @property
    def stack(self) -> Stack:
        return self.handle.stack

    def all_ports(self) -> list[int]:
        return [p for name in SERVICES for p, _ in self.stack.ports(name)]

    def stack_processes(self) -> list[str]:
        """Every process whose command line mentions this stack's dir."""
        found = []
        marker = str(self.stack.dir).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in cmdline and state != "Z":
                found.append(f"{entry.name}: {cmdline[:120]!r}")
        return found

    def assert_nothing_running(self) -> None:
        assert self.stack_processes() == []
        assert [p for p in self.all_ports() if not port_is_free(p)] == []


@pytest.fixture(scope="module")
def cli() -> Iterator[Cli]:
    root = private_root("ticketstream-lifecycle-")
    settings = private_stack_settings(root)
    handle = StackHandle(settings, Stack(settings), private=True)
    try:
        yield Cli(handle, root)
    finally:
        handle.stack.down()
        shutil.rmtree(root, ignore_errors=True)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ticketstream dev up:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_up_twice_then_status(cli: Cli) -> None:
    cli.stack.down()
    first = cli.run("up")
    assert first.returncode == 0, first.stderr
    assert [line.split()[1] for line in first.stdout.splitlines()[:3]] == ["started"] * 3
    second = cli.run("up")
    assert second.returncode == 0, second.stderr
    assert "stack already running" in second.stdout
    assert second.stdout.count("already running (pid") == 3
    status = cli.run("status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count(", ready") == 3


def test_down_stops_every_process_and_frees_ports(cli: Cli) -> None:
    cli.stack.up()
    pids = [read_pidfile(cli.stack.pidfile(n)) for n in SERVICES]
    assert all(p is not None and is_alive(p.pid) for p in pids)
    down = cli.run("down")
    assert down.returncode == 0, down.stderr
    assert "stopped: prometheus, clickhouse, kafka" in down.stdout
    assert not any(p is not None and is_alive(p.pid, p.start_ticks) for p in pids)
    cli.assert_nothing_running()
    status = cli.run("status")
    assert status.returncode == 1
    assert status.stdout.count("stopped") == 3
    again = cli.run("down")
    assert again.returncode == 0 and "nothing was running" in again.stdout


def test_up_and_down_of_one_server_leave_the_others_alone(cli: Cli) -> None:
    cli.stack.down()
    assert cli.stack.up(["clickhouse"]) == {"clickhouse": "started"}
    status = cli.stack.status(check=False)
    assert [n for n, s in status.items() if s.running] == ["clickhouse"]
    cli.stack.round_trip("clickhouse")
    assert cli.stack.down(["kafka"]) == []  # not running: nothing to stop
    assert cli.stack.up(["kafka", "clickhouse"]) == {
        "kafka": "started",
        "clickhouse": f"already running (pid {status['clickhouse'].pid})",
    }
    assert cli.stack.down(["clickhouse"]) == ["clickhouse"]
    status = cli.stack.status(check=False)
    assert [n for n, s in status.items() if s.running] == ["kafka"]
    with pytest.raises(ValueError, match="unknown servers \\['zookeeper'\\]"):
        cli.stack.up(["zookeeper"])
    cli.stack.down()
    cli.assert_nothing_running()


def test_kafka_sigkill_then_up_keeps_topics_and_offsets(cli: Cli, unique_name: str) -> None:
    cli.stack.up()
    bootstrap = cli.handle.kafka_bootstrap
    topic, group = f"lifecycle.{unique_name}", f"lifecycle-{unique_name}"
    tp = TopicPartition(topic, 0)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for i in range(5):
            producer.send(topic, f"r{i}".encode())
        producer.flush(timeout=30)
    finally:
        producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.assign([tp])
        consumer.commit({tp: OffsetAndMetadata(3, "", -1)})
        assert consumer.committed(tp) == 3
    finally:
        consumer.close()

    rec = read_pidfile(cli.stack.pidfile("kafka"))
    assert rec is not None
    os.kill(rec.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while is_alive(rec.pid, rec.start_ticks) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_alive(rec.pid, rec.start_ticks)
    assert cli.run("status").returncode == 1

    up = cli.run("up")
    assert up.returncode == 0, up.stderr
    assert up.stdout.splitlines()[0].split()[:2] == ["kafka", "started"]
    assert up.stdout.count("already running") == 2  # clickhouse, prometheus untouched

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        consumer_timeout_ms=15_000,
    )
    try:
        assert topic in consumer.topics()
        consumer.assign([tp])
        assert consumer.committed(tp) == 3
        got = []
        for m in consumer:
            got.append(m.value)
            if len(got) == 2:
                break
    finally:
        consumer.close()
    assert got == [b"r3", b"r4"]


def test_taken_port_is_one_line_error_and_nothing_starts(cli: Cli) -> None:
    cli.stack.down()
    port = cli.handle.settings.clickhouse_port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        up = cli.run("up")
        assert up.returncode == 1
        line = one_line_error(up)
        assert f"port {port}" in line
        assert f"pid {os.getpid()}" in line  # which process holds it
        assert "TICKETSTREAM_CLICKHOUSE_PORT" in line  # the fix
        assert cli.stack_processes() == []
    cli.assert_nothing_running()


def test_missing_java_is_one_line_error_and_nothing_starts(cli: Cli) -> None:
    cli.stack.down()
    up = cli.run("up", TICKETSTREAM_JAVA="/nonexistent/java")
    assert up.returncode == 1
    line = one_line_error(up)
    assert "Java not found" in line
    assert "TICKETSTREAM_JAVA" in line and "apt-get install" in line
    cli.assert_nothing_running()


def test_failed_start_stops_what_it_started(cli: Cli) -> None:
    cli.stack.down()
    # Nothing can answer within a millisecond: `up` must stop the three servers it spawned.
    up = cli.run("up", TICKETSTREAM_STACK_START_TIMEOUT="0.001")
    assert up.returncode == 1
    line = one_line_error(up)
    assert "did not answer within" in line and "TICKETSTREAM_STACK_START_TIMEOUT" in line
    assert "stopping what this `up` started" in up.stderr
    cli.assert_nothing_running()


def test_ensure_apt_packages_is_a_no_op_when_installed() -> None:
    from ticketstream.devstack import ensure_apt_packages

    ensure_apt_packages(["clickhouse-server", "prometheus"])  # installs only if missing
    assert ensure_apt_packages(["clickhouse-server", "prometheus"]) == []  # now: nothing to do


def test_failed_kafka_download_is_one_line_error_and_nothing_starts(
    cli: Cli, tmp_path: Path
) -> None:
    cli.stack.down()
    up = cli.run(
        "up",
        TICKETSTREAM_KAFKA_VERSION="3.9.999",  # not on Maven Central
        TICKETSTREAM_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert up.returncode == 1
    line = one_line_error(up)
    assert "Kafka jar download (Maven) failed" in line
    assert "maven-dependency-plugin:3.8.1:copy-dependencies" in line  # the command
    assert "3.9.999" in line  # and the tail of its output
    cli.assert_nothing_running()


def test_failed_apt_install_names_command_and_output() -> None:
    from ticketstream.devstack import InstallError, ensure_apt_packages

    with pytest.raises(InstallError) as err:
        ensure_apt_packages(["ticketstream-no-such-package"])
    message = str(err.value)
    assert "\n" not in message
    assert "apt-get" in message and "install" in message
    assert "ticketstream-no-such-package" in message


def test_orphaned_private_stack_is_reaped(tmp_path: Path) -> None:
    from ticketstream.devstack.procs import write_pidfile
    from ticketstream.devstack.testing import OWNER_FILE, reap_orphan_stacks

    orphan = tmp_path / "ticketstream-test-stack-orphan"
    (orphan / "stack" / "run").mkdir(parents=True)
    dead_owner = subprocess.Popen(["true"])
    dead_owner.wait()
    write_pidfile(orphan / OWNER_FILE, dead_owner.pid)
    server = subprocess.Popen(["sleep", "60"], start_new_session=True)
    write_pidfile(orphan / "stack" / "run" / "kafka.pid", server.pid)
    alive = tmp_path / "ticketstream-test-stack-mine"
    alive.mkdir()
    write_pidfile(alive / OWNER_FILE, os.getpid())

    assert reap_orphan_stacks(tmp_path) == [orphan]
    server.wait(timeout=30)  # stopped (reaped by terminate(), so no exit status to compare)
    assert not is_alive(server.pid)
    assert not orphan.exists() and alive.exists()
