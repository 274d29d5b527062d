"""``replace(obj, **changes)``: ``dataclasses.replace`` for the frozen records and states, faster.

``dataclasses.replace`` walks ``dataclasses.fields(obj)`` and checks each field on every call
(~6 µs of the ~15 µs a 33-field ``TicketState`` copy cost, and the worker copies one per
ticket event). Here each class's field names are read once and the current values come from
one C ``attrgetter``. A slots dataclass without ``__post_init__`` is filled slot by slot
through its slot descriptors, in C (a frozen class's ``__init__`` sets each field through
``object.__setattr__`` from Python: ~8 of the ~16 µs a ``TicketState`` copy still cost); any
other class is still built by its own ``__init__`` (so ``__post_init__`` checks run). An unknown
field name raises ``TypeError`` as before.
"""

from __future__ import annotations

import dataclasses
import operator
from collections import deque
from collections.abc import Callable
from itertools import repeat
from typing import Any, TypeVar

T = TypeVar("T")


class _Plan:
    __slots__ = ("index", "names", "setters", "values")

    def __init__(self, cls: type, names: tuple[str, ...]) -> None:
        self.names = names
        self.values: Callable[[Any], Any] = operator.attrgetter(*names)
        self.index = {name: i for i, name in enumerate(names)}
        # slot descriptors' setters when the class is a slots dataclass with nothing to run
        # after its fields are set; else None (built by its __init__)
        self.setters: tuple[Any, ...] | None = None
        slots = cls.__dict__.get("__slots__", ())
        if not hasattr(cls, "__post_init__") and set(names) == set(slots):
            self.setters = tuple(cls.__dict__[name].__set__ for name in names)


_PLANS: dict[type, _Plan | None] = {}


def _plan(cls: type) -> _Plan | None:
    fields = dataclasses.fields(cls)
    if len(fields) < 2 or any(not f.init for f in fields):
        return None  # dataclasses.replace handles these (init=False fields, tiny records)
    return _Plan(cls, tuple(f.name for f in fields))


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of the dataclass instance ``obj`` with ``changes`` (as ``dataclasses.replace``)."""
    cls = type(obj)
    try:
        plan = _PLANS[cls]
    except KeyError:
        plan = _PLANS[cls] = _plan(cls)
    if plan is None:
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    if plan.setters is None:
        kwargs = dict(zip(plan.names, plan.values(obj), strict=True))
        kwargs.update(changes)
        return cls(**kwargs)
    values = list(plan.values(obj))
    index = plan.index
    for name, value in changes.items():
        try:
            values[index[name]] = value
        except KeyError:
            raise TypeError(
                f"{cls.__name__}.__init__() got an unexpected keyword argument {name!r}"
            ) from None
    new: T = object.__new__(cls)
    deque(map(operator.call, plan.setters, repeat(new), values), maxlen=0)
    return new
