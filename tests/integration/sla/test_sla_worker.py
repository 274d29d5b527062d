"""The SLA engine on the real broker: a real ``ticketstream worker`` process fires breaches
from its wall-clock ticks; killed with SIGKILL while timers fire and restarted, it loses no timer
and any re-fired event carries the same id; the same event log replayed on a simulated clock
through the pure domain yields identical SLA events (ids, times, fields)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from schemas import codec
from schemas.records import (
    Actor,
    ActorKind,
    Channel,
    Envelope,
    Priority,
    SlaBreached,
    SlaMetric,
    SlaPolicyApplied,
    SlaWarning,
    TicketOpened,
)
from schemas.topics import SLA_EVENTS, TICKET_EVENTS
from streams.domain.sla.clock import fire_due, on_event
from streams.domain.sla.policy import parse_policies
from tests.integration.sla.support import SLA_AGENTS

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
N = 12

POLICY = """\
schedules:
  always:
    zone: UTC
    hours: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}
default_schedule: always
policies:
  - id: fast
    warnings: [50]
    targets:
      first_reply_time: {urgent: 1m}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [str(REPO / ".venv/bin/ticketstream"), "worker", "-l", "info"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the worker exited during start-up"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"worker web port {port} not answering after {timeout} s")


def _opened(ticket: str, at: datetime) -> TicketOpened:
    env = Envelope(
        f"ev-{ticket}", at, at, ticket, 1, f"cmd-{ticket}", f"cmd-{ticket}",
        Actor(ActorKind.CUSTOMER, "C-1"), "tenant",
    )  # fmt: skip
    return TicketOpened(
        env, ticket, "C-1", Channel.WEBCHAT, f"webchat:a:{ticket}", Priority.URGENT, True
    )


def test_kill_9_while_timers_fire_loses_none_and_refires_same_ids(
    stack: Any, unique_name: str, tmp_path: Path
) -> None:
    prefix = f"it.sla.{unique_name}."
    policy = tmp_path / "policies.yml"
    policy.write_text(POLICY)
    port = _free_port()
    env = {
        **os.environ,
        "TICKETSTREAM_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "TICKETSTREAM_WORKER_WEB_PORT": str(port),
        "TICKETSTREAM_STREAMS_APP_ID": f"sla-it-{unique_name}",
        "TICKETSTREAM_STREAMS_TOPIC_PREFIX": prefix,
        "TICKETSTREAM_STREAMS_TOPIC_PARTITIONS": "2",
        "TICKETSTREAM_STREAMS_STORE": "memory",
        "TICKETSTREAM_STREAMS_DATADIR": str(tmp_path / "worker"),
        "TICKETSTREAM_SLA_POLICIES_PATH": str(policy),
        "TICKETSTREAM_SLA_CLOCK": "wall",
        # a restarted worker waits for the killed member's session to expire (the minimum)
        "TICKETSTREAM_STREAMS_SESSION_TIMEOUT_SECONDS": "10",
        "TICKETSTREAM_STREAMS_AGENTS": SLA_AGENTS,
    }
    log = tmp_path / "worker.log"
    worker = _start(env, log)
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    consumer = KafkaConsumer(
        prefix + SLA_EVENTS,
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=500,
    )
    seen: list[Any] = []
    try:
        _wait_ready(port, worker, 90)
        for p in range(2):  # warm-up: one ticket per partition, until the worker has processed both
            warm = f"W-{unique_name}-{p}"
            producer.send(
                prefix + TICKET_EVENTS,
                key=warm.encode(),
                value=codec.encode(_opened(warm, datetime.now(UTC))),
                partition=p,
            )
        producer.flush()
        ready_by = time.monotonic() + 120
        while {getattr(e, "ticket_id", "")[:2] for e in seen} != {"W-"} or len(
            {e.ticket_id for e in seen if isinstance(e, SlaPolicyApplied)}
        ) < 2:
            assert time.monotonic() < ready_by, "the worker never processed the warm-up tickets"
            seen.extend(codec.decode(m.value) for m in consumer)
        # Two waves of deadlines: wave 1 due 6..11 s from now, wave 2 due 40..45 s from now. The
        # worker is killed as soon as wave 1 has started firing (a condition, not a sleep), so
        # some breaches were fired and wave 2 is certainly pending, however loaded the machine.
        start = datetime.now(UTC)
        due = {}
        log_records = []
        for i in range(N):
            ticket = f"T-{unique_name}-{i}"
            due[ticket] = start + timedelta(seconds=6 + i if i < N // 2 else 40 + i - N // 2)
            opened = due[ticket] - timedelta(seconds=60)
            value = codec.encode(_opened(ticket, opened))
            log_records.append(codec.decode(value))  # what the worker reads (ms precision)
            producer.send(prefix + TICKET_EVENTS, key=ticket.encode(), value=value)
        producer.flush()

        def breached() -> set[str]:
            return {e.ticket_id for e in seen if isinstance(e, SlaBreached) and e.ticket_id in due}

        firing_by = time.monotonic() + 120
        while not breached():
            assert time.monotonic() < firing_by, "no breach fired within 120 s of its deadline"
            seen.extend(codec.decode(m.value) for m in consumer)
        fired_before_kill = breached()
        worker.send_signal(signal.SIGKILL)  # mid-firing: some breaches done, wave 2 pending
        worker.wait(10)
        assert 0 < len(fired_before_kill) < N, "the kill did not land while timers were firing"
        worker = _start(env, log)
        deadline = time.monotonic() + 180  # the dead member's session times out first
        while time.monotonic() < deadline:
            seen.extend(codec.decode(m.value) for m in consumer)
            if breached() == set(due):
                break
        breaches = [e for e in seen if isinstance(e, SlaBreached) and e.ticket_id in due]
        assert {e.ticket_id for e in breaches} == set(due), log.read_text()[-3000:]
        ids: dict[tuple[str, str, int, str], set[str]] = defaultdict(set)
        for e in seen:
            if isinstance(e, SlaBreached | SlaWarning):
                ids[(e.ticket_id, e.metric.value, e.instance, type(e).__name__)].add(
                    e.envelope.event_id
                )
        assert all(len(v) == 1 for v in ids.values()), ids  # a re-fire is the same event
        # Determinism: the same log replayed on a simulated clock gives the same SLA events.
        ps = parse_policies(POLICY)
        replay: dict[str, Any] = {}
        for record in log_records:
            out = on_event(None, record, ps)
            assert out.state is not None
            fired = fire_due(out.state, max(due.values()) + timedelta(seconds=1), ps)
            replay.update({e.envelope.event_id: e for e in (*out.events, *fired.events)})
        live = {e.envelope.event_id: e for e in seen if e.ticket_id in due}
        assert live == replay
        for e in breaches:
            assert e.metric is SlaMetric.FIRST_REPLY_TIME
            assert abs((e.envelope.occurred_at - due[e.ticket_id]).total_seconds()) < 0.002
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
        consumer.close()
        producer.close()
        admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
        try:
            admin.delete_topics(
                [t for t in admin.list_topics() if t.startswith(prefix) or unique_name in t]
            )
        except Exception as exc:  # cleanup is best effort; the topics are unique to this test
            print(f"topic cleanup: {exc}", file=sys.stderr)
        finally:
            admin.close()
