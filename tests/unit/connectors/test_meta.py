from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.channels import meta
from connectors.channels.base import ChannelError, WebhookRequest
from schemas.records import Attachment, Channel

from .documents import WAMID, messaging, messenger_doc, whatsapp_doc, whatsapp_value
from .helpers import NOW, post

SECRET = "app-secret"
TOKEN = "meatyhamhock"


def signed(doc: dict, *, ascii_escape: bool = True) -> WebhookRequest:
    raw = json.dumps(doc, ensure_ascii=ascii_escape).encode()
    return post(raw, {"X-Hub-Signature-256": meta.sign(SECRET, raw)})


def run(req: WebhookRequest, channel: Channel):
    return meta.handle(
        req, channel=channel, app_secret=SECRET, verify_token=TOKEN, received_at=NOW, tenant_id="t"
    )


messenger = messenger_doc
msg = messaging


def test_handshake_echoes_challenge():
    req = WebhookRequest(
        "GET",
        {},
        {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": TOKEN},
        b"",
    )
    assert run(req, Channel.MESSENGER).body == b"1158201444"


def test_handshake_with_wrong_token_is_403():
    req = WebhookRequest(
        "GET", {}, {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "nope"}, b""
    )
    with pytest.raises(ChannelError) as err:
        run(req, Channel.MESSENGER)
    assert err.value.status == 403


def test_messenger_documented_example():
    doc = messenger(
        msg(
            "mid.1457764197618:41d102a3e1ae206a38",
            attachments=[{"type": "image", "payload": {"url": "https://cdn/x.jpg"}}],
        )
    )
    (ev,) = run(signed(doc), Channel.MESSENGER).messages
    assert ev.account_id == "PAGE1"
    assert ev.external_conversation_id == "PSID1"
    assert ev.dedup_key == "PAGE1:mid.1457764197618:41d102a3e1ae206a38"
    assert ev.conversation_key == "messenger:PAGE1:PSID1"
    # 1458692752478 ms = 2016-03-23T00:25:52.478Z
    assert ev.sent_at == datetime(2016, 3, 23, 0, 25, 52, 478000, tzinfo=UTC)
    assert ev.attachments == (Attachment(kind="image", url="https://cdn/x.jpg"),)


def test_echo_is_dropped_and_batch_keeps_order():
    doc = messenger(msg("m1", "你好"), msg("m2", is_echo=True, app_id=1), msg("m3", "😀"))
    events = run(signed(doc), Channel.MESSENGER).messages
    assert [e.external_message_id for e in events] == ["m1", "m3"]
    assert [e.text for e in events] == ["你好", "😀"]


def test_non_ascii_escaped_body_verifies_only_on_raw_bytes():
    doc = messenger(msg("m1", "สวัสดี"))
    req = signed(doc, ascii_escape=True)
    assert b"\\u0e2a" in req.body
    assert run(req, Channel.MESSENGER).messages[0].text == "สวัสดี"


def test_batch_of_1000_entries():
    doc = {
        "object": "page",
        "entry": [{"id": "PAGE1", "time": 1, "messaging": [msg(f"m{i}")]} for i in range(1000)],
    }
    assert len(run(signed(doc), Channel.MESSENGER).messages) == 1000


def test_sticker_sent_as_sticker_and_image_is_one_sticker():
    payload = {"url": "https://cdn/s.png", "sticker_id": 369239263222822}
    doc = messenger(
        msg(
            "m1",
            "",
            attachments=[
                {"type": "image", "payload": payload},
                {"type": "image", "payload": payload},
            ],
        )
    )
    (ev,) = run(signed(doc), Channel.MESSENGER).messages
    assert ev.attachments == (
        Attachment(kind="sticker", url="https://cdn/s.png", external_id="369239263222822"),
    )


def test_instagram_route_refuses_page_object():
    with pytest.raises(ChannelError) as err:
        run(signed(messenger(msg("m1"))), Channel.INSTAGRAM)
    assert (err.value.status, err.value.reason) == (400, "wrong_object")


def test_instagram_echo_in_messages_field_is_skipped():
    doc = messenger_doc(
        {**msg("ig1", "hi"), "timestamp": 1569262485349},
        msg("ig2", is_echo=True),
        page="IG1",
        obj="instagram",
        time=1569262486134,
    )
    (ev,) = run(signed(doc), Channel.INSTAGRAM).messages
    assert (ev.conversation_key, ev.dedup_key) == ("instagram:IG1:PSID1", "IG1:ig1")


WA = whatsapp_doc()  # the documented text message


def test_whatsapp_documented_example_seconds_as_string():
    (ev,) = run(signed(WA), Channel.WHATSAPP).messages
    assert ev.account_id == "106540352242922"
    assert ev.external_user_id == "16505551234"
    assert ev.customer_display_name == "Sheena Nelson"
    assert ev.dedup_key == f"106540352242922:{WAMID}"
    assert WAMID == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    # 1749416383 s = 2025-06-08T20:59:43Z
    assert ev.sent_at == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert ev.text == "Does it come in another color?"


def test_whatsapp_statuses_yield_no_event():
    status = {"id": "wamid.x", "status": "delivered", "timestamp": "1", "recipient_id": "2"}
    doc = whatsapp_doc(whatsapp_value(statuses=[status], phone_number_id="1"), waba="W")
    assert run(signed(doc), Channel.WHATSAPP).messages == ()


def test_wrong_and_missing_signature_and_bad_json():
    raw = json.dumps(WA).encode()
    with pytest.raises(ChannelError) as err:
        run(post(raw, {"X-Hub-Signature-256": "sha256=" + "0" * 64}), Channel.WHATSAPP)
    assert (err.value.status, err.value.reason) == (401, "bad_signature")
    with pytest.raises(ChannelError) as err:
        run(post(raw), Channel.WHATSAPP)
    assert err.value.reason == "missing_header"
    bad = b"{not json"
    with pytest.raises(ChannelError) as err:
        run(post(bad, {"X-Hub-Signature-256": meta.sign(SECRET, bad)}), Channel.WHATSAPP)
    assert (err.value.status, err.value.reason) == (400, "malformed")
