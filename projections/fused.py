"""The fused path: an event's bytes → its rows without the datum dicts (the projector's hot path).

For each event class whose schema :func:`schemas.fastdecode.compiled_flat_reader` reads, two
functions are generated once per process from the Avro schema and the table definitions:

- a reader (poll time) that returns the event's fields — the envelope's and the actor's
  included — as one flat tuple instead of three dicts: ticket id first, then the SLA metric
  and instance (so a timer's key is ``t[:3]``), then the rest in schema order;
- a projector (flush time) that unpacks that tuple into locals and does what
  ``projections.rows.Projection._project_one`` does for the class — state check and fold,
  the ``tickets``/``sla_timers``/``messages``/``agent_activity``/``events`` rows and the
  payload JSON — with every per-class branch decided when the code is generated.

What is not generated (a class without a rule here, a schema the reader compiler does not
take, a released schema's bytes, bytes the flat reader refuses) stays a datum dict and goes
the general way, through ``Projection._project_one``; both give the same rows, so a batch may
hold both kinds. ``tests/property/projections/test_fused.py`` checks every event class, on the
states random sequences of a ticket's events lead to (replays included): the same rows, column
by column and type by type (the payload JSON byte for byte), the same state and the same drops
as the datum path.

The rules below repeat, per class, ``projections.state.evolve_ticket`` / ``evolve_timer`` and
``Projection._messages`` / ``_activity`` (``{name}`` is the event's field, ``{actor_kind}`` /
``{actor_id}`` the envelope's actor): change both together; the property test fails when they
differ, and a class of those kinds without a rule here is not generated (the general way).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from projections.payload import datum_payload_code
from projections.state import TICKET_COLUMNS, TIMER_COLUMNS, TIMER_EVENTS, TicketState, TimerState
from schemas import records as r
from schemas.codec import SINGLE_OBJECT_MAGIC, Codec, default_codec
from schemas.convert import record_classes
from schemas.fastdecode import DatumDecoder, compiled_flat_reader

Flat = tuple[Any, ...]
# Project one flat event: (projection, batch, flat tuple, where it was read, now in epoch s).
FusedProject = Callable[[Any, Any, Flat, tuple[str, int, int], int], None]

_FLATTEN = frozenset({(), ("envelope",), ("envelope", "actor")})
# Read as UTF-8 bytes by the flat reader, beyond the envelope's ids (projections.rows'
# ENVELOPE_BYTES, which the datum path shares): the actor's kind, an enum whose symbol goes to
# String cells (events.actor_kind, messages.author_kind) and is compared with _AGENT as bytes
# here — the bytes come from the reader's symbol table at no cost, a str cost the driver ~55 ns.
FLAT_BYTES = frozenset({("envelope", "actor", "kind")})
_FIRST = (("ticket_id",), ("metric",), ("instance",))

# evolve_ticket's branch per ticket event class (after version and updated_at)
_TICKET_RULES: dict[str, str] = {
    "TicketOpened": (
        "s.customer_id = {customer_id}\ns.channel = {channel}\ns.priority = {priority}\n"
        's.status = _NEW\ns.group_name = {group} or ""\ns.tags = tuple({tags})\n'
        's.by_customer = int({by_customer})\ns.follow_up_of = {follow_up_of} or ""\n'
        "s.created_at = at_ms"
    ),
    "CustomerMessageAppended": "",
    "AgentReplied": (
        "if {actor_kind} == _AGENT and s.first_reply_at is None:\n    s.first_reply_at = at_ms"
    ),
    "InternalNoteAdded": "",
    "TicketAssigned": "s.assignee_id = {agent_id}",
    "TicketUnassigned": 's.assignee_id = ""',
    "TicketStatusChanged": "s.status = {to_status}\nif s.status == _SOLVED:\n    s.solved_at = at_ms",
    "TicketPriorityChanged": "s.priority = {to_priority}",
    "TicketGroupChanged": "s.group_name = {to_group}",
    "TicketTagsChanged": "s.tags = tuple({tags})",
    "TicketEscalated": "s.escalation_tier = {to_tier}\ns.group_name = {to_group}",
    "TicketMerged": "s.merged_into = {into_ticket_id}",
    "TicketReopened": "s.reopen_count += 1\ns.status = _OPEN\ns.solved_at = None",
    "FollowUpTicketOpened": "s.follow_up_of = {follow_up_of}",
    "CsatReceived": "s.csat_score = {score}",
}
# evolve_timer's branch per SLA event class (after the fields every class with them sets)
_TIMER_RULES: dict[str, str] = {
    "SlaTimerStarted": 's.state = "running"\ns.business_hours = int({business_hours})',
    "SlaTimerPaused": 's.state = "paused"',
    "SlaTimerResumed": 's.state = "running"',
    "SlaWarning": "",
    "SlaBreached": 's.state = "breached"\ns.breached = 1\ns.breached_at = s.breached_at or at_ms',
    "SlaTimerFulfilled": (
        's.state = "fulfilled"\ns.fulfilled = 1\ns.fulfilled_at = at_ms\n'
        "s.breached = max(s.breached, int({breached}))"
    ),
}
_RANK = {cls.__name__: i for i, cls in enumerate(TIMER_EVENTS)}  # projections.state's order
# projections.rows._project_one's messages and agent_activity rows, per class. Cells that only
# go to a String column are UTF-8 bytes where that is free (constants, the ticket id's bytes,
# ``tidb``): clickhouse-driver encodes a str cell again (~55 ns), a bytes cell it writes as it
# is. ``messages.direction`` is an Enum8 column: the driver maps its str names, so it stays str.
_MESSAGE_ROWS: dict[str, str] = {
    "ChannelMessageReceived": (
        '"inbound", b"", {conversation_key}, {dedup_key}, {channel}, b"customer", {actor_id}, '
        "at_s, {sent_at} // 1000"
    ),
    "CustomerMessageAppended": (
        '"inbound", tidb, b"", {message_id}, {channel}, b"customer", '
        "ticket.customer_id if ticket else {actor_id}, at_s, {sent_at} // 1000"
    ),
    "AgentReplied": (
        '"outbound", tidb, {conversation_key}, {reply_id}, {channel}, {actor_kind}, '
        "{author_id}, at_s, at_s"
    ),
}
_ACTIVITY: dict[str, str] = {  # sets who, what, detail
    "TicketAssigned": 'who, what, detail = {agent_id}, b"assigned", {reason}',
    "TicketUnassigned": 'who, what, detail = {previous_agent_id}, b"unassigned", {reason} or b""',
    "AgentReplied": (
        'who, what, detail = ({author_id}, b"replied", b"") if {actor_kind} == _AGENT '
        'else ("", "", "")'
    ),
    "InternalNoteAdded": 'who, what, detail = {author_id}, b"noted", b""',
    "TicketStatusChanged": (
        "if {actor_kind} == _AGENT:\n"
        '    who, what, detail = {actor_id}, b"solved" if {to_status} == _SOLVED else b"status", '
        "{to_status}\n"
        'else:\n    who, what, detail = "", "", ""'
    ),
    "AgentPresenceChanged": 'who, what, detail = {agent_id}, b"presence", {presence}',
}


def _row(
    var: str,
    columns: tuple[str, ...],
    instants: set[str],
    maybe: set[str],
    named: dict[str, str] | None = None,
) -> str:
    """The source of a state's ``row()`` (its columns; instants in epoch ms as epoch seconds,
    ``maybe``: those that may be None), without the method call and its ``_secs`` calls; the
    ticket id as the event's UTF-8 bytes (``tidb``: the state's key, so its ``ticket_id``), and
    the columns ``named`` from the local variable it names."""
    named = named or {}
    cells = []
    for c in columns:
        if c == "ticket_id":
            cells.append("tidb")
        elif c in named:
            cells.append(named[c])
        elif c in instants:
            cells.append(f"{var}.{c} // 1000")
        elif c in maybe:
            cells.append(f"(None if (_m := {var}.{c}) is None else _m // 1000)")
        else:
            cells.append(f"{var}.{c}")
    return f"({', '.join(cells)})"


class _Utf8(dict[Any, Any]):
    """``_U8[value]``: a str as its UTF-8 bytes, cached; anything else as it is (past 4,096
    values it stops caching: still right, only slower). For a ticket event's channel, priority
    and status, looked up once (~30-50 ns each) for the 6-7 String cells they fill (the tickets
    row, the events row, the activity row), each of which clickhouse-driver would otherwise
    encode (~55 ns). A lookup per cell costs what it saves (tried: see the benchmark notes)."""

    __slots__ = ()

    def __missing__(self, key: Any) -> Any:
        value = key.encode() if key.__class__ is str else key
        if len(self) < 4096:
            self[key] = value
        return value


_U8 = _Utf8()
# the activity row's channel and priority for a class that is not a ticket event
_ACT_CP = 'ticket.channel if ticket else b"", ticket.priority if ticket else b""'

_TICKET_ROW = _row(
    "s", TICKET_COLUMNS, {"created_at", "updated_at"}, {"first_reply_at", "solved_at"},
    {"channel": "cb", "priority": "pb", "status": "sb"},  # as bytes: see _Utf8
)  # fmt: skip
_TIMER_ROW = _row(
    "s", TIMER_COLUMNS, {"started_at", "due_at", "updated_at"}, {"breached_at", "fulfilled_at"}
)


def _local(path: tuple[str, ...]) -> str:
    if path[:2] == ("envelope", "actor"):
        return "a_" + "_".join(path[2:])
    if path[0] == "envelope":
        return "e_" + "_".join(path[1:])
    return "f_" + "_".join(path)


def _plain_str(schema: Any) -> bool:
    """A field whose datum value is always an exact str (a string or an enum symbol)."""
    t = (
        schema
        if isinstance(schema, str)
        else schema.get("type")
        if isinstance(schema, dict)
        else None
    )
    return t in ("string", "enum")


def _indent(code: str, ind: int) -> list[str]:
    return ["    " * ind + line for line in code.splitlines() if line]


def _project_source(
    cls: type, schema: Any, paths: tuple[tuple[str, ...], ...], store_bodies: bool
) -> tuple[str, dict[str, Any]] | None:
    """The source of the class's projector function (``project``) and its namespace, or None
    when the class has no rule here (it goes today's way)."""
    from projections.rows import _ACTIVITY_KINDS, _AGENT_FIELDS, _MESSAGE_KINDS, TICKET_EVENTS

    name = cls.__name__
    ticket = issubclass(cls, TICKET_EVENTS)
    timer = issubclass(cls, TIMER_EVENTS)
    if (ticket and name not in _TICKET_RULES) or (timer and name not in _TIMER_RULES):
        return None
    if (name in _MESSAGE_KINDS and name not in _MESSAGE_ROWS) or (
        name in _ACTIVITY_KINDS and name not in _ACTIVITY
    ):
        return None
    fields = {f["name"]: f["type"] for f in schema["fields"]}
    names = {p[0]: _local(p) for p in paths if len(p) == 1}
    names["actor_kind"] = _local(("envelope", "actor", "kind"))
    names["actor_id"] = _local(("envelope", "actor", "id"))
    envelope = (
        "event_id", "occurred_at", "recorded_at", "aggregate_id", "aggregate_version",
        "causation_id", "correlation_id", "tenant_id", "brand_id", "actor",
    )  # fmt: skip
    have = {p[1] if p[1] != "actor" else "actor" for p in paths if p[0] == "envelope"}
    if not have.issuperset(envelope) or {
        ("envelope", "actor", "kind"),
        ("envelope", "actor", "id"),
    } - set(paths):
        return None
    has_tid = "ticket_id" in fields
    if (ticket or timer) and paths[0] != ("ticket_id",):
        return None
    if timer and paths[1:3] != (("metric",), ("instance",)):
        return None

    def val(field: str) -> str:
        """_val(d[field]): '' for None, else str()."""
        v = names[field]
        return v if _plain_str(fields[field]) else f'("" if {v} is None else str({v}))'

    out = ["def project(P, batch, t, src, now_s):"]
    out.append(f"    ({''.join(_local(p) + ', ' for p in paths)}) = t")
    out.append("    at_ms = e_occurred_at")
    out.append("    rows = batch.rows")
    tid = names.get("ticket_id", "")
    if has_tid:  # its cells (every table's ticket_id) as UTF-8: one encode for 2-3 cells
        out.append(f"    tidb = {tid}.encode()")
    if ticket:
        rule = _TICKET_RULES[name].format_map(names)
        out += _indent(
            f"""
before = (tickets := P.tickets._data).get({tid})
if before is not None:
    tickets.move_to_end({tid})
if before is not None and e_aggregate_version <= before.version:
    batch.dropped += 1
    return
if before is None:
    s = _TicketState({tid}, 0, e_tenant_id, "", "", "", "", "", "", (), 0, "", "", 1, 0, 0, at_ms, at_ms, None, None)
    replied_before = False
else:
    s = before
    replied_before = s.first_reply_at is not None
s.version = e_aggregate_version
s.updated_at = at_ms
""",
            1,
        )
        out += _indent(rule, 1)
        out += _indent(
            f"""
ticket = s
if before is None:
    P.tickets.put({tid}, s)
    P._absent_tickets.discard({tid})
cb, pb, sb = _U8[s.channel], _U8[s.priority], _U8[s.status]
rows["tickets"].append({_TICKET_ROW})
if s.first_reply_at is not None and not replied_before:
    first_reply_seconds = int((s.first_reply_at - s.created_at) / 1000)
else:
    first_reply_seconds = -1
metric = b""
policy = b""
instance = 0
""",
            1,
        )
    elif timer:
        sets = []
        if "policy_id" in fields:
            sets += [f"s.policy_id = {names['policy_id']}", f"s.priority = {names['priority']}"]
        if "target_seconds" in fields:
            sets.append(f"s.target_seconds = {names['target_seconds']}")
        if "due_at" in fields:
            sets.append(f"s.due_at = {names['due_at']}")
        if "business_elapsed_seconds" in fields:
            sets += [
                f"s.business_elapsed_seconds = {names['business_elapsed_seconds']}",
                f"s.calendar_elapsed_seconds = {names['calendar_elapsed_seconds']}",
            ]
        out += _indent(
            f"""
key = ({tid}, f_metric, f_instance)
timer_before = (timers := P.timers._data).get(key)
if timer_before is not None:
    timers.move_to_end(key)
version = at_ms * 8 + {_RANK[name]}
if timer_before is not None and version <= timer_before.version:
    batch.dropped += 1
    return
ticket = (tickets := P.tickets._data).get({tid})
if ticket is not None:
    tickets.move_to_end({tid})
channel = ticket.channel if ticket else ""
s = timer_before or _TimerState({tid}, f_metric, f_instance, 0, e_tenant_id, "", "", channel, 0, 0, "running", at_ms, at_ms, 0, 0, 0, 0, None, None, at_ms)
s.version = version
s.updated_at = at_ms
s.channel = s.channel or channel
""",
            1,
        )
        out += _indent("\n".join(sets), 1)
        out += _indent(_TIMER_RULES[name].format_map(names), 1)
        out += _indent(
            f"""
if timer_before is None:
    P.timers.put(key, s)
    P._absent_timers.discard(key)
rows["sla_timers"].append({_TIMER_ROW})
metric, instance, policy = s.metric, s.instance, s.policy_id
first_reply_seconds = -1
""",
            1,
        )
    else:
        if has_tid:
            got = f"ticket = (tickets := P.tickets._data).get({tid})"
            out += _indent(f"{got}\nif ticket is not None:\n    tickets.move_to_end({tid})", 1)
        else:
            out.append("    ticket = None")
        out += _indent('metric = b""\npolicy = b""\ninstance = 0\nfirst_reply_seconds = -1', 1)
    out.append("    at_s = at_ms // 1000")
    if name in _MESSAGE_KINDS:
        text = names["text"]
        out.append(
            f"    rows['messages'].append((e_event_id, {name.encode()!r}, "
            f"{_MESSAGE_ROWS[name].format_map(names)}, len({names['attachments']}), len({text}), "
            f"{text if store_bodies else repr('')}, e_tenant_id))"
        )
    if name in _ACTIVITY_KINDS:
        out += _indent(_ACTIVITY[name].format_map(names), 1)
        out.append("    if who:")
        out.append(
            f"        rows['agent_activity'].append((e_event_id, who, what, {'tidb' if has_tid else repr(b'')}, "
            f"{'cb, pb' if ticket else _ACT_CP}, detail, "
            "at_s, e_tenant_id))"
        )
    agent_fields = [n for n in _AGENT_FIELDS if n in fields]
    if any(fields[n] not in ("string", ["null", "string"]) for n in agent_fields):
        return None
    # _agent_of: the first agent field that is set (strings or None: str() is the value)
    agent = "".join(f"{names[n]} or " for n in agent_fields) + 'b""'
    own_channel = val("channel") if "channel" in fields else 'b""'
    own_priority = val("priority") if "priority" in fields else 'b""'
    own_status = val("status") if "status" in fields else 'b""'
    ticket_part = f"""
channel = {"cb" if ticket else "ticket.channel"} or {own_channel}
{f"priority = {val('priority')} if {names['priority']} is not None else {'pb' if ticket else 'ticket.priority'}" if "priority" in fields else f"priority = {'pb' if ticket else 'ticket.priority'}"}
status = {"sb" if ticket else "ticket.status"}
agent = {agent} or ticket.assignee_id
"""
    none_part = f"""
channel = {own_channel}
priority = {own_priority}
status = {own_status}
agent = {agent}
"""
    if ticket:
        out += _indent(ticket_part, 1)
    else:
        out.append("    if ticket is not None:")
        out += _indent(ticket_part, 2)
        out.append("    else:")
        out += _indent(none_part, 2)
    if "policy_id" in fields:
        out.append(f"    if not policy:\n        policy = str({names['policy_id']})")
    defs, payload, namespace = datum_payload_code(cls, store_bodies, lambda n: names[n])
    out.append(
        f"    rows['events'].append((e_event_id, {name.encode()!r}, at_s, at_ms, e_recorded_at // 1000, "
        "e_aggregate_id, e_aggregate_version, e_causation_id, e_correlation_id, a_kind, a_id, "
        f"e_tenant_id, e_brand_id or b'', {'tidb' if has_tid else repr(b'')}, channel, priority, status, "
        f"agent, metric, instance, policy, first_reply_seconds, {payload}, src[0], src[1], src[2], now_s))"
    )
    out += _indent(
        """
newest = batch.newest_event_ms
if newest is None or at_ms > newest:
    batch.newest_event_ms = at_ms
""",
        1,
    )
    namespace.update(
        _TicketState=TicketState,
        _TimerState=TimerState,
        _U8=_U8,
        _AGENT=r.ActorKind.AGENT.value.encode(),  # the actor's kind is bytes (FLAT_BYTES)
        _SOLVED=r.TicketStatus.SOLVED.value,
        _NEW=r.TicketStatus.NEW.value,
        _OPEN=r.TicketStatus.OPEN.value,
    )
    return defs + "\n".join(out) + "\n", namespace


_LAYOUTS: dict[type, tuple[Callable[[bytes], Flat], tuple[tuple[str, ...], ...]] | None] = {}


def _events() -> list[type]:
    return [c for c in record_classes() if "envelope" in {f.name for f in dataclasses.fields(c)}]


def layout(
    cls: type, codec: Codec | None = None
) -> tuple[Callable[[bytes], Flat], tuple[tuple[str, ...], ...]] | None:
    """The class's flat reader and the field paths of its tuple (this build's schema), or None."""
    if cls not in _LAYOUTS:
        from projections.rows import ENVELOPE_BYTES

        schema = (codec or default_codec()).schemas[cls.__name__].expanded
        _LAYOUTS[cls] = compiled_flat_reader(
            schema, _FLATTEN, _FIRST, utf8_bytes=ENVELOPE_BYTES | FLAT_BYTES
        )
    return _LAYOUTS[cls]


_PROJECTORS: dict[bool, dict[type, FusedProject]] = {}


def projectors(store_bodies: bool) -> dict[type, FusedProject]:
    """The generated projector of every event class this module covers (see module doc;
    generated once per process and ``store_bodies``)."""
    if store_bodies in _PROJECTORS:
        return _PROJECTORS[store_bodies]
    out = _PROJECTORS[store_bodies] = {}
    codec = default_codec()
    for cls in _events():
        found = layout(cls, codec)
        if found is None:
            continue
        made = _project_source(cls, codec.schemas[cls.__name__].expanded, found[1], store_bodies)
        if made is None:
            continue
        source, namespace = made
        exec(compile(source, f"<projections.fused {cls.__name__}>", "exec"), namespace)
        out[cls] = namespace["project"]
    return out


class FusedDecoder:
    """``decode(data, topic=None, partition=None, offset=None) -> (cls, flat tuple or datum)``:
    the flat tuple for an event of a class :func:`projectors` covers written with this build's
    schema, else what :class:`schemas.fastdecode.DatumDecoder` gives (its errors included).

    ``flat``: the first 10 bytes of such an event (single-object magic and schema fingerprint)
    → ``(cls, read)``, for a caller that tries ``read(data)`` itself before calling ``decode``
    (the projector's record loop: a call and two slices less a record). ``read`` raises on
    bytes it does not vouch for; ``decode`` then decides, as it does for any other key."""

    def __init__(
        self, utf8_bytes: frozenset[tuple[str, ...]], *, store_bodies: bool = False
    ) -> None:
        codec = default_codec()
        datum = DatumDecoder(codec, utf8_bytes=utf8_bytes).decode
        # the classes covered (the same for either store_bodies): the projection's own set, so
        # the code is generated once per process, not a second time for the other setting
        covered = projectors(store_bodies)
        flat: dict[bytes, tuple[type, Callable[[bytes], Flat]]] = {}
        for fp, reader in codec._readers.items():
            if reader.reader is None and reader.cls in covered:
                found = layout(reader.cls, codec)
                if found is not None:
                    flat[fp] = (reader.cls, found[0])

        def decode(
            data: bytes,
            topic: str | None = None,
            partition: int | None = None,
            offset: int | None = None,
        ) -> tuple[type, Any]:
            if data[:2] == SINGLE_OBJECT_MAGIC and type(data) is bytes:
                fast = flat.get(data[2:10])
                if fast is not None:
                    try:
                        return fast[0], fast[1](data)
                    except Exception:
                        pass  # not canonical, or damaged: the datum decoder decides
            return datum(data, topic, partition, offset)

        self.decode = decode
        self.flat: dict[bytes, tuple[type, Callable[[bytes], Flat]]] = {
            SINGLE_OBJECT_MAGIC + fp: found for fp, found in flat.items()
        }
