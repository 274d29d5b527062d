"""The generated payload encoders write exactly what the plain dict-through-json way writes,
and keep personal data and reply tokens out unless allowed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.payload import (
    _iso_ms,
    datum_encoder_for,
    payload_json,
    reference_payload_json,
)
from projections.synthetic import stream
from schemas import records as r
from schemas.fastdecode import MAX_MS, MIN_MS, datum_of, millis_to_datetime
from tests.unit.projections.known_stream import known_stream

WHEN = datetime(2026, 3, 2, 9, 0, 0, 123000, tzinfo=UTC)


def _records() -> list[object]:
    env = r.Envelope("e1", WHEN, WHEN, "conv", 1, "c", "k", r.Actor(r.ActorKind.CUSTOMER, "u"), "t")
    received = r.ChannelMessageReceived(
        env, r.Channel.LINE, "acct", "xc", "xu", "xm", "dedup", "line:acct:xc",
        'Hi "there" \\ ünïcode \n', WHEN,
        attachments=(r.Attachment("image", "https://x/y", "a1", "image/png", "pic.png", 10),),
        subject="s", customer_display_name="Ann", reply_context={"token": "secret"},
        reply_context_expires_at=WHEN,
    )  # fmt: skip
    return [*known_stream(), *stream(20, "p"), received]


@pytest.mark.parametrize("store_bodies", [False, True])
def test_generated_encoders_write_what_json_writes(store_bodies: bool) -> None:
    for rec in _records():
        got = payload_json(rec, store_bodies=store_bodies)
        assert got == reference_payload_json(rec, store_bodies=store_bodies), type(rec)
        json.loads(got)


@pytest.mark.parametrize("store_bodies", [False, True])
def test_datum_encoders_write_what_the_record_encoders_write(store_bodies: bool) -> None:
    for rec in _records():
        cls, datum = datum_of(rec)
        got = datum_encoder_for(cls, store_bodies=store_bodies)(datum)
        assert got == reference_payload_json(rec, store_bodies=store_bodies), cls


def test_free_text_only_with_store_bodies_and_reply_tokens_never() -> None:
    received = _records()[-1]
    hidden = json.loads(payload_json(received, store_bodies=False))
    shown = json.loads(payload_json(received, store_bodies=True))
    for name in ("text", "subject", "customer_display_name"):
        assert name not in hidden and name in shown
    assert "reply_context" not in hidden and "reply_context" not in shown
    assert "envelope" not in shown
    assert shown["sent_at"] == "2026-03-02T09:00:00.123000+00:00"
    assert shown["channel"] == "line" and shown["attachments"][0]["file_name"] == "pic.png"


@given(
    ms=st.one_of(
        st.integers(min_value=MIN_MS, max_value=MAX_MS),
        st.sampled_from([MIN_MS, MAX_MS, -1, 0, 1, 999, 1000, 86_399_999, 86_400_000]),
    )
)
def test_an_instant_is_the_isoformat_of_its_utc_datetime(ms: int) -> None:
    assert _iso_ms(ms) == '"' + millis_to_datetime(ms).isoformat() + '"'


@pytest.mark.parametrize("ms", [MIN_MS - 1, MAX_MS + 1])
def test_an_instant_no_datetime_holds_fails_as_the_datetime_does(ms: int) -> None:
    with pytest.raises((OverflowError, ValueError)):
        _iso_ms(ms)
