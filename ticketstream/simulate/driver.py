"""The driver: sends the model's actions to the real gateway and command API on a simulated clock.

Simulated time runs ``compression`` times faster than the wall clock from ``config.start``. An
action is released when the simulated clock reaches it; a ticket's actions go out one at a time,
each only after the previous one shows up as a ticket event on support.tickets.events.v1 (read
by this driver): a command is never sent for a ticket that does not exist yet, and a ticket sees
its customer messages and agent commands in simulated-time order although they take two
different paths (gateway → threading, HTTP API → commands). Commands carry their simulated
instant as ``issued_at`` and act ``on_behalf_of`` the simulated agent.

SLA ticks follow a watermark: the earliest simulated instant of an action not yet confirmed (or
not yet released), less one second, as it was ``sla_tick_lag_seconds`` of wall time ago (time
for the SLA agent to read the confirmed ticket events). A tick never overtakes a ticket event,
so the SLA engine fires exactly what the ground truth predicts. The last tick is ``config.end``.

When the pipeline (or this process) falls behind by more than ``max_backlog`` actions the
simulated clock pauses; ``GroundTruth.wall_seconds`` then exceeds days × 86400 / compression
(``effective_compression`` says by how much), which is how a throughput limit shows.

Agent presence (``SimConfig.agent_presence``) is off by default: the router assigns tickets to
online agents with a wall-clock ``issued_at``, which would put wall-clock events into a
simulated timeline (reported to the routing owner).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas import codec
from schemas import topics as names
from schemas.records import (
    AgentPresence,
    CustomerMessageAppended,
    SlaPoliciesUpdated,
    TicketCommandRejected,
    TicketOpened,
)
from streams.sla.ticks import ticks as sla_ticks
from ticketstream.simulate.config import Endpoints, SimConfig, SimulationError
from ticketstream.simulate.model import Action, Model, SimTicket
from ticketstream.simulate.truth import GroundTruth, TicketTimeline, compute, policy_yaml
from ticketstream.simulate.webhooks import OK_STATUSES, Identity, build, identity

log = logging.getLogger(__name__)

RETRIES = 5
NAMES = ("Somchai", "Malee", "Ananda", "Wei", "Mei Ling", "Ka Ho", "Oliver", "Amelia", "Niran")

Progress = Callable[[float, str, dict[str, int]], None]


class DriverError(SimulationError):
    """An endpoint refused or is missing; the message says which and what to do."""


@dataclass
class _Record:
    """What the pipeline accepted for one ticket (simulated instants): the ground truth is
    computed from this, not from the plan, so a refused request cannot skew it."""

    sim_id: str
    channel: str
    priority: str
    opened_at: datetime | None = None
    first_reply_at: datetime | None = None
    solves: list[datetime] = field(default_factory=list)
    reopens: list[datetime] = field(default_factory=list)

    def accepted(self, action: Action) -> None:
        if action.kind == "message":
            if self.opened_at is None:
                self.opened_at = action.at
            elif self.solves and (not self.reopens or self.reopens[-1] < self.solves[-1]):
                self.reopens.append(action.at)
        elif action.kind == "reply" and self.first_reply_at is None:
            self.first_reply_at = action.at
        elif action.kind == "solve":
            self.solves.append(action.at)

    def rejected(self, action: Action) -> None:
        """The ticket refused an accepted command: it did not happen."""
        if action.kind == "reply" and self.first_reply_at == action.at:
            self.first_reply_at = None
        elif action.kind == "solve" and self.solves and self.solves[-1] == action.at:
            self.solves.pop()

    def timeline(self, ticket_id: str) -> TicketTimeline:
        assert self.opened_at is not None
        return TicketTimeline(
            ticket_id,
            self.channel,
            self.priority,
            self.opened_at,
            self.first_reply_at,
            tuple(self.solves),
            tuple(self.reopens),
        )


@dataclass
class _Run:
    """One ticket in flight."""

    ticket: SimTicket
    who: Identity
    tag: str
    record: _Record
    ticket_id: str | None = None
    queue: deque[tuple[int, Action]] = field(default_factory=deque)
    inflight: tuple[int, Action] | None = None
    waiting_key: str | None = None
    message_key: str | None = None  # of the customer message in flight
    sent_wall: float = 0.0
    remaining: int = 0  # actions not yet confirmed
    failed: bool = False  # its first message was refused: it has no ticket to act on


def timeline_of(ticket: SimTicket, end: datetime) -> TicketTimeline:
    """What happened to ``ticket`` before ``end`` (the simulator's own record)."""
    acts = [a for a in ticket.actions if a.at < end]
    first_reply = next((a.at for a in acts if a.kind == "reply"), None)
    solves: list[datetime] = []
    reopens: list[datetime] = []
    for a in acts:
        if a.kind == "solve":
            solves.append(a.at)
        elif a.kind == "message" and solves and (not reopens or reopens[-1] < solves[-1]):
            reopens.append(a.at)
    return TicketTimeline(
        ticket.sim_id,
        ticket.channel.value,
        ticket.priority.value,
        ticket.opened_at,
        first_reply,
        tuple(solves),
        tuple(reopens),
    )


class Driver:
    def __init__(
        self, config: SimConfig, endpoints: Endpoints, progress: Progress | None = None
    ) -> None:
        self.cfg = config
        self.ep = endpoints
        self.progress = progress
        self.model = Model(config, tuple(endpoints.secrets))
        self.truth = GroundTruth(
            config.preset,
            config.seed,
            config.start,
            config.end,
            config.compression,
            policy_yaml(),
        )
        self.records: list[_Record] = []
        self.runs_by_conv: dict[tuple[str, str], _Run] = {}
        self.runs_by_ticket: dict[str, _Run] = {}
        self.sim_to_ticket: dict[str, str] = {}
        self.waits: dict[str, _Run] = {}  # command id / message key → run
        self.plan: list[tuple[datetime, int, _Run, int, Action]] = []
        self.open_times: list[tuple[datetime, int]] = []  # released, unconfirmed
        self.confirmed: set[int] = set()
        self.seq = itertools.count()
        self.backlog = 0
        self.sem = asyncio.Semaphore(config.max_in_flight)
        self.tasks: set[asyncio.Task[None]] = set()
        self.paused = 0.0
        self.pause_started: float | None = None
        self.ticks: deque[tuple[float, datetime]] = deque()
        self.last_tick: datetime | None = None
        self.last_tick_offsets: dict[int, int] = {}
        self.csat: list[int] = []
        self.rejections: dict[str, int] = {}
        self.awaiting: dict[int, deque[tuple[int, int]]] = {}  # partition → (offset, seq)
        self.barrier_on = bool(endpoints.streams_group)
        self.held: dict[int, tuple[float, _Run]] = {}  # runs waiting for their TicketOpened
        self._last_sweep = 0.0

    # ------------------------------------------------------------------ clock
    def sim_now(self) -> datetime:
        """The simulated clock: compressed wall time, stopped while paused for back-pressure."""
        wall = time.monotonic() if self.pause_started is None else self.pause_started
        elapsed = wall - self.wall0 - self.paused
        return self.cfg.start + timedelta(seconds=elapsed * self.cfg.compression)

    # ------------------------------------------------------------------ main
    async def run(self) -> GroundTruth:
        started = time.monotonic()
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=self.cfg.max_in_flight)
        prefix = self.ep.topic_prefix
        self.events_topic = prefix + names.TICKET_EVENTS
        self.ticks_topic = prefix + names.SLA_TICKS
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            self.http = http
            await self._check_gateway()
            consumer = await self._consumer([self.events_topic])
            ticker: _Ticker | None = None
            try:
                if self.cfg.produce_sla_ticks:
                    ticker = await _Ticker.start(self.ep.kafka_bootstrap, self.ticks_topic)
                if self.cfg.configure_sla_policy:
                    await self._configure_policy()
                reader = asyncio.create_task(self._read(consumer))
                barrier = asyncio.create_task(self._barrier()) if self.ep.streams_group else None
                try:
                    await self._loop(ticker)
                finally:
                    reader.cancel()
                    if barrier is not None:
                        barrier.cancel()
            finally:
                if ticker is not None:
                    await ticker.stop()
                await consumer.stop()
        self.truth.wall_seconds = round(time.monotonic() - started, 3)
        self.truth.paused_seconds = round(self.paused, 3)
        span = (self.cfg.end - self.cfg.start).total_seconds()
        self.truth.effective_compression = round(span / max(self.truth.wall_seconds, 1e-9), 1)
        self._finish()
        return self.truth

    async def _loop(self, ticker: _Ticker | None) -> None:
        cfg = self.cfg
        tickets = self.model.tickets()
        pending = next(tickets, None)
        presence = iter(self.model.presence()) if cfg.agent_presence else iter(())
        next_presence = next(presence, None)
        self.wall0 = time.monotonic()
        last_progress = 0.0
        while True:
            now = self.sim_now()
            # Back-pressure: pause the simulated clock while too much is unconfirmed.
            if self.backlog > cfg.max_backlog:
                if self.pause_started is None:
                    self.pause_started = time.monotonic()
            elif self.pause_started is not None:
                self.paused += time.monotonic() - self.pause_started
                self.pause_started = None
                now = self.sim_now()
            if self.pause_started is None:
                while pending is not None and pending.opened_at <= now:
                    self._admit(pending)
                    pending = next(tickets, None)
                while self.plan and self.plan[0][0] <= now:
                    _, seq, run, _, action = heapq.heappop(self.plan)
                    heapq.heappush(self.open_times, (action.at, seq))
                    self.backlog += 1
                    run.queue.append((seq, action))
                    self._pump(run)
                while next_presence is not None and next_presence[0] <= now:
                    at, agent, online = next_presence
                    self._spawn(self._presence(at, agent.agent_id, online))
                    next_presence = next(presence, None)
            self._check_timeouts()
            await self._maybe_tick(ticker, pending)
            wall = time.monotonic()
            if self.progress is not None and wall - last_progress >= 0.5:
                last_progress = wall
                self._report(now)
            if pending is None and not self.plan and self.backlog == 0 and not self.tasks:
                break
            await asyncio.sleep(0.02)
        # Everything is confirmed: let the SLA agent catch up, then tick to the end.
        if self.barrier_on:
            deadline = time.monotonic() + cfg.confirm_timeout_seconds
            while any(self.awaiting.values()) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            if any(self.awaiting.values()):
                log.warning("the workers did not commit past the last ticket events in time")
        else:
            await asyncio.sleep(cfg.sla_tick_lag_seconds)
        if ticker is not None:
            await self._tick(ticker, cfg.end)
            if self.barrier_on:
                await self._wait_fired()
        if self.progress is not None:
            self._report(cfg.end)

    def _report(self, now: datetime) -> None:
        assert self.progress is not None
        total = (self.cfg.end - self.cfg.start).total_seconds()
        done = min(1.0, max(0.0, (min(now, self.cfg.end) - self.cfg.start).total_seconds() / total))
        self.progress(
            done,
            min(now, self.cfg.end).isoformat(),
            {
                "tickets": len(self.records),
                "messages": self.truth.messages_sent,
                "commands": sum(self.truth.commands_sent.values()),
                "backlog": self.backlog,
                "errors": sum(self.truth.http_errors.values()),
            },
        )

    # ------------------------------------------------------------------ tickets
    def _admit(self, ticket: SimTicket) -> None:
        tag = f"{ticket.customer}{self.cfg.seed:x}{ticket.index:x}"
        if self.cfg.run_tag:
            tag = f"{self.cfg.run_tag}{tag}"
        customer = ticket.customer if not self.cfg.run_tag else tag[:16]
        who = identity(ticket.channel, customer, NAMES[ticket.index % len(NAMES)])
        record = _Record(ticket.sim_id, ticket.channel.value, ticket.priority.value)
        self.records.append(record)
        run = _Run(ticket, who, tag, record)
        self.runs_by_conv[(ticket.channel.value, who.conversation)] = run
        for index, action in enumerate(ticket.actions):
            if action.at >= self.cfg.end:
                break
            heapq.heappush(self.plan, (action.at, next(self.seq), run, index, action))
            run.remaining += 1
        if run.remaining == 0:
            self.runs_by_conv.pop((ticket.channel.value, who.conversation), None)

    def _pump(self, run: _Run) -> None:
        if run.inflight is not None or not run.queue:
            return
        if run.ticket_id is None and not run.failed and run.queue[0][1].kind != "message":
            # Its ticket is not open yet (slow pipeline): TicketOpened pumps it again.
            self.held.setdefault(id(run), (time.monotonic(), run))
            return
        self.held.pop(id(run), None)
        seq, action = run.queue.popleft()
        run.inflight = (seq, action)
        run.sent_wall = time.monotonic()
        if action.kind == "message":
            key = f"m:{run.ticket.channel.value}:{run.who.conversation}:{action.n}"
        else:
            key = f"sim-{run.tag}-{seq}"
        run.waiting_key = key
        self.waits[key] = run
        self._spawn(self._send(run, action, key))

    def _confirm(self, run: _Run, position: tuple[int, int] | None = None) -> None:
        """The in-flight action of ``run`` is done (its ticket event is at ``position`` =
        (partition, offset) of the ticket events topic, or nothing will show up for it)."""
        if run.inflight is None:
            return
        seq, _ = run.inflight
        if run.waiting_key is not None:
            self.waits.pop(run.waiting_key, None)
        run.inflight = None
        run.waiting_key = None
        self.backlog -= 1
        if position is not None and self.barrier_on:
            # Held back from the SLA watermark until the workers have committed past it.
            self.awaiting.setdefault(position[0], deque()).append((position[1], seq))
        else:
            self._settle(seq)
        run.remaining -= 1
        if run.remaining <= 0:  # done: forget it (memory stays proportional to open tickets)
            self.runs_by_conv.pop((run.ticket.channel.value, run.who.conversation), None)
            if run.ticket_id is not None:
                self.runs_by_ticket.pop(run.ticket_id, None)
        else:
            self._pump(run)

    def _settle(self, seq: int) -> None:
        self.confirmed.add(seq)
        while self.open_times and self.open_times[0][1] in self.confirmed:
            self.confirmed.discard(heapq.heappop(self.open_times)[1])

    async def _barrier(self) -> None:
        """Settle confirmed actions once the workers' consumer group has committed past their
        ticket event: every agent of the workers (the SLA agent included) has processed it."""
        from aiokafka.admin import AIOKafkaAdminClient

        group = self.ep.streams_group
        assert group
        admin = AIOKafkaAdminClient(bootstrap_servers=self.ep.kafka_bootstrap)
        await admin.start()
        silent_since: float | None = None
        try:
            while True:
                if any(self.awaiting.values()):
                    offsets = await admin.list_consumer_group_offsets(group)
                    mine = {tp: om for tp, om in offsets.items() if tp.topic == self.events_topic}
                    if not mine:
                        silent_since = silent_since or time.monotonic()
                        if time.monotonic() - silent_since > 30:
                            log.warning(
                                "consumer group %r has no offsets on %s after 30 s: wrong "
                                "group? SLA ticks now trail by %.1f s of wall time only",
                                group,
                                self.events_topic,
                                self.cfg.sla_tick_lag_seconds,
                            )
                            self.barrier_on = False
                            for held in self.awaiting.values():
                                while held:
                                    self._settle(held.popleft()[1])
                            return
                    for tp, om in mine.items():
                        waiting = self.awaiting.get(tp.partition)
                        while waiting and waiting[0][0] < om.offset:
                            self._settle(waiting.popleft()[1])
                await asyncio.sleep(0.3)
        finally:
            await admin.close()

    async def _wait_fired(self) -> None:
        """Return once the workers have committed past the final tick: every deadline due by
        the end of the run has fired (its SLA events are on the topic) when ``run`` returns."""
        from aiokafka.admin import AIOKafkaAdminClient

        group = self.ep.streams_group
        assert group
        admin = AIOKafkaAdminClient(bootstrap_servers=self.ep.kafka_bootstrap)
        await admin.start()
        try:
            deadline = time.monotonic() + self.cfg.confirm_timeout_seconds
            while time.monotonic() < deadline:
                offsets = await admin.list_consumer_group_offsets(group)
                done = {tp.partition: om.offset for tp, om in offsets.items()
                        if tp.topic == self.ticks_topic}  # fmt: skip
                if all(done.get(p, -1) > o for p, o in self.last_tick_offsets.items()):
                    self.truth.final_tick_processed = True
                    return
                await asyncio.sleep(0.5)
            log.warning("the workers did not process the final SLA tick within the timeout")
        finally:
            await admin.close()

    def _check_timeouts(self) -> None:
        limit = self.cfg.confirm_timeout_seconds
        now = time.monotonic()
        if now - self._last_sweep > 1.0:
            self._last_sweep = now
            for run in list(self.waits.values()):
                if run.inflight is not None and now - run.sent_wall > limit:
                    self.truth.unconfirmed += 1
                    log.warning(
                        "no ticket event for %s of %s within %.0f s",
                        run.inflight[1].kind,
                        run.ticket.sim_id,
                        limit,
                    )
                    self._confirm(run)
            for since, run in list(self.held.values()):
                if now - since > limit:  # accepted by the gateway, yet never opened: lost
                    self.truth.tickets_never_opened += 1
                    log.warning("%s: no TicketOpened within %.0f s", run.ticket.sim_id, limit)
                    run.failed = True
                    self.held.pop(id(run), None)
                    self._pump(run)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ------------------------------------------------------------------ HTTP
    async def _send(self, run: _Run, action: Action, key: str) -> None:
        try:
            ok = await self._send_action(run, action, key)
        except Exception:  # a bug must not stall the run: count it, move on
            log.exception("sending %s of %s failed", action.kind, run.ticket.sim_id)
            ok = False
        if not ok and run.waiting_key == key:
            self._confirm(run)  # nothing will show up for it

    async def _send_action(self, run: _Run, action: Action, key: str) -> bool:
        t = run.ticket
        if action.kind == "message":
            secret = self.ep.secrets[t.channel]
            hook = build(
                run.who, run.tag, action.n, action.text, action.at, secret, datetime.now(UTC)
            )
            run.message_key = hook.message_key
            url = self.ep.gateway_url.rstrip("/") + hook.path
            status = await self._post(url, hook.body, hook.headers, hook.query, t.channel.value)
            if status in OK_STATUSES:
                run.record.accepted(action)
                self.truth.messages_sent += 1
                ch = t.channel.value
                self.truth.messages_by_channel[ch] = self.truth.messages_by_channel.get(ch, 0) + 1
                return True
            if action.n == 1:
                run.failed = True
            return False
        ticket_id = run.ticket_id
        if ticket_id is None:
            # Its first message was refused (counted in http_errors): nothing to act on.
            key = f"{action.kind} skipped: no ticket"
            self.truth.http_errors[key] = self.truth.http_errors.get(key, 0) + 1
            return False
        body: dict[str, Any] = {
            "command_id": key,
            "issued_at": action.at.isoformat(),
            "ticket_id": ticket_id,
        }
        if action.agent_id is not None:
            body["on_behalf_of"] = action.agent_id
        if action.kind == "priority":
            assert action.priority is not None
            body.update(type="ChangeTicketPriority", priority=action.priority.value)
        elif action.kind == "assign":
            body.update(type="AssignTicket", agent_id=action.agent_id)
        elif action.kind == "reply":
            body.update(type="ReplyPublicly", text=action.text)
        elif action.kind == "escalate":
            body.update(type="EscalateTicket", to_tier=2, to_group="tier2", reason="needs tier 2")
        elif action.kind == "solve":
            body.update(type="ChangeTicketStatus", status="solved")
        elif action.kind == "csat":
            body.update(type="RecordCsat", score=action.score)
        else:
            raise DriverError(f"unknown action kind {action.kind!r}")
        ok = await self._command(body)
        if ok:
            run.record.accepted(action)
            if action.kind == "reply":
                self.truth.agent_replies += 1
            elif action.kind == "escalate":
                self.truth.escalations += 1
            elif action.kind == "solve":
                self.truth.solves += 1
            elif action.kind == "csat" and action.score is not None:
                self.csat.append(action.score)
        return ok

    async def _command(self, body: dict[str, Any]) -> bool:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {
            "Authorization": f"Bearer {self.ep.api_token}",
            "Content-Type": "application/json",
        }
        url = self.ep.api_url.rstrip("/") + "/api/v1/commands"
        status = await self._post(url, raw, headers, {}, "commands")
        if status == 202:
            kind = str(body["type"])
            self.truth.commands_sent[kind] = self.truth.commands_sent.get(kind, 0) + 1
            return True
        return False

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str], query: dict[str, str], route: str
    ) -> int:
        delay = 0.2
        status = 0
        for attempt in range(RETRIES):
            async with self.sem:
                try:
                    async with self.http.post(url, data=body, headers=headers, params=query) as r:
                        await r.read()
                        status = r.status
                        text = "" if status < 400 else (await r.text())[:300]
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, text = 0, type(exc).__name__
            if status < 500 and status != 0 and status != 429:
                break
            if attempt < RETRIES - 1:
                await asyncio.sleep(delay)
                delay *= 2
        if status >= 400 or status == 0:
            key = f"{route} {status}"
            self.truth.http_errors[key] = self.truth.http_errors.get(key, 0) + 1
            log.warning("%s answered %s: %s", url, status, text)
        return status

    async def _presence(self, at: datetime, agent_id: str, online: bool) -> None:
        presence = AgentPresence.ONLINE if online else AgentPresence.OFFLINE
        await self._command(
            {
                "type": "SetAgentPresence",
                "agent_id": agent_id,
                "presence": presence.value,
                "issued_at": at.isoformat(),
                "on_behalf_of": agent_id,
            }
        )

    async def _check_gateway(self) -> None:
        url = self.ep.gateway_url.rstrip("/") + "/healthz"
        try:
            async with self.http.get(url) as r:
                if r.status != 200:
                    raise DriverError(f"gateway {url} answered {r.status}; is it running?")
        except aiohttp.ClientError as exc:
            raise DriverError(f"gateway {url} is not reachable ({exc}); start it first") from None

    async def _configure_policy(self) -> None:
        """UpdateSlaPolicies with the simulation's policy; waits for SlaPoliciesUpdated."""
        topic = self.ep.topic_prefix + names.SLA_EVENTS
        consumer = await self._consumer([topic])
        try:
            version = int(time.time())
            body = {
                "type": "UpdateSlaPolicies",
                "version": version,
                "policies_yaml": self.truth.sla_policy_yaml,
                "issued_at": (self.cfg.start - timedelta(minutes=1)).isoformat(),
            }
            raw = json.dumps(body).encode()
            headers = {"Authorization": f"Bearer {self.ep.api_token}"}
            url = self.ep.api_url.rstrip("/") + "/api/v1/commands"
            async with self.http.post(url, data=raw, headers=headers) as r:
                text = await r.text()
                if r.status != 202:
                    raise DriverError(
                        f"the command API refused UpdateSlaPolicies ({r.status}: {text[:200]}); "
                        "the simulator needs an admin token"
                    )
            self.truth.commands_sent["UpdateSlaPolicies"] = 1
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for rec in records:
                        ev = codec.decode(rec.value)
                        if isinstance(ev, SlaPoliciesUpdated) and ev.version == version:
                            await asyncio.sleep(1.0)  # the global table reaches every worker
                            return
            raise DriverError(
                f"no SlaPoliciesUpdated v{version} on {topic} within 60 s: is an SLA worker "
                "running (and did it accept the policy — see its log)?"
            )
        finally:
            await consumer.stop()

    # ------------------------------------------------------------------ Kafka
    async def _consumer(self, topics: list[str]) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.ep.kafka_bootstrap, enable_auto_commit=False
        )
        await consumer.start()
        parts: list[TopicPartition] = []
        for topic in topics:
            found = await self._wait_partitions(consumer, topic)
            parts += [TopicPartition(topic, p) for p in sorted(found)]
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for tp in parts:
            await consumer.position(tp)  # resolve now: nothing produced from here on is missed
        return consumer

    async def _wait_partitions(self, consumer: AIOKafkaConsumer, topic: str) -> set[int]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            await consumer._client.force_metadata_update()
            found = consumer.partitions_for_topic(topic)
            if found:
                return set(found)
            await asyncio.sleep(0.5)
        raise DriverError(f"topic {topic} does not exist: start the workers (and check the prefix)")

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for rec in records:
                    try:
                        ev = codec.decode(rec.value)
                    except Exception:  # not ours to judge: the workers dead-letter it
                        continue
                    self._observe(ev, (rec.partition, rec.offset))

    def _observe(self, ev: Any, position: tuple[int, int] | None = None) -> None:
        if isinstance(ev, TicketOpened):
            # Account ids may contain ':' (DingTalk robots); the simulator's conversation ids
            # never do, so the conversation is the key's last part.
            conv = ev.conversation_key.rsplit(":", 1)[-1]
            run = self.runs_by_conv.get((ev.channel.value, conv))
            if run is not None and run.ticket_id is None:
                run.ticket_id = ev.ticket_id
                self.runs_by_ticket[ev.ticket_id] = run
                self.sim_to_ticket[run.ticket.sim_id] = ev.ticket_id
                self._pump(run)  # commands held back while the ticket did not exist
            return
        if isinstance(ev, CustomerMessageAppended):
            run = self.runs_by_ticket.get(ev.ticket_id)
            if run is None or run.inflight is None:
                return
            _, action = run.inflight
            if action.kind == "message" and ev.message_id.rsplit(":", 1)[-1] == run.message_key:
                self._confirm(run, position)
            return
        if isinstance(ev, TicketCommandRejected):
            run = self.waits.get(ev.command_id)
            key = f"{ev.command_type} {ev.reason_code}"
            if run is not None:
                if run.inflight is not None:
                    run.record.rejected(run.inflight[1])
                self.rejections[key] = self.rejections.get(key, 0) + 1
                log.warning("%s rejected: %s", ev.command_type, ev.message)
                self._confirm(run, position)
            return
        env = getattr(ev, "envelope", None)
        if env is not None:
            run = self.waits.get(env.causation_id)
            if run is not None:
                self._confirm(run, position)

    # ------------------------------------------------------------------ SLA ticks
    def _watermark(self, pending: SimTicket | None) -> datetime:
        candidates = [self.sim_now(), self.cfg.end]
        if self.open_times:
            candidates.append(self.open_times[0][0])
        if self.plan:
            candidates.append(self.plan[0][0])
        if pending is not None:
            candidates.append(pending.opened_at)
        return min(candidates) - timedelta(seconds=1)

    async def _maybe_tick(self, ticker: _Ticker | None, pending: SimTicket | None) -> None:
        if ticker is None:
            return
        wall = time.monotonic()
        self.ticks.append((wall, self._watermark(pending)))
        target: datetime | None = None
        while self.ticks and wall - self.ticks[0][0] >= self.cfg.sla_tick_lag_seconds:
            target = self.ticks.popleft()[1]
        if target is None:
            return
        step = timedelta(seconds=self.cfg.sla_tick_seconds)
        if self.last_tick is not None and target < self.last_tick + step:
            return
        await self._tick(ticker, target)

    async def _tick(self, ticker: _Ticker, at: datetime) -> None:
        at = at.replace(microsecond=0)
        if self.last_tick is not None and at <= self.last_tick:
            return
        self.last_tick_offsets = await ticker.tick(at)
        self.last_tick = at
        self.truth.sla_ticks_sent += 1
        self.truth.last_sla_tick = at

    # ------------------------------------------------------------------ truth
    def _finish(self) -> None:
        timelines = [
            r.timeline(self.sim_to_ticket.get(r.sim_id, r.sim_id))
            for r in self.records
            if r.opened_at is not None  # its first message was refused: never sent
        ]
        compute(self.truth, timelines)
        self.truth.reopens = sum(len(t.reopens) for t in timelines)
        self.truth.csat_count = len(self.csat)
        self.truth.csat_mean = round(sum(self.csat) / len(self.csat), 3) if self.csat else None
        self.truth.rejections = dict(sorted(self.rejections.items()))
        self.truth.tickets_unobserved = len(timelines) - len(self.sim_to_ticket)


class _Ticker:
    """``SlaTick`` records of one instant (``streams.sla.ticks.ticks``: one per partition),
    produced to their partitions in this event loop and acknowledged (acks=all) on return."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, partitions: int) -> None:
        self.producer = producer
        self.topic = topic
        self.partitions = partitions

    @classmethod
    async def start(cls, bootstrap: str, topic: str) -> _Ticker:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            found = await asyncio.wait_for(producer.partitions_for(topic), 30)
        except Exception:
            await producer.stop()
            raise DriverError(f"topic {topic} not found: start the workers first") from None
        return cls(producer, topic, len(found))

    async def tick(self, at: datetime) -> dict[int, int]:
        """Produce the ticks of ``at``; returns partition → offset of each tick record."""
        sent = [
            await self.producer.send(self.topic, value=codec.encode(t), partition=t.partition)
            for t in sla_ticks(at, self.partitions)
        ]
        return {md.partition: md.offset for md in await asyncio.gather(*sent)}

    async def stop(self) -> None:
        await self.producer.stop()


def drive(config: SimConfig, endpoints: Endpoints, progress: Progress | None = None) -> GroundTruth:
    """Run the simulation (blocking; its own event loop)."""
    return asyncio.run(Driver(config, endpoints, progress).run())


async def drive_async(
    config: SimConfig, endpoints: Endpoints, progress: Progress | None = None
) -> GroundTruth:
    """Run the simulation in the caller's event loop (e.g. beside an in-process gateway)."""
    return await Driver(config, endpoints, progress).run()
