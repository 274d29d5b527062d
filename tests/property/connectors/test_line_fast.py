"""LINE's fast path (connectors/channels/line_fast.py) gives exactly what line.handle + the codec
give, or None (the gateway then runs line.handle); it is taken for the common webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.channels import line, line_fast
from connectors.channels.base import ChannelError, WebhookRequest
from connectors.channels.line_fast import TextMessages
from schemas.codec import default_codec
from schemas.fastencode import avro_long

SECRET = "line-channel-secret"
TENANT = "acme"
CODEC = default_codec()
NOW = datetime(2026, 12, 7, 3, 30, 0, 987654, tzinfo=UTC)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_MS = 253_402_300_799_000

texts = st.text(max_size=80) | st.sampled_from(["", "สวัสดี 🙏", "x" * 300, "日本語"])
ids = st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=1, max_size=30)
odd = st.none() | st.booleans() | st.integers(-5, 10**20) | st.just("") | st.just([]) | st.just({})


def text_event(
    text: Any, ts: Any, user: Any, msg_id: Any, event_id: Any, extra: dict[str, Any]
) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "type": "message",
        "timestamp": ts,
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id,
        "message": {"id": msg_id, "type": "text", "text": text},
    }
    ev.update(extra)
    return ev


good_extras = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.sampled_from(["active", "standby"]),
        "replyToken": st.text(max_size=40),
        "deliveryContext": st.fixed_dictionaries({}, optional={"isRedelivery": st.booleans()}),
    },
)
extras = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.sampled_from(["active", "standby", "other"]) | odd,
        "replyToken": st.text(max_size=40) | odd,
        "deliveryContext": st.fixed_dictionaries({}, optional={"isRedelivery": st.booleans() | odd})
        | odd,
    },
)

good_events = st.builds(
    text_event,
    text=texts,
    ts=st.integers(0, MAX_MS - 60_000),  # a reply token's expiry within datetime's range
    user=ids.map(lambda s: "U" + s),
    msg_id=st.integers(0, 2**63).map(str),
    event_id=ids,
    extra=good_extras,
)
# Every field may also be of another type or missing, and other event shapes appear.
any_events = (
    good_events
    | st.builds(
        text_event,
        text=texts | odd,
        ts=st.integers(-10, MAX_MS + 10) | odd | st.just("1765076400123"),
        user=ids | odd,
        msg_id=ids | odd,
        event_id=ids | odd,
        extra=extras,
    )
    | st.sampled_from(
        [
            {"type": "follow", "timestamp": 1, "webhookEventId": "F", "mode": "active"},
            {"type": "message", "timestamp": 1, "webhookEventId": "G", "mode": "active",
             "source": {"type": "group", "groupId": "C1", "userId": "U1"},
             "message": {"id": "1", "type": "text", "text": "hi"}},
            {"type": "message", "timestamp": 1, "webhookEventId": "S", "mode": "active",
             "source": {"type": "user", "userId": "U1"},
             "message": {"id": "1", "type": "sticker", "packageId": "1", "stickerId": "2"}},
            "not an event",
        ]
    )
)  # fmt: skip
destinations = st.just("U" + "0123456789abcdef" * 2) | ids | odd


def request(doc: Any, *, sign: bool = True, method: str = "POST") -> WebhookRequest:
    body = json.dumps(doc, ensure_ascii=False).encode()  # ints beyond 64 bits too
    headers = {"x-line-signature": line.sign(SECRET if sign else "other", body)}
    return WebhookRequest(method, headers, {}, body)


def writer() -> TextMessages:
    w = TextMessages.checked(SECRET, TENANT, CODEC.encode)
    assert w is not None, "the fast path's self-check failed: the gateway lost it"
    return w


def reference(req: WebhookRequest) -> list[tuple[str, str, bytes]]:
    result = line.handle(req, secret=SECRET, received_at=NOW, tenant_id=TENANT)
    return [(m.dedup_key, m.conversation_key, CODEC.encode(m)) for m in result.messages]


@SETTINGS
@given(destination=destinations, events=st.lists(any_events, max_size=4))
def test_fast_path_gives_the_reference_bytes_or_none(destination, events):
    req = request({"destination": destination, "events": events})
    got = writer()(req, NOW)
    if got is not None:  # taken: line.handle must accept the request and agree byte for byte
        assert list(got) == reference(req)


@SETTINGS
@given(events=st.lists(good_events, max_size=4))
def test_fast_path_is_taken_for_text_messages_from_users(events):
    req = request({"destination": "U" + "0123456789abcdef" * 2, "events": events})
    got = writer()(req, NOW)
    assert got is not None
    assert list(got) == reference(req)


@pytest.mark.parametrize("sign", [False, None])
def test_unverified_requests_get_the_same_error_as_line_handle(sign):
    req = request({"destination": "U1", "events": []}, sign=bool(sign))
    if sign is None:
        req = WebhookRequest("POST", {}, {}, req.body)
    with pytest.raises(ChannelError) as slow:
        line.handle(req, secret=SECRET, received_at=NOW, tenant_id=TENANT)
    with pytest.raises(ChannelError) as fast:
        writer()(req, NOW)
    assert (fast.value.status, fast.value.reason) == (slow.value.status, slow.value.reason)


def test_other_methods_and_naive_clocks_take_the_general_path():
    req = request({"destination": "U1", "events": []})
    assert writer()(WebhookRequest("GET", req.headers, {}, req.body), NOW) is None
    assert writer()(req, NOW.replace(tzinfo=None)) is None
    assert writer()(req, NOW) == ()  # the console's Verify call: 200, nothing to store


def test_a_writer_that_disagrees_with_the_encoder_is_not_used():
    def other(record: Any) -> bytes:
        return CODEC.encode(record) + b"\x00"

    assert TextMessages.checked(SECRET, TENANT, other) is None
    assert TextMessages.checked(SECRET, TENANT, lambda r: b"\x00" + CODEC.encode(r)[1:]) is None


def test_expiry_is_one_minute_after_the_platform_timestamp():
    ts = 1765076400123
    ev = text_event("hi", ts, "U1", "1", "E1", {"replyToken": "tok", "mode": "active"})
    req = request({"destination": "U1", "events": [ev]})
    (m,) = line.handle(req, secret=SECRET, received_at=NOW, tenant_id=TENANT).messages
    assert m.reply_context_expires_at == datetime(2025, 12, 7, 3, 1, 0, 123000, tzinfo=UTC)
    assert m.reply_context_expires_at - m.sent_at == timedelta(minutes=1)
    assert list(writer()(req, NOW) or ()) == reference(req)


@pytest.mark.parametrize(
    ("ts", "token", "taken"),
    [
        (MAX_MS, None, True),  # the last millisecond from_epoch takes, no expiry to write
        (253_402_300_739_999, "tok", True),  # expiry at datetime's last millisecond
        (253_402_300_740_000, "tok", False),  # expiry beyond datetime: line.handle decides
    ],
)
def test_timestamps_at_the_end_of_the_range(ts, token, taken):
    extra = {"replyToken": token} if token else {}
    req = request({"destination": "U1", "events": [text_event("hi", ts, "U1", "1", "E", extra)]})
    got = writer()(req, NOW)
    assert (got is not None) == taken
    if taken:
        assert list(got or ()) == reference(req)


@SETTINGS
@given(
    n=st.integers(-(2**63), 2**63 - 1)
    | st.integers(0, 2**20)
    | st.integers(1_700_000_000_000, 1_900_000_000_000)
)
def test_timestamp_varints_are_avro_longs(n):
    assert line_fast._ms(n) == avro_long(n)


def test_timestamp_varints_at_the_table_and_cache_edges():
    edges = [0x1FFF, 0x2000, 0x2001, (1 << 62) - 1, 1 << 62, MAX_MS, MAX_MS + 60_000]
    edges += [b + d for b in (1 << 13, 1 << 20, 1 << 27, 1 << 34, 1 << 41) for d in (-1, 0, 1)]
    for n in edges:
        assert line_fast._ms(n) == avro_long(n), n
    line_fast._HIGH.clear()
    for n in range(
        1_763_884_800_000, 1_763_884_800_000 + 40 * 8192 * line_fast._HIGH_MAX, 8191 * 40
    ):
        assert line_fast._ms(n) == avro_long(n), n
    assert len(line_fast._HIGH) <= line_fast._HIGH_MAX
