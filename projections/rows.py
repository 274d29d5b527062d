"""Decoded events → rows of the projection tables (``events``, ``tickets``, ``messages``,
``sla_timers``, ``agent_activity``), with the ticket and SLA-timer state they need.

A :class:`Projection` keeps the folded state of recently seen tickets and timers in memory and
loads what it lacks from ClickHouse (``FINAL``), so a restarted projector continues where the
tables are. Ticket and timer events at or below the state's version were already projected
(a replay, or an upstream re-emission): they are dropped whole, so nothing downstream — not even
the hourly rollup's materialized view — sees them twice. The state tables (``sla_timers``,
``tickets``) are inserted last, so a state that has reached a version implies every row of the
events up to that version is stored.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from projections.engines import Engine, Row, sql_literal
from projections.state import (
    TICKET_COLUMNS,
    TIMER_COLUMNS,
    TIMER_EVENTS,
    TicketState,
    TimerKey,
    TimerState,
    evolve_ticket,
    evolve_timer,
    timer_key,
    timer_version,
)
from schemas import records as r

EVENT_COLUMNS = (
    "event_id", "event_type", "occurred_at", "occurred_at_ms", "recorded_at", "aggregate_id",
    "aggregate_version", "causation_id", "correlation_id", "actor_kind", "actor_id", "tenant_id",
    "brand_id", "ticket_id", "channel", "priority", "status", "agent_id", "metric",
    "sla_instance", "policy_id", "first_reply_seconds", "payload", "kafka_topic",
    "kafka_partition", "kafka_offset", "ingested_at",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "event_id", "event_type", "direction", "ticket_id", "conversation_key", "message_id",
    "channel", "author_kind", "author_id", "occurred_at", "sent_at", "attachment_count",
    "text_length", "body", "tenant_id",
)  # fmt: skip
ACTIVITY_COLUMNS = (
    "event_id", "agent_id", "activity", "ticket_id", "channel", "priority", "detail",
    "occurred_at", "tenant_id",
)  # fmt: skip
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": EVENT_COLUMNS,
    "tickets": TICKET_COLUMNS,
    "messages": MESSAGE_COLUMNS,
    "sla_timers": TIMER_COLUMNS,
    "agent_activity": ACTIVITY_COLUMNS,
}
# Insert order: events first, the state tables last (see module docstring): a ticket or timer
# whose state row is stored has all its events' rows stored, so dropping replayed events whose
# version the state has reached never loses a row.
TABLES = ("events", "messages", "agent_activity", "sla_timers", "tickets")

K = TypeVar("K")
V = TypeVar("V")

TICKET_EVENTS = (
    r.TicketOpened, r.CustomerMessageAppended, r.AgentReplied, r.InternalNoteAdded,
    r.TicketAssigned, r.TicketUnassigned, r.TicketStatusChanged, r.TicketPriorityChanged,
    r.TicketGroupChanged, r.TicketTagsChanged, r.TicketEscalated, r.TicketMerged,
    r.TicketReopened, r.FollowUpTicketOpened, r.CsatReceived,
)  # fmt: skip
# Free text (personal data) kept out of `payload` unless bodies may be stored; secrets never.
_PII_FIELDS = frozenset({"text", "comment", "subject", "customer_display_name", "display_name"})
_SECRET_FIELDS = frozenset({"reply_context", "envelope"})


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record was read: Kafka topic, partition and offset."""

    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class Batch:
    """Rows per table, ready to insert; ``dropped`` counts already-projected events."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in TABLES})
    dropped: int = 0
    newest_event_at: datetime | None = None

    def columnar(self, table: str) -> list[list[Any]]:
        rows = self.rows[table]
        return [list(col) for col in zip(*rows, strict=True)] if rows else []

    def row_count(self) -> int:
        return sum(len(v) for v in self.rows.values())


def _default(value: Any) -> Any:
    """JSON for what json does not know: datetimes, bytes, nested records (enums are str)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    raise TypeError(f"cannot put {type(value).__name__} in an event payload")


_PAYLOAD_FIELDS: dict[tuple[type, bool], tuple[str, ...]] = {}


def payload_json(record: Any, *, store_bodies: bool) -> str:
    """The record's own fields (not the envelope) as JSON; free text only with ``store_bodies``."""
    key = (type(record), store_bodies)
    names = _PAYLOAD_FIELDS.get(key)
    if names is None:
        names = tuple(
            f.name
            for f in fields(record)
            if f.name not in _SECRET_FIELDS and (store_bodies or f.name not in _PII_FIELDS)
        )
        _PAYLOAD_FIELDS[key] = names
    out = {name: getattr(record, name) for name in names}
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False, default=_default)


class LruCache(Generic[K, V]):
    """A bounded map that forgets the least recently used entry."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        v = self._data.get(key)
        if v is not None:
            self._data.move_to_end(key)
        return v

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def clear(self) -> None:
        self._data.clear()


def _in_list(values: Sequence[Any]) -> str:
    return ", ".join(sql_literal(v) for v in values)


class Projection:
    """Turns decoded events into table rows, keeping ticket and timer state (see module doc)."""

    def __init__(
        self, engine: Engine, db: str, *, store_bodies: bool = False, cache_size: int = 200_000
    ) -> None:
        self.engine = engine
        self.db = db
        self.store_bodies = store_bodies
        self.tickets: LruCache[str, TicketState] = LruCache(cache_size)
        self.timers: LruCache[TimerKey, TimerState] = LruCache(cache_size)

    def forget(self) -> None:
        """Drop cached state (partitions moved: another projector may have written since)."""
        self.tickets.clear()
        self.timers.clear()

    # ------------------------------------------------------------------ state loading
    def missing(self, records: Sequence[Any]) -> tuple[set[str], set[str]]:
        """Ticket ids whose ticket state, and whose SLA timer state, must be loaded for
        ``records``: not cached, and not new in ``records`` (opened / timer started here)."""
        opened = {rec.ticket_id for rec in records if isinstance(rec, r.TicketOpened)}
        ticket_ids = {
            rec.ticket_id
            for rec in records
            if isinstance(rec, (*TICKET_EVENTS, *TIMER_EVENTS))
            and rec.ticket_id not in self.tickets
            and rec.ticket_id not in opened
        }
        started = {timer_key(rec) for rec in records if isinstance(rec, r.SlaTimerStarted)}
        timer_ids = {
            rec.ticket_id
            for rec in records
            if isinstance(rec, TIMER_EVENTS)
            and rec.ticket_id not in opened
            and timer_key(rec) not in started
            and timer_key(rec) not in self.timers
        }
        return ticket_ids, timer_ids

    def load_state(self, records: Sequence[Any]) -> None:
        """Load from ClickHouse the state of tickets/timers in ``records`` not cached.

        Raises ClickHouseError (nothing is changed then, so the caller may retry)."""
        ticket_ids, timer_ids = self.missing(records)
        found_tickets: list[Row] = []
        found_timers: list[Row] = []
        if ticket_ids:
            found_tickets = self.engine.execute(
                f"SELECT {', '.join(TICKET_COLUMNS)} FROM {self.db}.tickets FINAL "
                f"WHERE ticket_id IN ({_in_list(sorted(ticket_ids))})"
            )
        if timer_ids:
            found_timers = self.engine.execute(
                f"SELECT {', '.join(TIMER_COLUMNS)} FROM {self.db}.sla_timers FINAL "
                f"WHERE ticket_id IN ({_in_list(sorted(timer_ids))})"
            )
        for row in found_tickets:
            self.tickets.put(str(row[0]), TicketState.from_row(_utc_row(row)))
        for row in found_timers:
            t = TimerState.from_row(_utc_row(row))
            self.timers.put((t.ticket_id, t.metric, t.instance), t)

    # ------------------------------------------------------------------ projecting
    def project(self, items: Sequence[tuple[Any, Source]], now: datetime) -> Batch:
        """Rows for ``items`` (decoded record, where it was read), in order. Call
        :meth:`load_state` for the same records first."""
        batch = Batch()
        for record, src in items:
            self._project_one(batch, record, src, now)
        return batch

    def _project_one(self, batch: Batch, rec: Any, src: Source, now: datetime) -> None:
        env: r.Envelope | None = getattr(rec, "envelope", None)
        if env is None:
            return  # not an event (e.g. a tick): nothing to project
        ticket: TicketState | None = None
        first_reply_seconds = -1
        extra: dict[str, Any] = {}
        if isinstance(rec, TICKET_EVENTS):
            before = self.tickets.get(rec.ticket_id)
            if before is not None and env.aggregate_version <= before.version:
                batch.dropped += 1
                return
            replied_before = before is not None and before.first_reply_at is not None
            ticket = evolve_ticket(before, rec)  # in place: `before` is the same object now
            self.tickets.put(rec.ticket_id, ticket)
            batch.rows["tickets"].append(ticket.row())
            if ticket.first_reply_at is not None and not replied_before:
                first_reply_seconds = int(
                    (ticket.first_reply_at - ticket.created_at).total_seconds()
                )
        elif isinstance(rec, TIMER_EVENTS):
            key = timer_key(rec)
            timer_before = self.timers.get(key)
            if timer_before is not None and timer_version(rec) <= timer_before.version:
                batch.dropped += 1
                return
            ticket = self.tickets.get(rec.ticket_id)
            timer = evolve_timer(timer_before, rec, ticket.channel if ticket else "")
            self.timers.put(key, timer)
            batch.rows["sla_timers"].append(timer.row())
            extra = {"metric": timer.metric, "instance": timer.instance, "policy": timer.policy_id}
        elif hasattr(rec, "ticket_id"):
            ticket = self.tickets.get(rec.ticket_id)
        self._messages(batch, rec, env, ticket)
        self._activity(batch, rec, env, ticket)
        channel = getattr(rec, "channel", None)
        priority = getattr(rec, "priority", None)
        agent = _agent_of(rec, ticket)
        at = env.occurred_at
        batch.rows["events"].append(
            (
                env.event_id, type(rec).__name__, at, _ms(at), env.recorded_at, env.aggregate_id,
                env.aggregate_version, env.causation_id, env.correlation_id,
                env.actor.kind.value, env.actor.id, env.tenant_id, env.brand_id or "",
                getattr(rec, "ticket_id", ""),
                ticket.channel if ticket and ticket.channel else _val(channel),
                _val(priority) if priority is not None else (ticket.priority if ticket else ""),
                ticket.status if ticket else _val(getattr(rec, "status", None)),
                agent, str(extra.get("metric", "")), int(extra.get("instance", 0)),
                str(extra.get("policy", getattr(rec, "policy_id", ""))), first_reply_seconds,
                payload_json(rec, store_bodies=self.store_bodies),
                src.topic, src.partition, src.offset, now,
            )
        )  # fmt: skip
        if batch.newest_event_at is None or at > batch.newest_event_at:
            batch.newest_event_at = at

    def _messages(self, batch: Batch, rec: Any, env: r.Envelope, t: TicketState | None) -> None:
        row: tuple[Any, ...] | None = None
        body = rec.text if self.store_bodies and hasattr(rec, "text") else ""
        if isinstance(rec, r.ChannelMessageReceived):
            row = (
                "inbound", "", rec.conversation_key, rec.dedup_key, rec.channel.value,
                "customer", env.actor.id, env.occurred_at, rec.sent_at,
            )  # fmt: skip
        elif isinstance(rec, r.CustomerMessageAppended):
            row = (
                "inbound", rec.ticket_id, "", rec.message_id, rec.channel.value, "customer",
                t.customer_id if t else env.actor.id, env.occurred_at, rec.sent_at,
            )  # fmt: skip
        elif isinstance(rec, r.AgentReplied):
            row = (
                "outbound", rec.ticket_id, rec.conversation_key, rec.reply_id, rec.channel.value,
                env.actor.kind.value, rec.author_id, env.occurred_at, env.occurred_at,
            )  # fmt: skip
        if row is None:
            return
        attachments = len(getattr(rec, "attachments", ()))
        batch.rows["messages"].append(
            (
                env.event_id,
                type(rec).__name__,
                *row,
                attachments,
                len(rec.text),
                body,
                env.tenant_id,
            )
        )

    def _activity(self, batch: Batch, rec: Any, env: r.Envelope, t: TicketState | None) -> None:
        who, what, detail = "", "", ""
        match rec:
            case r.TicketAssigned():
                who, what, detail = rec.agent_id, "assigned", rec.reason.value
            case r.TicketUnassigned():
                who, what, detail = rec.previous_agent_id, "unassigned", rec.reason or ""
            case r.AgentReplied() if env.actor.kind is r.ActorKind.AGENT:
                who, what = rec.author_id, "replied"
            case r.InternalNoteAdded():
                who, what = rec.author_id, "noted"
            case r.TicketStatusChanged() if env.actor.kind is r.ActorKind.AGENT:
                solved = rec.to_status is r.TicketStatus.SOLVED
                who, what, detail = (
                    env.actor.id,
                    "solved" if solved else "status",
                    rec.to_status.value,
                )
            case r.AgentPresenceChanged():
                who, what, detail = rec.agent_id, "presence", rec.presence.value
        if not who:
            return
        batch.rows["agent_activity"].append(
            (
                env.event_id, who, what, getattr(rec, "ticket_id", ""), t.channel if t else "",
                t.priority if t else "", detail, env.occurred_at, env.tenant_id,
            )
        )  # fmt: skip


def _agent_of(rec: Any, t: TicketState | None) -> str:
    for name in ("agent_id", "author_id", "assignee_id", "previous_agent_id"):
        value = getattr(rec, name, None)
        if value:
            return str(value)
    return t.assignee_id if t else ""


def _val(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _utc(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 19 and value[4] == "-" and value[10] == " ":
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def _utc_row(row: Row) -> tuple[Any, ...]:
    """A state row read back from either engine, with datetimes as aware UTC datetimes."""
    return tuple(_utc(v) for v in row)
