from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.channels import line
from connectors.channels.base import ChannelError, WebhookRequest, event_id_for
from schemas.records import Attachment, Channel

from .documents import LINE_BOT, dumps, line_doc, line_text_event
from .helpers import NOW, post

SECRET = "line-channel-secret"
BOT = LINE_BOT


def body(*events: dict) -> bytes:
    return dumps(line_doc(*events, destination=BOT))


text_event = line_text_event


def signed(raw: bytes) -> WebhookRequest:
    return post(raw, {"x-line-signature": line.sign(SECRET, raw)})


def run(req: WebhookRequest):
    return line.handle(req, secret=SECRET, received_at=NOW, tenant_id="acme")


def test_documented_text_message_becomes_one_event():
    (ev,) = run(signed(body(text_event()))).messages
    assert ev.channel is Channel.LINE
    assert ev.account_id == BOT
    assert ev.external_conversation_id == "U4af4980629"
    assert ev.external_user_id == "U4af4980629"
    assert ev.external_message_id == "444573844083572737"
    assert ev.dedup_key == f"{BOT}:01FZ74A0TDDPYRVKNK77XKC3ZR"
    assert ev.conversation_key == f"line:{BOT}:U4af4980629"
    assert ev.text == "Hello, world"
    # 1462629479859 ms = 2016-05-07T13:57:59.859Z
    assert ev.sent_at == datetime(2016, 5, 7, 13, 57, 59, 859000, tzinfo=UTC)
    assert ev.reply_context == {
        "to": "U4af4980629",
        "reply_token": "0f3779fba3b349968c5d07db31eab56f",
    }
    assert ev.reply_context_expires_at == datetime(2016, 5, 7, 13, 58, 59, 859000, tzinfo=UTC)
    assert ev.envelope.event_id == event_id_for(Channel.LINE, ev.dedup_key)
    assert ev.envelope.tenant_id == "acme"


def test_redelivery_has_same_event_id_and_no_reply_token():
    first = run(signed(body(text_event()))).messages[0]
    again = run(signed(body(text_event(deliveryContext={"isRedelivery": True})))).messages[0]
    assert again.envelope.event_id == first.envelope.event_id
    assert "reply_token" not in again.reply_context


def test_verify_call_with_empty_events_is_accepted_without_events():
    assert run(signed(body())).messages == ()


def test_group_sticker_and_thai_text_in_one_batch():
    group = {"type": "group", "groupId": "Cgroup1", "userId": "Uuser1"}
    sticker = text_event(
        webhookEventId="E2",
        source=group,
        message={"id": "2", "type": "sticker", "packageId": "446", "stickerId": "1988"},
    )
    thai = text_event(
        "สวัสดีครับ 🙏", webhookEventId="E3", message={"id": "3", "type": "text", "text": "สวัสดีครับ 🙏"}
    )
    a, b = run(signed(body(sticker, thai))).messages
    assert a.external_conversation_id == "Cgroup1" and a.external_user_id == "Uuser1"
    assert a.attachments == (Attachment(kind="sticker", external_id="446/1988"),)
    assert b.text == "สวัสดีครับ 🙏"


def test_image_is_a_reference_not_bytes():
    img = text_event(message={"id": "9", "type": "image", "contentProvider": {"type": "line"}})
    (ev,) = run(signed(body(img))).messages
    assert ev.attachments == (Attachment(kind="image", external_id="9"),)


def test_wrong_signature_is_401():
    raw = body(text_event())
    with pytest.raises(ChannelError) as err:
        run(post(raw, {"x-line-signature": line.sign("other-secret", raw)}))
    assert (err.value.status, err.value.reason) == (401, "bad_signature")


def test_body_changed_after_signing_is_401():
    raw = body(text_event())
    with pytest.raises(ChannelError) as err:
        run(post(raw.replace(b"Hello", b"Hallo"), {"x-line-signature": line.sign(SECRET, raw)}))
    assert err.value.reason == "bad_signature"


def test_missing_header_is_401():
    with pytest.raises(ChannelError) as err:
        run(post(body(text_event())))
    assert (err.value.status, err.value.reason) == (401, "missing_header")


def test_malformed_json_is_400():
    with pytest.raises(ChannelError) as err:
        run(signed(b'{"destination": '))
    assert (err.value.status, err.value.reason) == (400, "malformed")


def test_non_message_events_are_ignored():
    follow = {
        "type": "follow",
        "timestamp": 1,
        "webhookEventId": "F",
        "mode": "active",
        "deliveryContext": {"isRedelivery": False},
    }
    assert run(signed(body(follow))).messages == ()


def test_a_reply_token_whose_expiry_would_pass_year_9999_is_a_malformed_body():
    # 253402300740000 ms = 9999-12-31T23:59:00Z: one minute later is past datetime's range.
    late = text_event(timestamp=253_402_300_740_000)
    with pytest.raises(ChannelError) as exc:
        run(signed(body(late)))
    assert (exc.value.status, exc.value.reason) == (400, "malformed")
    (ev,) = run(signed(body(text_event(timestamp=253_402_300_739_999)))).messages
    assert ev.reply_context_expires_at == datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
