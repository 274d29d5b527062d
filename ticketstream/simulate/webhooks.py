"""Signed webhook requests, one builder per channel, as each platform sends them.

Signatures follow the platforms' documented schemes (shared/reference/channels.md), written
here independently of the gateway's verifiers: LINE Base64(HMAC-SHA256(secret, body)); Meta
``sha256=`` hex HMAC-SHA256(app secret, body); Telegram the static secret-token header; DingTalk
Base64(HMAC-SHA256(secret, "<ms>\\n<secret>")); WeChat sha1 of the sorted token, timestamp and
nonce; our api/webchat channel ``sha256=`` hex HMAC-SHA256(secret, "<ts>.<body>").

Platform timestamps in the bodies are SIMULATED time (``at``); the replay-window headers of
DingTalk and api/webchat carry the WALL clock (``wall``), as a live platform would sign them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from schemas.records import Channel

LINE_BOT = "U" + hashlib.md5(b"ticketstream-sim-line-bot").hexdigest()
PAGE_ID = "104857600123456"
IG_ACCOUNT = "17841400000000001"
WA_PHONE_ID = "109876543210987"
WA_ACCOUNT = "102290129340398"
DINGTALK_ROBOT = "$:LWCP_v1:$ticketstream-sim"
WECHAT_ACCOUNT = "gh_ticketstream01"
EMAIL_INBOX = "support-inbox"
WEB_SITE = "web-shop"

PATHS = {
    Channel.LINE: "/webhooks/line",
    Channel.MESSENGER: "/webhooks/messenger",
    Channel.INSTAGRAM: "/webhooks/instagram",
    Channel.WHATSAPP: "/webhooks/whatsapp",
    Channel.TELEGRAM: "/webhooks/telegram",
    Channel.DINGTALK: "/webhooks/dingtalk",
    Channel.WECHAT: "/webhooks/wechat",
    Channel.API: "/webhooks/api",
    Channel.WEBCHAT: "/webhooks/webchat",
}
OK_STATUSES = {200, 202}


@dataclass(frozen=True, slots=True)
class Identity:
    """A customer's ids on one channel; ``conversation`` is the platform's conversation id the
    gateway uses (the ticket's conversation key ends with it)."""

    channel: Channel
    user: str
    conversation: str
    name: str


@dataclass(frozen=True, slots=True)
class Webhook:
    channel: Channel
    path: str
    body: bytes
    headers: dict[str, str]
    query: dict[str, str]
    message_key: (
        str  # the last ':'-part of the gateway's dedup key (= CustomerMessageAppended.message_id)
    )


def identity(channel: Channel, customer: str, name: str) -> Identity:
    """The ids of customer ``customer`` (16 hex digits) on ``channel``."""
    num = str(int(customer[:13], 16))  # ≤ 16 decimal digits
    if channel is Channel.LINE:
        uid = "U" + customer + customer
        return Identity(channel, uid, uid, name)
    if channel in (Channel.MESSENGER, Channel.INSTAGRAM):
        return Identity(channel, num, num, name)
    if channel is Channel.WHATSAPP:
        wa = "66" + num[-9:].rjust(9, "0")
        return Identity(channel, wa, wa, name)
    if channel is Channel.TELEGRAM:
        tid = str(int(customer[:10], 16))
        return Identity(channel, tid, tid, name)
    if channel is Channel.DINGTALK:
        return Identity(channel, "staff" + customer[:10], "cid" + customer, name)
    if channel is Channel.WECHAT:
        oid = "o" + base64.urlsafe_b64encode(bytes.fromhex(customer + customer)).decode()[:27]
        return Identity(channel, oid, oid, name)
    if channel is Channel.API:
        return Identity(channel, f"{customer}@mail.example", f"mail-{customer}", name)
    return Identity(channel, f"visitor-{customer}", f"web-{customer}", name)


def _ms(at: datetime) -> int:
    return int(at.timestamp()) * 1000


def _b64_hmac(key: str, msg: bytes) -> str:
    return base64.b64encode(hmac.digest(key.encode(), msg, "sha256")).decode("ascii")


def _hex_hmac(key: str, msg: bytes) -> str:
    return "sha256=" + hmac.digest(key.encode(), msg, "sha256").hex()


def build(
    who: Identity, tag: str, n: int, text: str, at: datetime, secret: str, wall: datetime
) -> Webhook:
    """The signed webhook of customer message number ``n`` (1-based) of a conversation.
    ``tag`` makes message ids unique per ticket and run (hex)."""
    c = who.channel
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    if c is Channel.LINE:
        key = f"01SIM{tag[:16].upper()}{n:05d}"
        body = _json(
            {
                "destination": LINE_BOT,
                "events": [
                    {
                        "type": "message",
                        "mode": "active",
                        "timestamp": _ms(at),
                        "source": {"type": "user", "userId": who.user},
                        "webhookEventId": key,
                        "deliveryContext": {"isRedelivery": False},
                        "replyToken": hashlib.md5(key.encode()).hexdigest(),
                        "message": {
                            "id": f"{int(tag[:12], 16)}{n:03d}",
                            "type": "text",
                            "text": text,
                        },
                    }
                ],
            }
        )
        headers["x-line-signature"] = _b64_hmac(secret, body)
    elif c in (Channel.MESSENGER, Channel.INSTAGRAM):
        account = PAGE_ID if c is Channel.MESSENGER else IG_ACCOUNT
        key = f"m_{tag}{n:04d}"
        body = _json(
            {
                "object": "page" if c is Channel.MESSENGER else "instagram",
                "entry": [
                    {
                        "id": account,
                        "time": _ms(at),
                        "messaging": [
                            {
                                "sender": {"id": who.user},
                                "recipient": {"id": account},
                                "timestamp": _ms(at),
                                "message": {"mid": key, "text": text},
                            }
                        ],
                    }
                ],
            }
        )
        headers["X-Hub-Signature-256"] = _hex_hmac(secret, body)
    elif c is Channel.WHATSAPP:
        key = f"wamid.HBgL{tag.upper()}{n:04d}"
        body = _json(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": WA_ACCOUNT,
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {
                                        "display_phone_number": "6620000000",
                                        "phone_number_id": WA_PHONE_ID,
                                    },
                                    "contacts": [
                                        {"profile": {"name": who.name}, "wa_id": who.user}
                                    ],
                                    "messages": [
                                        {
                                            "from": who.user,
                                            "id": key,
                                            "timestamp": str(int(at.timestamp())),
                                            "type": "text",
                                            "text": {"body": text},
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
        )
        headers["X-Hub-Signature-256"] = _hex_hmac(secret, body)
    elif c is Channel.TELEGRAM:
        key = str(n)
        body = _json(
            {
                "update_id": int(tag[:7], 16) * 100 + n,
                "message": {
                    "message_id": n,
                    "from": {"id": int(who.user), "is_bot": False, "first_name": who.name},
                    "chat": {"id": int(who.conversation), "type": "private"},
                    "date": int(at.timestamp()),
                    "text": text,
                },
            }
        )
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    elif c is Channel.DINGTALK:
        key = f"msg{tag}{n:04d}"
        body = _json(
            {
                "msgtype": "text",
                "text": {"content": text},
                "msgId": key,
                "createAt": _ms(at),
                "conversationType": "1",
                "conversationId": who.conversation,
                "senderId": "$:LWCP_v1:$" + who.user,
                "senderNick": who.name,
                "senderStaffId": who.user,
                "chatbotUserId": DINGTALK_ROBOT,
                "sessionWebhook": f"https://oapi.dingtalk.com/robot/sendBySession?session={tag}",
                "sessionWebhookExpiredTime": _ms(at) + 5_400_000,
            }
        )
        ts = str(int(wall.timestamp() * 1000))
        headers["timestamp"] = ts
        headers["sign"] = _b64_hmac(secret, f"{ts}\n{secret}".encode())
    elif c is Channel.WECHAT:
        key = str(int(tag[:14], 16) * 1000 + n)
        xml = (
            f"<xml><ToUserName><![CDATA[{WECHAT_ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{who.user}]]></FromUserName>"
            f"<CreateTime>{int(at.timestamp())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{escape(text)}</Content><MsgId>{key}</MsgId></xml>"
        )
        body = xml.encode("utf-8")
        ts, nonce = str(int(wall.timestamp())), tag[:10]
        query = {
            "signature": hashlib.sha1("".join(sorted([secret, ts, nonce])).encode()).hexdigest(),
            "timestamp": ts,
            "nonce": nonce,
        }
    else:  # api (the e-mail bridge) and webchat: our signed generic channel
        key = f"{tag}-{n:04d}"
        body = _json(
            {
                "account_id": EMAIL_INBOX if c is Channel.API else WEB_SITE,
                "external_conversation_id": who.conversation,
                "external_user_id": who.user,
                "external_message_id": key,
                "text": text,
                "sent_at": _ms(at),
                "customer_display_name": who.name,
            }
        )
        ts = str(int(wall.timestamp()))
        headers["X-Timestamp"] = ts
        headers["X-Signature"] = _hex_hmac(secret, ts.encode("ascii") + b"." + body)
    if c is not Channel.WECHAT:
        headers["Content-Type"] = "application/json"
    else:
        headers["Content-Type"] = "text/xml"
    return Webhook(c, PATHS[c], body, headers, query, key)


def _json(doc: object) -> bytes:
    # Meta and LINE send compact JSON with non-ASCII escaped; the signature covers these bytes.
    return json.dumps(doc, separators=(",", ":")).encode("ascii")
