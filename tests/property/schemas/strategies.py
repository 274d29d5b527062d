"""Hypothesis strategies for every record, derived from the dataclasses' type hints."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from schemas import records

SAMPLES = (
    "สวัสดีครับ ขอสอบถามเรื่องการจัดส่ง",  # Thai (with combining vowels and tone marks)
    "您好，我的订单还没有到",  # Chinese
    "👍🏽 👨‍👩‍👧 🇹🇭 ❤️",  # emoji: skin tone, ZWJ family, flag, variation selector
    "Ünïcödé café ﬁ",
    "",
    "line:U1234:C5678",
)
ZONES = (
    UTC,
    timezone(timedelta(hours=7)),  # Bangkok
    timezone(timedelta(hours=8)),  # Shanghai
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=30)),
)

texts = st.one_of(st.sampled_from(SAMPLES), st.text(max_size=40))
longs = st.integers(min_value=-(2**63), max_value=2**63 - 1)
aware_datetimes = st.builds(
    lambda dt, ms: dt.replace(microsecond=ms * 1000),
    st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(ZONES),
    ),
    st.integers(0, 999),
)


def for_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for values of the annotation ``tp`` as used in schemas.records."""
    if typing.get_origin(tp) is types.UnionType:
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return st.none() | for_type(inner)
    if typing.get_origin(tp) is tuple:
        return st.lists(for_type(typing.get_args(tp)[0]), max_size=3).map(tuple)
    if typing.get_origin(tp) is dict:
        return st.dictionaries(texts, for_type(typing.get_args(tp)[1]), max_size=3)
    if tp is str:
        return texts
    if tp is int:
        return longs
    if tp is bytes:
        return st.binary(max_size=64)
    if tp is bool:
        return st.booleans()
    if tp is datetime:
        return aware_datetimes
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return for_record(tp)
    raise TypeError(f"no strategy for {tp!r}")


def for_record(cls: type) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: for_type(hints[f.name]) for f in dataclasses.fields(cls)})


def record_classes() -> list[type]:
    return [
        c for c in vars(records).values()
        if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == records.__name__
    ]  # fmt: skip


any_record = st.sampled_from(record_classes()).flatmap(for_record)
