"""Decoded events → rows of the projection tables (``events``, ``tickets``, ``messages``,
``sla_timers``, ``agent_activity``), with the ticket and SLA-timer state they need.

Events come as Avro data, ``(record class, datum)`` from ``schemas.fastdecode.DatumDecoder``
(instants as epoch milliseconds, enums as symbol strings): the projector never builds the
record dataclasses, their datetimes and enums only to take them apart again. The ``*_data``
methods take data; ``missing``, ``load_state`` and ``project`` take records (tests, tools) and
turn each into its datum first. The projector's events mostly come as ``projections.fused``'s
flat tuples instead, which ``project_data`` hands to the class's generated code (the same rows
as ``_project_one`` gives for the datum).

A :class:`Projection` keeps the folded state of recently seen tickets and timers in memory and
loads what it lacks from ClickHouse (``FINAL``), so a restarted projector continues where the
tables are. Ticket and timer events at or below the state's version were already projected
(a replay, or an upstream re-emission): they are dropped whole, so nothing downstream — not even
the hourly rollup's materialized view — sees them twice. The state tables (``sla_timers``,
``tickets``) are inserted last, so a state that has reached a version implies every row of the
events up to that version is stored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar

from projections.engines import Engine, Row, sql_literal
from projections.payload import datum_encoder_for
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
from schemas.convert import record_classes
from schemas.fastdecode import datum_of

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


class Source(NamedTuple):
    """Where a record was read: Kafka topic, partition and offset. (A tuple: one is made
    per record on the hot path; a plain ``(topic, partition, offset)`` tuple does as well.)"""

    topic: str
    partition: int
    offset: int


# The envelope's string fields that only ever become column values: the projector's decoder
# leaves them as the UTF-8 bytes Avro carries (validated), which clickhouse-driver writes as
# they are — a str is decoded from those bytes and encoded back for every String cell (~90 ns
# each, ~8 cells an event). Other fields feed state, keys and the payload JSON: str.
ENVELOPE_BYTES: frozenset[tuple[str, ...]] = frozenset(
    {("envelope", name) for name in (
        "event_id", "aggregate_id", "causation_id", "correlation_id", "tenant_id", "brand_id",
    )} | {("envelope", "actor", "id")}
)  # fmt: skip

Where = tuple[str, int, int]  # (topic, partition, offset), a Source or a plain tuple
# (record class, datum, where it was read); the datum is a dict, or projections.fused's flat
# tuple for the classes it generates code for
Item = tuple[type, Any, Where]
_NOWHERE: Where = ("", -1, -1)


@dataclass(slots=True)
class Batch:
    """Rows per table, ready to insert; ``dropped`` counts already-projected events.

    Datetime columns hold whole seconds since the epoch (UTC), which clickhouse-driver writes
    as they are (a datetime costs it a time-zone conversion per value: most of its CPU).
    ``newest_event_ms``: the latest event time in the batch (epoch ms), for the freshness gauge."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in TABLES})
    dropped: int = 0
    newest_event_ms: int | None = None

    def columnar(self, table: str) -> list[list[Any]]:
        return [list(col) for col in self.column_tuples(table)]

    def column_tuples(self, table: str) -> list[tuple[Any, ...]]:
        """The table's columns as tuples, for an engine that copies what it is given (the
        projector's inserts): clickhouse-driver slices each column and makes a list of the
        slice, so a list from :meth:`columnar` was copied twice more (~20 ns a cell)."""
        return list(zip(*self.rows[table], strict=True))

    def row_count(self) -> int:
        return sum(len(v) for v in self.rows.values())


_TIMER_TYPES = frozenset(TIMER_EVENTS)
_TICKET_TYPES = frozenset(TICKET_EVENTS)
_STATEFUL = _TIMER_TYPES | _TICKET_TYPES
_AGENT_FIELDS = ("agent_id", "author_id", "assignee_id", "previous_agent_id")
_MESSAGE_KINDS = frozenset({"ChannelMessageReceived", "CustomerMessageAppended", "AgentReplied"})
_ACTIVITY_KINDS = frozenset(
    {
        "TicketAssigned", "TicketUnassigned", "AgentReplied", "InternalNoteAdded",
        "TicketStatusChanged", "AgentPresenceChanged",
    }
)  # fmt: skip
_AGENT = r.ActorKind.AGENT.value
_SOLVED = r.TicketStatus.SOLVED.value


@dataclass(frozen=True, slots=True)
class _Kind:
    """What the projection needs to know about one record class (computed once per class)."""

    name: bytes  # the event_type column's value (bytes: written as they are)
    ticket: bool  # a ticket event (folds ticket state)
    timer: bool  # an SLA timer event (folds timer state)
    has_ticket_id: bool
    channel: bool  # has a `channel` field
    priority: bool
    status: bool
    agent_fields: tuple[str, ...]
    policy: bool
    message: bool  # a row in `messages`
    activity: bool  # may make a row in `agent_activity`
    payload: Callable[[dict[str, Any]], str]


_KINDS: dict[tuple[type, bool], _Kind | None] = {}


def _kind(cls: type, store_bodies: bool) -> _Kind | None:
    """The class's :class:`_Kind`, or None when it is not an event (no envelope)."""
    key = (cls, store_bodies)
    if key in _KINDS:
        return _KINDS[key]
    names = {f.name for f in fields(cls)} if is_dataclass(cls) else set()
    kind = None
    if "envelope" in names:
        kind = _Kind(
            name=cls.__name__.encode(),
            ticket=issubclass(cls, TICKET_EVENTS),
            timer=issubclass(cls, TIMER_EVENTS),
            has_ticket_id="ticket_id" in names,
            channel="channel" in names,
            priority="priority" in names,
            status="status" in names,
            agent_fields=tuple(n for n in _AGENT_FIELDS if n in names),
            policy="policy_id" in names,
            message=cls.__name__ in _MESSAGE_KINDS,
            activity=cls.__name__ in _ACTIVITY_KINDS,
            payload=datum_encoder_for(cls, store_bodies=store_bodies),
        )
    _KINDS[key] = kind
    return kind


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

    def discard(self, key: K) -> None:
        self._data.pop(key, None)

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
        # Looked up in ClickHouse and not there (yet): not asked again until this projector
        # creates them or forgets (an SLA event read before its ticket's events would otherwise
        # send its ticket id to ClickHouse on every flush until the ticket arrives).
        self._absent_tickets: LruCache[str, bool] = LruCache(cache_size)
        self._absent_timers: LruCache[TimerKey, bool] = LruCache(cache_size)
        # Every record class's _Kind (None: not an event), with its payload encoder, generated
        # here (~40 ms, once per process) rather than by the first batch that meets the class.
        self._kinds: dict[type, _Kind | None] = {
            cls: _kind(cls, store_bodies) for cls in record_classes()
        }
        # The generated projector per event class, for events decoded as flat tuples
        # (projections.fused: the same rows without the datum dicts)
        from projections.fused import projectors

        self._fused = projectors(store_bodies)

    def forget(self) -> None:
        """Drop cached state (partitions moved: another projector may have written since)."""
        self.tickets.clear()
        self.timers.clear()
        self._absent_tickets.clear()
        self._absent_timers.clear()

    def knows_ticket(self, ticket_id: str) -> bool:
        """True when the ticket's state is in memory (it can be projected without waiting)."""
        return ticket_id in self.tickets

    # ------------------------------------------------------------------ records (not hot)
    def missing(self, records: Sequence[Any]) -> tuple[set[str], set[str]]:
        """:meth:`missing_data` for records."""
        return self.missing_data([(*datum_of(rec), _NOWHERE) for rec in records])

    def load_state(
        self, records: Sequence[Any], wanted: tuple[set[str], set[str]] | None = None
    ) -> None:
        """:meth:`load_state_data` for records."""
        self.load_state_data([(*datum_of(rec), _NOWHERE) for rec in records], wanted)

    def project(self, items: Sequence[tuple[Any, Where]], now: datetime) -> Batch:
        """:meth:`project_data` for ``(record, where it was read)`` pairs."""
        return self.project_data([(*datum_of(rec), src) for rec, src in items], now)

    # ------------------------------------------------------------------ state loading
    def missing_data(self, events: Sequence[Item]) -> tuple[set[str], set[str]]:
        """Ticket ids whose ticket state, and whose SLA timer state, must be loaded for
        ``events`` (record class and datum first in each item): not cached, not known to be
        absent from ClickHouse, and not new in ``events`` (opened / timer started here)."""
        opened: set[str] = set()
        started: set[TimerKey] = set()
        for cls, d, _ in events:
            if cls is r.TicketOpened:
                opened.add(d[0] if d.__class__ is tuple else d["ticket_id"])
            elif cls is r.SlaTimerStarted:
                started.add(d[:3] if d.__class__ is tuple else timer_key(d))
        ticket_ids: set[str] = set()
        timer_ids: set[str] = set()
        tickets, timers = self.tickets, self.timers
        absent_tickets, absent_timers = self._absent_tickets, self._absent_timers
        for cls, d, _ in events:
            if cls not in _STATEFUL:
                continue
            flat = d.__class__ is tuple  # projections.fused: ticket id, metric, instance first
            tid = d[0] if flat else d["ticket_id"]
            if tid in opened:
                continue
            if tid not in tickets and tid not in absent_tickets:
                ticket_ids.add(tid)
            if cls in _TIMER_TYPES:
                key = d[:3] if flat else timer_key(d)
                if key not in started and key not in timers and key not in absent_timers:
                    timer_ids.add(tid)
        return ticket_ids, timer_ids

    def load_state_data(
        self,
        events: Sequence[Item],
        wanted: tuple[set[str], set[str]] | None = None,
    ) -> None:
        """Load from ClickHouse the state of tickets/timers in ``events`` not cached
        (``wanted``: what :meth:`missing_data` returned for them, if the caller has it).

        Raises ClickHouseError (nothing is changed then, so the caller may retry)."""
        ticket_ids, timer_ids = wanted if wanted is not None else self.missing_data(events)
        found_tickets: list[Row] = []
        found_timers: list[Row] = []
        if ticket_ids:
            found_tickets = self._by_ticket_id(
                f"SELECT {', '.join(TICKET_COLUMNS)} FROM {self.db}.tickets FINAL", ticket_ids
            )
        if timer_ids:
            found_timers = self._by_ticket_id(
                f"SELECT {', '.join(TIMER_COLUMNS)} FROM {self.db}.sla_timers FINAL", timer_ids
            )
        for row in found_tickets:
            self.tickets.put(str(row[0]), TicketState.from_row(_utc_row(row)))
        for row in found_timers:
            t = TimerState.from_row(_utc_row(row))
            self.timers.put((t.ticket_id, t.metric, t.instance), t)
        for tid in ticket_ids:
            if tid not in self.tickets:
                self._absent_tickets.put(tid, True)
        for cls, d, _ in events:
            if cls not in _TIMER_TYPES:
                continue
            flat = d.__class__ is tuple
            if (d[0] if flat else d["ticket_id"]) in timer_ids:
                key = d[:3] if flat else timer_key(d)
                if key not in self.timers:
                    self._absent_timers.put(key, True)

    def _by_ticket_id(self, select: str, ticket_ids: set[str]) -> list[Row]:
        """The rows of ``select`` for ``ticket_ids``: as a temporary table of the query when
        the engine can send one (``DriverEngine.select_where_in``: a fresh projector's first
        batches look up thousands of tickets, whose IN list of literals cost ClickHouse more
        to parse than the lookup), else as an IN list."""
        where_in = getattr(self.engine, "select_where_in", None)
        if callable(where_in):
            rows: list[Row] = where_in(select, "ticket_id", ticket_ids)
            return rows
        return self.engine.execute(f"{select} WHERE ticket_id IN ({_in_list(sorted(ticket_ids))})")

    # ------------------------------------------------------------------ projecting
    def project_data(self, items: Sequence[Item], now: datetime) -> Batch:
        """Rows for ``items`` (record class, datum, where it was read), in order. Call
        :meth:`load_state_data` for the same events first."""
        batch = Batch()
        now_s = int(now.timestamp())
        kinds = self._kinds
        one = self._project_one
        fused = self._fused
        for cls, d, src in items:
            if d.__class__ is tuple:  # projections.fused's flat event
                fused[cls](self, batch, d, src, now_s)
                continue
            kind = kinds.get(cls)
            if kind is None:
                if cls in kinds:
                    continue  # not an event (e.g. a tick): nothing to project
                kind = kinds[cls] = _kind(cls, self.store_bodies)
                if kind is None:
                    continue
            one(batch, kind, cls, d, src, now_s)
        return batch

    def _project_one(
        self, batch: Batch, k: _Kind, cls: type, d: dict[str, Any], src: Where, now_s: int
    ) -> None:
        env = d["envelope"]
        ticket: TicketState | None = None
        first_reply_seconds = -1
        metric: str | bytes = b""  # b"": empty String cells, written as they are
        policy: str | bytes = b""
        instance = 0
        if k.ticket:
            tid = d["ticket_id"]
            before = self.tickets.get(tid)
            if before is not None and env["aggregate_version"] <= before.version:
                batch.dropped += 1
                return
            replied_before = before is not None and before.first_reply_at is not None
            ticket = evolve_ticket(before, cls, d)  # in place: `before` is the same object now
            if before is None:
                self.tickets.put(tid, ticket)
                self._absent_tickets.discard(tid)
            batch.rows["tickets"].append(ticket.row())
            if ticket.first_reply_at is not None and not replied_before:
                first_reply_seconds = int((ticket.first_reply_at - ticket.created_at) / 1000)
        elif k.timer:
            key = timer_key(d)
            timer_before = self.timers.get(key)
            if timer_before is not None and timer_version(cls, d) <= timer_before.version:
                batch.dropped += 1
                return
            ticket = self.tickets.get(d["ticket_id"])
            timer = evolve_timer(timer_before, cls, d, ticket.channel if ticket else "")
            if timer_before is None:
                self.timers.put(key, timer)
                self._absent_timers.discard(key)
            batch.rows["sla_timers"].append(timer.row())
            metric, instance, policy = timer.metric, timer.instance, timer.policy_id
        elif k.has_ticket_id:
            ticket = self.tickets.get(d["ticket_id"])
        at_ms = env["occurred_at"]
        at_s = at_ms // 1000
        if k.message:
            self._messages(batch, cls, d, env, ticket, at_s)
        if k.activity:
            self._activity(batch, cls, d, env, ticket, at_s)
        if ticket is not None:
            channel = ticket.channel or (_val(d["channel"]) if k.channel else "")
            own = d["priority"] if k.priority else None
            priority = _val(own) if own is not None else ticket.priority
            status = ticket.status
            agent = _agent_of(d, k) or ticket.assignee_id
        else:
            channel = _val(d["channel"]) if k.channel else ""
            priority = _val(d["priority"]) if k.priority else ""
            status = _val(d["status"]) if k.status else ""
            agent = _agent_of(d, k)
        if not policy and k.policy:
            policy = str(d["policy_id"])
        actor = env["actor"]
        batch.rows["events"].append(
            (
                env["event_id"], k.name, at_s, at_ms, env["recorded_at"] // 1000,
                env["aggregate_id"], env["aggregate_version"], env["causation_id"],
                env["correlation_id"], actor["kind"], actor["id"], env["tenant_id"],
                env["brand_id"] or b"", d["ticket_id"] if k.has_ticket_id else b"", channel,
                priority, status, agent, metric, instance, policy, first_reply_seconds,
                k.payload(d), src[0], src[1], src[2], now_s,
            )
        )  # fmt: skip
        newest = batch.newest_event_ms
        if newest is None or at_ms > newest:
            batch.newest_event_ms = at_ms

    def _messages(
        self,
        batch: Batch,
        cls: type,
        d: dict[str, Any],
        env: dict[str, Any],
        t: TicketState | None,
        at_s: int,
    ) -> None:
        row: tuple[Any, ...]
        if cls is r.ChannelMessageReceived:
            row = (
                "inbound", "", d["conversation_key"], d["dedup_key"], d["channel"],
                "customer", env["actor"]["id"], at_s, d["sent_at"] // 1000,
            )  # fmt: skip
        elif cls is r.CustomerMessageAppended:
            row = (
                "inbound", d["ticket_id"], "", d["message_id"], d["channel"], "customer",
                t.customer_id if t else env["actor"]["id"], at_s, d["sent_at"] // 1000,
            )  # fmt: skip
        else:  # AgentReplied
            row = (
                "outbound", d["ticket_id"], d["conversation_key"], d["reply_id"], d["channel"],
                env["actor"]["kind"], d["author_id"], at_s, at_s,
            )  # fmt: skip
        text = d["text"]
        batch.rows["messages"].append(
            (
                env["event_id"], cls.__name__, *row, len(d["attachments"]), len(text),
                text if self.store_bodies else "", env["tenant_id"],
            )
        )  # fmt: skip

    def _activity(
        self,
        batch: Batch,
        cls: type,
        d: dict[str, Any],
        env: dict[str, Any],
        t: TicketState | None,
        at_s: int,
    ) -> None:
        who, what, detail = "", "", ""
        if cls is r.TicketAssigned:
            who, what, detail = d["agent_id"], "assigned", d["reason"]
        elif cls is r.TicketUnassigned:
            who, what, detail = d["previous_agent_id"], "unassigned", d["reason"] or ""
        elif cls is r.AgentReplied:
            if env["actor"]["kind"] == _AGENT:
                who, what = d["author_id"], "replied"
        elif cls is r.InternalNoteAdded:
            who, what = d["author_id"], "noted"
        elif cls is r.TicketStatusChanged:
            if env["actor"]["kind"] == _AGENT:
                to = d["to_status"]
                who, what, detail = env["actor"]["id"], "solved" if to == _SOLVED else "status", to
        elif cls is r.AgentPresenceChanged:
            who, what, detail = d["agent_id"], "presence", d["presence"]
        if not who:
            return
        batch.rows["agent_activity"].append(
            (
                env["event_id"], who, what, d.get("ticket_id", ""), t.channel if t else "",
                t.priority if t else "", detail, at_s, env["tenant_id"],
            )
        )  # fmt: skip


def _agent_of(d: dict[str, Any], k: _Kind) -> str:
    for name in k.agent_fields:
        value = d[name]
        if value:
            return str(value)
    return ""


def _val(value: Any) -> str:
    """A datum's channel/priority/status value as a column value (enums are their symbols)."""
    return "" if value is None else str(value)


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
