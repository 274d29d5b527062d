"""Run real worker processes and feed/read real topics (integration tests and the benchmark)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas import codec
from schemas.records import Actor, ActorKind, Channel, ChannelMessageReceived, Envelope

CHANNELS = (
    Channel.LINE, Channel.WHATSAPP, Channel.TELEGRAM, Channel.EMAIL, Channel.WECHAT,
    Channel.WEBCHAT,
)  # fmt: skip


def private_worker_env(
    settings: Any, name: str, agents: str, *, tokens: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:  # fmt: skip
    """The environment of test workers with a group and topics of their own (``name`` as app id
    and topic prefix ``name.``), running ``agents`` on the rocksdict store with a short session
    timeout; the topics are created here (``ensure_topics``). ``settings``: the stack's."""
    from streams.settings import StreamsSettings
    from streams.topics_admin import ensure_topics

    ensure_topics(settings, StreamsSettings(streams_topic_prefix=f"{name}."))
    env = {
        "TICKETSTREAM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "TICKETSTREAM_STREAMS_APP_ID": name,
        "TICKETSTREAM_STREAMS_TOPIC_PREFIX": f"{name}.",
        "TICKETSTREAM_STREAMS_SESSION_TIMEOUT_SECONDS": "6",
        "TICKETSTREAM_STREAMS_STORE": "rocksdict",
        "TICKETSTREAM_STREAMS_AGENTS": agents,
    }
    if tokens is not None:
        env["TICKETSTREAM_STREAMS_API_TOKENS"] = tokens
    return {**env, **(extra or {})}


@dataclass
class WorkerProcess:
    """A ``ticketstream worker`` subprocess with its own port and data dir."""

    name: str
    env: dict[str, str]
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = field(default=None, repr=False)

    def start(self) -> WorkerProcess:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ticketstream.cli", "worker", "-l", "info"],
            env={**os.environ, **self.env, "TICKETSTREAM_WORKER_WEB_PORT": str(self.port)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"worker {self.name} exited {self.proc.returncode}: {self.tail()}"
                )
            if b"[^Worker]: Ready" in self.log_path.read_bytes():
                return
            time.sleep(0.3)
        raise TimeoutError(f"worker {self.name} not ready after {timeout} s: {self.tail()}")

    def tail(self, n: int = 3000) -> str:
        return self.log_path.read_bytes()[-n:].decode(errors="replace")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def http(
        self, method: str, path: str, body: bytes | None = None, token: str | None = None
    ) -> tuple[int, Any]:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method=method
        )
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw)
            except ValueError:
                return err.code, raw.decode(errors="replace")


def channel_messages(
    customers: int, per_customer: int, start: datetime | None = None
) -> list[ChannelMessageReceived]:
    """``customers`` × ``per_customer`` messages; customer i writes on channel i % 6 in one
    conversation; messages interleave across customers (round by round)."""
    at0 = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    out = []
    for k in range(per_customer):
        for i in range(customers):
            ch = CHANNELS[i % len(CHANNELS)]
            conv = f"{ch.value}:acct-{ch.value}:conv-{i}"
            dedup = f"{ch.value}:m-{i}-{k}"
            at = at0 + timedelta(seconds=k * 60 + i % 60)
            env = Envelope(
                dedup, at, at, conv, 1, dedup, dedup, Actor(ActorKind.CUSTOMER, f"u{i}"), "t"
            )
            out.append(
                ChannelMessageReceived(
                    env,
                    ch,
                    f"acct-{ch.value}",
                    f"conv-{i}",
                    f"u{i}",
                    f"x-{i}-{k}",
                    dedup,
                    conv,
                    f"message {k} from customer {i}",
                    at,
                )
            )
    return out


def encoded(messages: list[ChannelMessageReceived]) -> list[tuple[bytes, bytes]]:
    return [(m.conversation_key.encode(), codec.encode(m)) for m in messages]


class RecordStub:
    """What the worker's handlers read of a Kafka record, for driving them without Faust (unit
    and property tests): its partition is the one the producers' partitioner gives its key."""

    def __init__(self, topic: str, key: bytes, value: Any, offset: int) -> None:
        from streams.runtime import partition_of  # (streams.app must be imported first)

        self.topic, self.key, self.value, self.offset = topic, key, value, offset
        self.timestamp = None
        self.partition = partition_of(key.decode())


class EventStub:
    """A Faust event around a ``RecordStub`` (weak-referenceable, as Faust's events)."""

    def __init__(self, message: RecordStub) -> None:
        self.message = message


class TableStub:
    """A table's name and a dict as its store (what ``UnitOfWork`` reads of a Faust table)."""

    def __init__(self, name: str) -> None:
        self.name: str = name
        self.data: dict[bytes, bytes] = {}


def handle_batch(
    handler: Any, records: list[tuple[bytes, bytes]], start: int = 0
) -> set[tuple[str, bytes]]:
    """``records`` (key, value) through ``handler`` (an agent's ``(uow, event)`` handler) as
    one ``UnitOfWork`` batch at offsets from ``start``, its writes then stored in the tables
    (pickled, as the commit writes them) and the state cache; the (table, key)s written. For
    unit tests on ``TableStub`` tables, without Faust or a broker."""
    from streams import runtime
    from streams.statecodec import dumps

    uow = runtime.UnitOfWork()
    for i, (key, value) in enumerate(records):
        uow.begin()
        handler(uow, EventStub(RecordStub("t", key, value, start + i)))
        uow.keep()
    for (name, key), (tbl, value, _) in uow._writes.items():
        tbl.data[key] = dumps(value)
        runtime._STATE_CACHE[(name, key)] = value
    return set(uow._writes)
