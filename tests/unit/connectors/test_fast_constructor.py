"""fast_constructor builds the same frozen dataclass objects as their __init__."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from connectors.channels.base import fast_constructor
from schemas.records import Actor, ActorKind, Channel, ChannelMessageReceived, Envelope

WHEN = datetime(2026, 11, 23, 9, 30, 15, 123000, tzinfo=UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class WithDefaults:
    a: str
    b: tuple[str, ...] = ()
    c: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    a: int

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("negative")


def envelope() -> dict[str, object]:
    return {
        "event_id": "e-1",
        "occurred_at": WHEN,
        "recorded_at": WHEN,
        "aggregate_id": "line:U1:C1",
        "aggregate_version": 1,
        "causation_id": "line:U1:m1",
        "correlation_id": "e-1",
        "actor": Actor(ActorKind.CUSTOMER, "line:C1"),
        "tenant_id": "default",
    }


def test_same_object_as_init_with_defaults_left_out():
    env = fast_constructor(Envelope)(**envelope())
    assert env == Envelope(**envelope())  # type: ignore[arg-type]
    assert env.brand_id is None
    fields = {
        "envelope": env,
        "channel": Channel.LINE,
        "account_id": "U1",
        "external_conversation_id": "C1",
        "external_user_id": "C1",
        "external_message_id": "m1",
        "dedup_key": "U1:m1",
        "conversation_key": "line:U1:C1",
        "text": "สวัสดี 🙂",
        "sent_at": WHEN,
    }
    made = fast_constructor(ChannelMessageReceived)(**fields)
    assert made == ChannelMessageReceived(**fields)  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.text = "changed"  # type: ignore[misc]


def test_default_factories_give_a_fresh_value_each_time():
    new = fast_constructor(WithDefaults)
    one, two = new(a="x"), new(a="y")
    assert one == WithDefaults("x") and two == WithDefaults("y")
    assert one.c is not two.c
    assert new(a="z", b=("q",), c={"k": "v"}) == WithDefaults("z", ("q",), {"k": "v"})


def test_a_missing_field_is_an_error_and_post_init_is_kept():
    with pytest.raises(TypeError):
        fast_constructor(WithDefaults)()
    assert fast_constructor(Checked) is Checked
