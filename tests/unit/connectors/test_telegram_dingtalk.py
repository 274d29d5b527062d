from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.channels import dingtalk, telegram
from connectors.channels.base import ChannelError
from schemas.records import Attachment

from .helpers import NOW, post

TG_SECRET = "tg_secret-token"
UPDATE = {
    "update_id": 100001,
    "message": {
        "message_id": 1,
        "from": {"id": 123456789, "is_bot": False, "first_name": "Ann", "username": "ann"},
        "chat": {"id": 123456789, "first_name": "Ann", "username": "ann", "type": "private"},
        "date": 1700000000,
        "text": "Hello",
    },
}


def tg(req):
    return telegram.handle(
        req, secret_token=TG_SECRET, bot_id="777", received_at=NOW, tenant_id="t"
    )


def test_telegram_documented_update():
    (ev,) = tg(post(UPDATE, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})).messages
    assert ev.conversation_key == "telegram:777:123456789"
    assert ev.dedup_key == "777:123456789:1"
    assert ev.customer_display_name == "Ann"
    # 1700000000 s = 2023-11-14T22:13:20Z
    assert ev.sent_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_telegram_64_bit_group_id_stays_exact():
    big = -1001234567890123
    upd = {
        "update_id": 5,
        "message": {
            **UPDATE["message"],
            "chat": {"id": big, "type": "supergroup"},
            "text": "ไทย 中文 🎉",
        },
    }
    (ev,) = tg(post(upd, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})).messages
    assert ev.external_conversation_id == "-1001234567890123"
    assert ev.text == "ไทย 中文 🎉"


def test_telegram_sticker_is_a_reference_with_its_emoji():
    upd = {
        "update_id": 6,
        "message": {
            **UPDATE["message"],
            "text": None,
            "sticker": {"file_id": "CAAD", "emoji": "👍"},
        },
    }
    del upd["message"]["text"]
    (ev,) = tg(post(upd, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})).messages
    assert ev.attachments == (Attachment(kind="sticker", external_id="CAAD"),)
    assert ev.text == "👍"


def test_telegram_rejections():
    with pytest.raises(ChannelError) as err:
        tg(post(UPDATE, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}))
    assert (err.value.status, err.value.reason) == (401, "bad_signature")
    with pytest.raises(ChannelError) as err:
        tg(post(UPDATE))
    assert err.value.reason == "missing_header"
    with pytest.raises(ChannelError) as err:
        tg(post(b"[1,", {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}))
    assert (err.value.status, err.value.reason) == (400, "malformed")


DT_SECRET = "dingtalk-app-secret"
DT_BODY = {
    "conversationId": "cidXXXX",
    "chatbotCorpId": "dinge8a565xxxx",
    "chatbotUserId": "$:LWCP_v1:$Cxxxxx",
    "msgId": "msg0xxxxx",
    "senderNick": "杨xx",
    "isAdmin": True,
    "senderStaffId": "user123",
    "sessionWebhookExpiredTime": 1613635652738,
    "createAt": 1613630252678,
    "conversationType": "2",
    "senderId": "$:LWCP_v1:$Ff09GIxxxxx",
    "conversationTitle": "机器人测试-TEST",
    "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=xxxxx",
    "text": {"content": " 你好"},
    "msgtype": "text",
}


def dt_headers(at: datetime) -> dict[str, str]:
    ts = str(int(at.timestamp() * 1000))
    return {"timestamp": ts, "sign": dingtalk.sign(DT_SECRET, ts)}


def dt(req, now=NOW):
    return dingtalk.handle(req, app_secret=DT_SECRET, now=now, tenant_id="t")


def test_dingtalk_documented_callback():
    (ev,) = dt(post(DT_BODY, dt_headers(NOW))).messages
    assert ev.text == "你好"
    assert ev.dedup_key == "$:LWCP_v1:$Cxxxxx:msg0xxxxx"
    assert ev.external_user_id == "user123"
    assert ev.conversation_key == "dingtalk:$:LWCP_v1:$Cxxxxx:cidXXXX"
    assert (
        ev.reply_context["session_webhook"]
        == "https://oapi.dingtalk.com/robot/sendBySession?session=xxxxx"
    )
    # 1613630252678 ms = 2021-02-18T06:37:32.678Z
    assert ev.sent_at == datetime(2021, 2, 18, 6, 37, 32, 678000, tzinfo=UTC)


def test_dingtalk_timestamp_just_inside_one_hour_is_accepted():
    assert len(dt(post(DT_BODY, dt_headers(NOW - timedelta(minutes=59)))).messages) == 1


def test_dingtalk_stale_timestamp_is_401():
    with pytest.raises(ChannelError) as err:
        dt(post(DT_BODY, dt_headers(NOW - timedelta(hours=1, seconds=1))))
    assert (err.value.status, err.value.reason) == (401, "stale_timestamp")


def test_dingtalk_rejections():
    h = dt_headers(NOW)
    with pytest.raises(ChannelError) as err:
        dt(post(DT_BODY, {**h, "sign": dingtalk.sign("other", h["timestamp"])}))
    assert err.value.reason == "bad_signature"
    with pytest.raises(ChannelError) as err:
        dt(post(DT_BODY, {"timestamp": h["timestamp"]}))
    assert err.value.reason == "missing_header"
    with pytest.raises(ChannelError) as err:
        dt(post(b"\xff\xfe", h))
    assert (err.value.status, err.value.reason) == (400, "malformed")
