"""Shared pieces of the SLA integration tests: a real ``ticketstream worker`` with only the SLA
agents, a producer, and a reader of support.sla.events.v1 / the dead-letter topic that waits on
conditions (never on sleeps)."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from schemas import codec
from schemas.records import (
    Actor,
    ActorKind,
    Channel,
    CommandHeader,
    Envelope,
    Priority,
    TicketOpened,
    TicketTagsChanged,
    UpdateSlaPolicies,
)
from schemas.topics import DEAD_LETTER, SLA_COMMANDS, SLA_EVENTS, SLA_POLICIES_KEY, TICKET_EVENTS
from streams.testing import WorkerProcess
from ticketstream.devstack.procs import free_port
from ticketstream.devstack.testing import unique_name

SLA_AGENTS = "sla_track_clocks,sla_fire_timers,sla_produce_ticks,sla_update_policies"
ALWAYS = (
    "{"
    + ", ".join(f'{d}: ["00:00-24:00"]' for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    + "}"
)


def policy_yaml(policy_id: str, urgent: str, warnings: str = "[50]") -> str:
    """One policy on a 24/7 UTC schedule: first reply time for urgent tickets."""
    return (
        "schedules:\n"
        "  always:\n"
        "    zone: UTC\n"
        f"    hours: {ALWAYS}\n"
        "default_schedule: always\n"
        "policies:\n"
        f"  - id: {policy_id}\n"
        f"    warnings: {warnings}\n"
        "    targets:\n"
        f"      first_reply_time: {{urgent: {urgent}}}\n"
    )


def envelope(event_id: str, aggregate: str, at: datetime, version: int) -> Envelope:
    return Envelope(
        event_id, at, at, aggregate, version, f"cmd-{event_id}", f"corr-{aggregate}",
        Actor(ActorKind.CUSTOMER, "C-1"), "tenant",
    )  # fmt: skip


def opened(ticket: str, at: datetime) -> TicketOpened:
    env = envelope(f"ev-{ticket}-opened", ticket, at, 1)
    return TicketOpened(
        env, ticket, "C-1", Channel.WEBCHAT, f"webchat:a:{ticket}", Priority.URGENT, True
    )


def tags_changed(ticket: str, at: datetime, tags: tuple[str, ...]) -> TicketTagsChanged:
    return TicketTagsChanged(envelope(f"ev-{ticket}-tags-{at.isoformat()}", ticket, at, 2),
                             ticket, tags, tags)  # fmt: skip


def update_policies(version: int, text: str, at: datetime) -> UpdateSlaPolicies:
    cid = f"cmd-policies-{version}-{uuid.uuid4().hex[:6]}"
    header = CommandHeader(
        cid, at, SLA_POLICIES_KEY, cid, Actor(ActorKind.AGENT, "admin-1"), "tenant"
    )
    return UpdateSlaPolicies(header, version, text)


class Reader:
    """Accumulates decoded records of one topic; :meth:`wait` polls until a condition holds."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
            consumer_timeout_ms=300, enable_auto_commit=False,
        )  # fmt: skip
        self.records: list[Any] = []

    def poll(self) -> list[Any]:
        self.records.extend(codec.decode(m.value) for m in self.consumer)
        return self.records

    def wait(self, what: str, cond: Callable[[list[Any]], Any], timeout: float = 60.0) -> Any:
        """Poll until ``cond(records)`` is truthy (returns it) or fail with ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            got = cond(self.poll())
            if got:
                return got
            if time.monotonic() > deadline:
                tail = [type(r).__name__ for r in self.records[-20:]]
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; last {tail}")

    def close(self) -> None:
        self.consumer.close()


class SlaWorld:
    """A real worker (SLA agents only) on unique topics, with a producer and readers."""

    def __init__(self, bootstrap: str, tmp: Path, *, clock: str, policy: str) -> None:
        self.bootstrap = bootstrap
        self.name = unique_name()
        self.prefix = f"it.sla.{self.name}."
        (tmp / "policies.yml").write_text(policy)
        self.env = {
            "TICKETSTREAM_KAFKA_BOOTSTRAP": bootstrap,
            "TICKETSTREAM_STREAMS_APP_ID": f"sla-it-{self.name}",
            "TICKETSTREAM_STREAMS_TOPIC_PREFIX": self.prefix,
            "TICKETSTREAM_STREAMS_TOPIC_PARTITIONS": "2",
            "TICKETSTREAM_STREAMS_STORE": "memory",
            "TICKETSTREAM_STREAMS_DATADIR": str(tmp / "worker"),
            "TICKETSTREAM_STREAMS_AGENTS": SLA_AGENTS,
            "TICKETSTREAM_SLA_POLICIES_PATH": str(tmp / "policies.yml"),
            "TICKETSTREAM_SLA_CLOCK": clock,
        }
        self.worker = WorkerProcess("sla", self.env, free_port(), tmp / "worker.log")
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        self.readers: list[Reader] = []

    def start(self, timeout: float = 120.0) -> None:
        self.worker.start()
        self.worker.wait_ready(timeout)

    def reader(self, topic: str) -> Reader:
        r = Reader(self.bootstrap, self.prefix + topic)
        self.readers.append(r)
        return r

    def events(self) -> Reader:
        return self.reader(SLA_EVENTS)

    def dead_letters(self) -> Reader:
        return self.reader(DEAD_LETTER)

    def send_ticket_event(self, record: Any, partition: int | None = None) -> None:
        self.producer.send(
            self.prefix + TICKET_EVENTS, key=record.ticket_id.encode(),
            value=codec.encode(record), partition=partition,
        )  # fmt: skip
        self.producer.flush()

    def send_command(self, command: UpdateSlaPolicies) -> None:
        self.producer.send(
            self.prefix + SLA_COMMANDS, key=SLA_POLICIES_KEY.encode(), value=codec.encode(command)
        )
        self.producer.flush()

    def close(self) -> None:
        self.worker.stop()
        for r in self.readers:
            r.close()
        self.producer.close()
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.delete_topics(
                [t for t in admin.list_topics() if t.startswith(self.prefix) or self.name in t]
            )
        except Exception as exc:  # best effort; the topics are unique to this run
            print(f"topic cleanup: {exc}", file=sys.stderr)
        finally:
            admin.close()


def of(kind: type, ticket: str, records: list[Any]) -> list[Any]:
    return [r for r in records if isinstance(r, kind) and getattr(r, "ticket_id", None) == ticket]
