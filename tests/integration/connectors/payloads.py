"""Correctly signed requests shaped like each platform's documented example (channels.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from connectors.channels import api, dingtalk, line, meta, wechat
from connectors.settings import ConnectorSettings

LINE_SECRET = "line-secret"
META_SECRET = "meta-app-secret"
META_TOKEN = "meatyhamhock"
TG_SECRET = "tg-secret_1"
TG_BOT = "777000:AAbbCC"
DT_SECRET = "dingtalk-secret"
WC_TOKEN = "wechat-token"
API_SECRET = "api-secret"
LINE_BOT = "U1234567890abcdef1234567890abcdef"


def settings(**over: object) -> ConnectorSettings:
    values: dict[str, object] = {
        "line_channel_secret": LINE_SECRET,
        "meta_app_secret": META_SECRET,
        "meta_verify_token": META_TOKEN,
        "telegram_secret_token": TG_SECRET,
        "telegram_bot_token": TG_BOT,
        "dingtalk_app_secret": DT_SECRET,
        "wechat_token": WC_TOKEN,
        "api_secret": API_SECRET,
        "gateway_max_body_bytes": 64 * 1024,
        "gateway_produce_timeout": 3.0,
    }
    values.update(over)
    return ConnectorSettings(**values)  # type: ignore[arg-type]


@dataclass
class Sample:
    channel: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    expected: list[tuple[str, str]] = field(default_factory=list)  # (dedup_key, text)
    ok_status: int = 200


def _j(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def line_sample(
    event_id: str = "01FZ74A0TDDPYRVKNK77XKC3ZR", text: str = "Hello, world 🙂"
) -> Sample:
    body = _j(
        {
            "destination": LINE_BOT,
            "events": [
                {
                    "type": "message",
                    "mode": "active",
                    "timestamp": 1462629479859,
                    "source": {"type": "user", "userId": "U4af4980629"},
                    "webhookEventId": event_id,
                    "deliveryContext": {"isRedelivery": False},
                    "replyToken": "0f3779fba3b349968c5d07db31eab56f",
                    "message": {"id": "444573844083572737", "type": "text", "text": text},
                }
            ],
        }
    )
    return Sample(
        "line",
        "/webhooks/line",
        body,
        {"x-line-signature": line.sign(LINE_SECRET, body)},
        expected=[(f"{LINE_BOT}:{event_id}", text)],
    )


def messenger_sample() -> Sample:
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "PAGE1",
                    "time": 1458692752478,
                    "messaging": [
                        {
                            "sender": {"id": "PSID1"},
                            "recipient": {"id": "PAGE1"},
                            "timestamp": 1458692752478,
                            "message": {
                                "mid": "mid.1457764197618:41d102a3e1ae206a38",
                                "text": "hello, world! 你好",
                            },
                        },
                        {
                            "sender": {"id": "PAGE1"},
                            "recipient": {"id": "PSID1"},
                            "timestamp": 1458692752479,
                            "message": {
                                "mid": "mid.echo",
                                "text": "our reply",
                                "is_echo": True,
                                "app_id": 1,
                            },
                        },
                    ],
                }
            ],
        }
    ).encode()
    return Sample(
        "messenger",
        "/webhooks/messenger",
        body,
        {"X-Hub-Signature-256": meta.sign(META_SECRET, body)},
        expected=[("PAGE1:mid.1457764197618:41d102a3e1ae206a38", "hello, world! 你好")],
    )


def instagram_sample() -> Sample:
    body = _j(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": "IG1",
                    "time": 1569262486134,
                    "messaging": [
                        {
                            "sender": {"id": "IGSID1"},
                            "recipient": {"id": "IG1"},
                            "timestamp": 1569262485349,
                            "message": {
                                "mid": "aWdfZAG1",
                                "text": "สวัสดี",
                                "attachments": [
                                    {
                                        "type": "image",
                                        "payload": {"url": "https://cdn.example/1.jpg"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    )
    return Sample(
        "instagram",
        "/webhooks/instagram",
        body,
        {"X-Hub-Signature-256": meta.sign(META_SECRET, body)},
        expected=[("IG1:aWdfZAG1", "สวัสดี")],
    )


def whatsapp_sample() -> Sample:
    wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    body = _j(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": "106540352242922",
                                },
                                "contacts": [
                                    {"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}
                                ],
                                "messages": [
                                    {
                                        "from": "16505551234",
                                        "id": wamid,
                                        "timestamp": "1749416383",
                                        "type": "text",
                                        "text": {"body": "Does it come in another color?"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    )
    return Sample(
        "whatsapp",
        "/webhooks/whatsapp",
        body,
        {"X-Hub-Signature-256": meta.sign(META_SECRET, body)},
        expected=[(f"106540352242922:{wamid}", "Does it come in another color?")],
    )


def telegram_sample() -> Sample:
    body = _j(
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
    body = _j(
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
    body = _j(
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
        wechat_sample(),
        api_sample(now),
        api_sample(now, "/webhooks/api"),
    ]
