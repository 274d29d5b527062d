"""Pickling of table values (domain states, lists of summaries) without pickle's slow path for
slots dataclasses.

Pickle's default for a ``slots=True`` dataclass calls ``dataclasses.fields()`` for every object
and builds a state dict: measured as about half of the worker's CPU per channel message (a
ticket state holds ~40 nested records). ``dumps`` stores each such record as its class and one
positional tuple of its fields (read by a C ``attrgetter``) and rebuilds it with the class's own
constructor. The output is ordinary pickle: ``pickle.loads`` reads it, and states written the
default way still load.

An event the ticket aggregate has just encoded to send it (``remember_encoding``; the ticket
state keeps its last commands' events) is stored as those Avro bytes, read back by
``event_from_avro``: pickling a ticket state took ~27 µs with its events field by field, ~18
with them as bytes (unpickling one costs about the same either way). Only events whose
envelope times are whole milliseconds, as Avro keeps them, so each comes back equal.

A ticket state (``TicketState``, the bulk of the worker's pickling) is stored flat
(``ticket_state_v1``): one tuple of its fields in declaration order, with enum members as their
values, UTC datetimes as integer microseconds since the epoch and kept events as their Avro
bytes, rebuilt by one function. Each class an object refers to costs pickle a global lookup
(~0.85 µs: the module's import check and the attribute walk, once per class and value): a
ticket state named eight (the state, three enum classes, ``getattr``, ``datetime``,
``timezone``, ``event_from_avro``); pickling it took ~17.6 µs that way, ~6 µs flat.
``TICKET_STATE_V1`` is the layout those values have: a change of ``TicketState``'s fields
needs a ``ticket_state_v2`` (keeping v1 to read what was written), and until then the state
is pickled field by field as before (tests/unit/streams/test_statecodec.py checks the layout).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import io
import operator
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast


def _reduce_dataclass(cls: type, values: Callable[[Any], Any], obj: Any) -> tuple[Any, ...]:
    return cls, values(obj)


def _reduce_event(fallback: Any, event: Any) -> tuple[Any, ...]:
    # an event the agent has just encoded (to send it) as those Avro bytes: one bytes object
    # instead of ~15 (envelope, actor, datetimes, enums) reduced from Python; any other event
    # field by field (encoding it here would cost more than that)
    hit = _ENCODED.get(id(event)) or _ENCODED_BEFORE.get(id(event))
    if hit is None or hit[0] is not event:
        return cast(tuple[Any, ...], fallback(event))
    env = event.envelope
    if env.recorded_at.microsecond % 1000 or env.occurred_at.microsecond % 1000:
        # Avro keeps milliseconds: it would not come back equal
        return cast(tuple[Any, ...], fallback(event))
    return event_from_avro, (hit[1],)


_DECODE: Callable[[bytes], Any] | None = None


def event_from_avro(raw: bytes) -> Any:
    """The event whose Avro encoding (``schemas.codec``, single-object) is ``raw`` (unpickling).

    Persistent: pickled table values name this function (``streams.statecodec``)."""
    global _DECODE
    if _DECODE is None:
        from schemas.fastdecode import fast_decoder

        _DECODE = fast_decoder()
    event = _DECODE(raw)
    remember_encoding(event, raw)
    return event


# The Avro bytes of recently encoded events (``remember_encoding``), by ``id``, each with its
# event, which keeps the id from being reused while listed; two generations of at most
# ENCODED_ENTRIES (``size_encodings``), so the events of the tickets the worker keeps in
# memory are usually still found.
ENCODED_ENTRIES = 8_192
_ENCODED: dict[int, tuple[Any, bytes]] = {}
_ENCODED_BEFORE: dict[int, tuple[Any, bytes]] = {}


def remember_encoding(event: Any, raw: bytes) -> None:
    """Note that ``raw`` is the Avro encoding of ``event``: pickling a state that holds
    ``event`` writes these bytes instead of encoding it again."""
    global _ENCODED, _ENCODED_BEFORE
    if len(_ENCODED) >= ENCODED_ENTRIES:
        _ENCODED_BEFORE, _ENCODED = _ENCODED, {}
    _ENCODED[id(event)] = (event, raw)


def size_encodings(states: int) -> None:
    """Keep the encodings of the events ~``states`` cached table values refer to (a ticket
    state: those of its last two commands, usually one event each): generations of
    ``states // 2`` (at least 8,192), so two hold between ``states // 2`` and ``states``."""
    global ENCODED_ENTRIES
    ENCODED_ENTRIES = max(8_192, states // 2)


def forget_encodings() -> None:
    """Forget every noted encoding (``remember_encoding``)."""
    _ENCODED.clear()
    _ENCODED_BEFORE.clear()


def _one_tuple(getter: Callable[[Any], Any], obj: Any) -> tuple[Any]:
    return (getter(obj),)


def _reduce_enum(member: enum.Enum) -> tuple[Any, ...]:
    # by name through getattr (a C call) instead of pickle's default EnumType(value) lookup
    return getattr, (type(member), member.name)


def _reduce_timezone(tz: timezone) -> tuple[Any, ...]:
    if tz is UTC:
        return getattr, (timezone, "utc")
    return timezone, tz.__getinitargs__()  # type: ignore[attr-defined]


# The fields of ``TicketState`` as ``ticket_state_v1`` stores them, in order, with how each is
# stored: "enum <class in schemas.records>" (the member's value), "time" (a UTC datetime as integer microseconds
# since the epoch), "outcomes" (command id, events each as Avro bytes or, not noted, as itself);
# None: as it is (strings, ints, tuples of strings). Persistent: pickled ticket states have it.
TICKET_STATE_V1: tuple[tuple[str, str | None], ...] = (
    ("ticket_id", None), ("version", None), ("status", "enum TicketStatus"), ("customer_id", None),
    ("channel", "enum Channel"), ("conversation_key", None), ("external_user_id", None),
    ("subject", None), ("priority", "enum Priority"), ("group", None), ("tags", None),
    ("tier", None), ("language", None), ("customer_tier", None), ("by_customer", None),
    ("assignee", None), ("follow_up_of", None), ("merged_into", None), ("opened_at", "time"),
    ("updated_at", "time"), ("solved_at", "time"), ("closed_at", "time"),
    ("last_customer_message_at", "time"), ("reply_context", None),
    ("reply_context_expires_at", "time"), ("message_count", None), ("csat_score", None),
    ("sla_due_at", "time"), ("recent_commands", None), ("recent_messages", None),
    ("recent_outcomes", "outcomes"),
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _flat_layout() -> tuple[list[int], list[tuple[int, Any]], int]:
    """Positions in ``TICKET_STATE_V1`` of its datetimes, its enums (with their classes, which
    the layout names) and its outcomes."""
    from schemas import records

    kinds = [kind for _, kind in TICKET_STATE_V1]
    times = [i for i, kind in enumerate(kinds) if kind == "time"]
    enums = [
        (i, getattr(records, kind.removeprefix("enum ")))
        for i, kind in enumerate(kinds)
        if kind and kind.startswith("enum ")
    ]
    return times, enums, kinds.index("outcomes")


def ticket_layout_is_v1() -> bool:
    """Whether ``TicketState``'s fields are still ``TICKET_STATE_V1``'s (then it is pickled
    flat)."""
    from streams.domain.tickets.state import TicketState

    names = tuple(f.name for f in dataclasses.fields(TicketState))
    return names == tuple(name for name, _ in TICKET_STATE_V1)


def _reduce_ticket_flat(
    getter: Callable[[Any], tuple[Any, ...]], fallback: Any, state: Any
) -> tuple[Any, ...]:
    values = list(getter(state))
    for i in _TIMES:
        at = values[i]
        if at is not None:
            if at.tzinfo is not UTC:  # kept as it is by the field-by-field way
                return cast(tuple[Any, ...], fallback(state))
            values[i] = (at - _EPOCH) // _MICROSECOND
    for i, _ in _ENUMS:
        member = values[i]
        if member is not None:
            values[i] = member._value_
    encoded, before = _ENCODED.get, _ENCODED_BEFORE.get
    outcomes = []
    for command_id, events in values[_OUTCOMES]:
        kept = []
        for event in events:
            hit = encoded(id(event)) or before(id(event))
            env = event.envelope
            if (
                hit is None
                or hit[0] is not event
                or env.recorded_at.microsecond % 1000
                or env.occurred_at.microsecond % 1000
            ):
                kept.append(event)  # not noted (or not whole ms): pickled field by field
            else:
                kept.append(hit[1])
        outcomes.append((command_id, tuple(kept)))
    values[_OUTCOMES] = tuple(outcomes)
    return ticket_state_v1, (tuple(values),)


def ticket_state_v1(values: tuple[Any, ...]) -> Any:
    """The ``TicketState`` stored flat as ``values`` (``TICKET_STATE_V1``; unpickling).

    Persistent: pickled ticket states name this function (``streams.statecodec``)."""
    from streams.domain.tickets.state import TicketState

    fields = list(values)
    for i in _TIMES:
        micros = fields[i]
        if micros is not None:
            fields[i] = _EPOCH + timedelta(microseconds=micros)
    for i, cls in _ENUMS:
        value = fields[i]
        if value is not None:
            fields[i] = cls._value2member_map_.get(value) or cls(value)
    fields[_OUTCOMES] = tuple(
        (command_id, tuple(event_from_avro(e) if type(e) is bytes else e for e in events))
        for command_id, events in fields[_OUTCOMES]
    )
    return TicketState(*fields)


_TIMES, _ENUMS, _OUTCOMES = _flat_layout()


def _fast_reducers() -> dict[type, Any]:
    """Reducers for the dataclasses and enums kept in tables: records and the domain states."""
    import streams.domain.threading as threading_domain
    import streams.domain.tickets.state as ticket_state
    from schemas import records

    classes = [
        c
        for module in (records, threading_domain, ticket_state)
        for c in vars(module).values()
        if isinstance(c, type) and dataclasses.is_dataclass(c)
    ]
    # an enum member's reduction is looked up, not computed: ``dict.__getitem__`` is a C call,
    # where a Python reducer cost ~0.7 µs per member (a ticket state holds ~6)
    table: dict[type, Any] = {
        c: {m: _reduce_enum(m) for m in c}.__getitem__
        for c in vars(records).values()
        if isinstance(c, type) and issubclass(c, enum.Enum) and c is not enum.Enum
    }
    # datetimes are tz-aware UTC: pickle's default for ``timezone.utc`` (its class, a timedelta,
    # and copyreg's slot-name lookup, which a built-in type cannot cache) cost ~5 µs per state;
    # reduced to the ``timezone.utc`` attribute (a C getattr, as the enums), once per state
    table[timezone] = _reduce_timezone
    for cls in classes:
        names = [f.name for f in dataclasses.fields(cls)]
        if not names or any(not f.init for f in dataclasses.fields(cls)):
            continue
        getter = operator.attrgetter(*names)
        values: Callable[[Any], Any] = (
            getter if len(names) > 1 else functools.partial(_one_tuple, getter)
        )
        table[cls] = functools.partial(_reduce_dataclass, cls, values)
        if "envelope" in names and cls.__module__ == records.__name__:  # an event
            table[cls] = functools.partial(_reduce_event, table[cls])
    if ticket_layout_is_v1():
        ticket = ticket_state.TicketState
        table[ticket] = functools.partial(
            _reduce_ticket_flat,
            operator.attrgetter(*(name for name, _ in TICKET_STATE_V1)),
            table[ticket],
        )
    return table


_REDUCERS: dict[type, Any] | None = None
# Picklers ready for reuse, each with its buffer. Setting up a Pickler (its buffer, memo and
# dispatch table) cost ~2 µs of the ~10 µs a small state took; a reused one is emptied
# first (memo and buffer), so every value is a complete pickle of its own, byte for byte what
# a new Pickler writes. Taken and given back (list pop/append, atomic), so a nested or
# concurrent ``dumps`` gets a pickler of its own.
_IDLE: list[tuple[pickle.Pickler, io.BytesIO]] = []


def dumps(value: Any) -> bytes:
    """``value`` pickled (table values), with the fast dataclass reducers."""
    global _REDUCERS
    if _REDUCERS is None:
        _REDUCERS = _fast_reducers()
    try:
        pickler, buf = _IDLE.pop()
    except IndexError:
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _REDUCERS
    try:
        pickler.dump(value)
        return buf.getvalue()
    finally:
        pickler.clear_memo()
        buf.seek(0)
        buf.truncate()
        _IDLE.append((pickler, buf))
