"""Correctly signed requests shaped like each platform's documented example (channels.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from connectors.channels import api, crypto, dingtalk, line, meta, wechat
from connectors.settings import ConnectorSettings
from tests.unit.connectors.documents import (
    LINE_BOT,
    WA_PHONE_NUMBER_ID,
    WAMID,
    dumps,
    line_doc,
    line_text_event,
    messaging,
    messenger_doc,
    whatsapp_doc,
)

LINE_SECRET = "line-secret"
META_SECRET = "meta-app-secret"
META_TOKEN = "meatyhamhock"
TG_SECRET = "tg-secret_1"
TG_BOT = "777000:AAbbCC"
DT_SECRET = "dingtalk-secret"
WC_TOKEN = "wechat-token"
API_SECRET = "api-secret"
DT_CB_TOKEN = "dingtalk-callback-token"
DT_CB_AES = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
DT_CB_OWNER = "dingappkey-1"
WC_AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WC_APP_ID = "wx1234567890abcdef"


def settings(**over: object) -> ConnectorSettings:
    values: dict[str, object] = {
        "line_channel_secret": LINE_SECRET,
        "meta_app_secret": META_SECRET,
        "meta_verify_token": META_TOKEN,
        "telegram_secret_token": TG_SECRET,
        "telegram_bot_token": TG_BOT,
        "dingtalk_app_secret": DT_SECRET,
        "dingtalk_callback_token": DT_CB_TOKEN,
        "dingtalk_callback_aes_key": DT_CB_AES,
        "dingtalk_callback_owner_key": DT_CB_OWNER,
        "wechat_token": WC_TOKEN,
        "api_secret": API_SECRET,
        "gateway_max_body_bytes": 64 * 1024,
        "gateway_produce_timeout": 3.0,
    }
    values.update(over)
    return ConnectorSettings(**values)  # type: ignore[arg-type]


def safe_mode_settings(**over: object) -> ConnectorSettings:
    """WeChat in safe mode (an EncodingAESKey and the AppID configured)."""
    return settings(wechat_encoding_aes_key=WC_AES, wechat_app_id=WC_APP_ID, **over)


@dataclass
class Sample:
    channel: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    expected: list[tuple[str, str]] = field(default_factory=list)  # (dedup_key, text)
    ok_status: int = 200


def line_sample(
    event_id: str = "01FZ74A0TDDPYRVKNK77XKC3ZR", text: str = "Hello, world 🙂"
) -> Sample:
    body = dumps(line_doc(line_text_event(text, event_id=event_id)))
    return Sample(
        "line",
        "/webhooks/line",
        body,
        {"x-line-signature": line.sign(LINE_SECRET, body)},
        expected=[(f"{LINE_BOT}:{event_id}", text)],
    )


def messenger_sample() -> Sample:
    body = dumps(
        messenger_doc(
            messaging("mid.1457764197618:41d102a3e1ae206a38", "hello, world! 你好"),
            messaging(
                "mid.echo",
                "our reply",
                sender="PAGE1",
                recipient="PSID1",
                timestamp=1458692752479,
                is_echo=True,
                app_id=1,
            ),
        ),
        ascii_escape=True,
    )
    return Sample(
        "messenger",
        "/webhooks/messenger",
        body,
        {"X-Hub-Signature-256": meta.sign(META_SECRET, body)},
        expected=[("PAGE1:mid.1457764197618:41d102a3e1ae206a38", "hello, world! 你好")],
    )


def instagram_sample() -> Sample:
    body = dumps(
        messenger_doc(
            messaging(
                "aWdfZAG1",
                "สวัสดี",
                sender="IGSID1",
                recipient="IG1",
                timestamp=1569262485349,
                attachments=[{"type": "image", "payload": {"url": "https://cdn.example/1.jpg"}}],
            ),
            page="IG1",
            obj="instagram",
            time=1569262486134,
        )
    )
    return Sample(
        "instagram",
        "/webhooks/instagram",
        body,
        {"X-Hub-Signature-256": meta.sign(META_SECRET, body)},
        expected=[("IG1:aWdfZAG1", "สวัสดี")],
    )


def whatsapp_sample() -> Sample:
    body = dumps(whatsapp_doc())  # the documented text message
    return Sample(
        "whatsapp",
        "/webhooks/whatsapp",
        body,
        {"X-Hub-Signature-256": meta.sign(META_SECRET, body)},
        expected=[(f"{WA_PHONE_NUMBER_ID}:{WAMID}", "Does it come in another color?")],
    )


def telegram_sample() -> Sample:
    body = dumps(
        {
            "update_id": 100001,
            "message": {
                "message_id": 1,
                "from": {"id": 123456789, "is_bot": False, "first_name": "Ann"},
                "chat": {"id": -1001234567890123, "type": "supergroup"},
                "date": 1700000000,
                "text": "Hello 🎉",
            },
        }
    )
    return Sample(
        "telegram",
        "/webhooks/telegram",
        body,
        {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
        expected=[("777000:-1001234567890123:1", "Hello 🎉")],
    )


def dingtalk_sample(now: datetime) -> Sample:
    body = dumps(
        {
            "conversationId": "cidXXXX",
            "chatbotCorpId": "dinge8a565xxxx",
            "chatbotUserId": "$:LWCP_v1:$Cxxxxx",
            "msgId": "msg0xxxxx",
            "senderNick": "杨xx",
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
    )
    ts = str(int(now.timestamp() * 1000))
    return Sample(
        "dingtalk",
        "/webhooks/dingtalk",
        body,
        {"timestamp": ts, "sign": dingtalk.sign(DT_SECRET, ts)},
        expected=[("$:LWCP_v1:$Cxxxxx:msg0xxxxx", "你好")],
    )


def dingtalk_event_sample(msg_id: str = "msgENC001") -> Sample:
    """An encrypted event callback carrying a robot message (route /webhooks/dingtalk/events)."""
    inner = dumps(
        {
            "conversationId": "cidENC",
            "chatbotUserId": "$:LWCP_v1:$Cenc",
            "msgId": msg_id,
            "senderStaffId": "user9",
            "createAt": 1613630252678,
            "conversationType": "1",
            "senderId": "$:LWCP_v1:$Fenc",
            "text": {"content": "发票在哪里？ 🧾"},
            "msgtype": "text",
        }
    )
    enc = crypto.encrypt(crypto.aes_key(DT_CB_AES), inner, DT_CB_OWNER)
    ts, nonce = "1613630252999", "nOnCe42"
    q = {"msg_signature": crypto.msg_signature(DT_CB_TOKEN, ts, nonce, enc)}
    return Sample(
        "dingtalk",
        "/webhooks/dingtalk/events",
        dumps({"encrypt": enc}),
        {"Content-Type": "application/json"},
        {**q, "timestamp": ts, "nonce": nonce},
        expected=[(f"$:LWCP_v1:$Cenc:{msg_id}", "发票在哪里？ 🧾")],
    )


def wechat_safe_sample(msg_id: str = "7777777777777777777", text: str = "ขอบคุณ 谢谢") -> Sample:
    """A safe-mode message (needs ``safe_mode_settings``): outer XML with <Encrypt>."""
    inner = (
        "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName>"
        "<FromUserName><![CDATA[oUser-OpenID]]></FromUserName><CreateTime>1348831860</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    ).encode()
    enc = crypto.encrypt(crypto.aes_key(WC_AES), inner, WC_APP_ID)
    ts, nonce = "1348831860", "n0nce"
    q = {
        "signature": wechat.signature(WC_TOKEN, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature(WC_TOKEN, ts, nonce, enc),
    }
    body = f"<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    return Sample(
        "wechat",
        "/webhooks/wechat",
        body.encode(),
        {"Content-Type": "text/xml"},
        q,
        expected=[(f"gh_123456789abc:{msg_id}", text)],
    )


def wechat_sample() -> Sample:
    body = (
        "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName>"
        "<FromUserName><![CDATA[oUser-OpenID]]></FromUserName><CreateTime>1348831860</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test 测试]]></Content>"
        "<MsgId>1234567890123456789</MsgId></xml>"
    ).encode()
    ts, nonce = "1348831860", "n0nce"
    q = {"signature": wechat.signature(WC_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    return Sample(
        "wechat",
        "/webhooks/wechat",
        body,
        {"Content-Type": "text/xml"},
        q,
        expected=[("gh_123456789abc:1234567890123456789", "this is a test 测试")],
    )


def api_sample(now: datetime, path: str = "/webhooks/webchat") -> Sample:
    body = dumps(
        {
            "account_id": "site-1",
            "external_conversation_id": "conv-9",
            "external_user_id": "v-3",
            "external_message_id": "client-msg-1",
            "text": "hi from the widget 👋",
            "sent_at": "2026-11-23T07:59:30Z",
        }
    )
    ts = str(int(now.timestamp()))
    return Sample(
        path.rsplit("/", 1)[1],
        path,
        body,
        {"X-Timestamp": ts, "X-Signature": api.sign(API_SECRET, ts, body)},
        expected=[("site-1:client-msg-1", "hi from the widget 👋")],
        ok_status=202,
    )


def all_samples(now: datetime) -> list[Sample]:
    return [
        line_sample(),
        messenger_sample(),
        instagram_sample(),
        whatsapp_sample(),
        telegram_sample(),
        dingtalk_sample(now),
        dingtalk_event_sample(),
        wechat_sample(),
        api_sample(now),
        api_sample(now, "/webhooks/api"),
    ]
