"""Pickling of table values (domain states, lists of summaries) without pickle's slow path for
slots dataclasses.

Pickle's default for a ``slots=True`` dataclass calls ``dataclasses.fields()`` for every object
and builds a state dict: measured as about half of the worker's CPU per channel message (a
ticket state holds ~40 nested records). ``dumps`` stores each such record as its class and one
positional tuple of its fields (read by a C ``attrgetter``) and rebuilds it with the class's own
constructor. The output is ordinary pickle: ``pickle.loads`` reads it, and states written the
default way still load.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import io
import operator
import pickle
from collections.abc import Callable
from datetime import UTC, timezone
from typing import Any


def _reduce_dataclass(cls: type, values: Callable[[Any], Any], obj: Any) -> tuple[Any, ...]:
    return cls, values(obj)


def _reduce_enum(member: enum.Enum) -> tuple[Any, ...]:
    # by name through getattr (a C call) instead of pickle's default EnumType(value) lookup
    return getattr, (type(member), member.name)


def _reduce_timezone(tz: timezone) -> tuple[Any, ...]:
    if tz is UTC:
        return getattr, (timezone, "utc")
    return timezone, tz.__getinitargs__()  # type: ignore[attr-defined]


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
        values: Callable[[Any], Any] = getter if len(names) > 1 else (lambda o, g=getter: (g(o),))
        table[cls] = functools.partial(_reduce_dataclass, cls, values)
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
