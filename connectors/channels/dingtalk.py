"""DingTalk robot HTTP callbacks (channels.md §4).

Verification: headers ``timestamp`` (ms) and ``sign`` = Base64(HMAC-SHA256(appSecret,
f"{timestamp}\\n{appSecret}")), with the timestamp within one hour of now. The signature does not
cover the body (a captured pair authenticates any body for an hour): dedup on ``msgId`` always.
Dedup key: ``<chatbotUserId>:<msgId>``. ``createAt`` in ms.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from connectors.channels.base import (
    ChannelError,
    NormalisedMessage,
    WebhookRequest,
    WebhookResult,
    bad_signature,
    from_epoch,
    hmac_sha256,
    malformed,
    missing_header,
    obj,
    parse_json,
    same,
    text_of,
    to_event,
)
from schemas.records import Attachment, Channel

NAME = "DingTalk"
MAX_SKEW_MS = 3_600_000  # "相差1小时以上，则认为是非法的请求"


def sign(app_secret: str, timestamp: str) -> str:
    """The ``sign`` header for ``timestamp`` (ms, as sent)."""
    msg = f"{timestamp}\n{app_secret}".encode()
    return base64.b64encode(hmac_sha256(app_secret.encode("utf-8"), msg)).decode("ascii")


def verify(app_secret: str, req: WebhookRequest, now: datetime) -> None:
    ts = req.headers.get("timestamp")
    if ts is None:
        raise missing_header("timestamp", NAME)
    got = req.headers.get("sign")
    if got is None:
        raise missing_header("sign", NAME)
    if not (ts.isascii() and ts.isdigit() and len(ts) <= 15):
        raise ChannelError(
            401, "bad_timestamp", f"{NAME} timestamp header is not epoch milliseconds"
        )
    now_ms = int(now.astimezone(UTC).timestamp() * 1000)
    if abs(now_ms - int(ts)) > MAX_SKEW_MS:
        raise ChannelError(
            401,
            "stale_timestamp",
            f"{NAME} timestamp is {abs(now_ms - int(ts)) // 1000} s away from our clock (limit 3600 s); "
            "replayed request, or fix the clock",
        )
    if not same(sign(app_secret, ts), got):
        raise bad_signature(
            "sign", NAME, "check TICKETSTREAM_DINGTALK_APP_SECRET (the robot's appSecret)"
        )


def handle(req: WebhookRequest, *, app_secret: str, now: datetime, tenant_id: str) -> WebhookResult:
    """Verify and normalise one DingTalk robot callback (``now`` = our receive time)."""
    if req.method != "POST":
        raise ChannelError(405, "method", "DingTalk callbacks are POST requests")
    verify(app_secret, req, now)
    doc = obj(parse_json(NAME, req.body), NAME, "the body")
    robot = text_of(doc.get("chatbotUserId"), NAME, "chatbotUserId")
    msg_id = text_of(doc.get("msgId"), NAME, "msgId")
    conv = text_of(doc.get("conversationId"), NAME, "conversationId")
    user = text_of(doc.get("senderStaffId"), NAME, "senderStaffId", required=False) or text_of(
        doc.get("senderId"), NAME, "senderId"
    )
    mtype = text_of(doc.get("msgtype"), NAME, "msgtype")
    text = ""
    atts: list[Attachment] = []
    if mtype == "text":
        body = obj(doc.get("text"), NAME, "text")
        text = text_of(body.get("content"), NAME, "text.content", required=False).strip()
    elif mtype == "picture":
        content = obj(doc.get("content"), NAME, "content")
        atts.append(Attachment(kind="image", external_id=str(content.get("downloadCode"))))
    elif mtype == "richText":
        content = obj(doc.get("content"), NAME, "content")
        parts = content.get("richText")
        if not isinstance(parts, list):
            raise malformed(NAME, "content.richText must be an array")
        texts = []
        for p in parts:
            if isinstance(p, dict) and isinstance(p.get("text"), str):
                texts.append(p["text"])
            elif isinstance(p, dict) and p.get("downloadCode") is not None:
                atts.append(Attachment(kind="image", external_id=str(p["downloadCode"])))
        text = "".join(texts).strip()
    else:
        atts.append(Attachment(kind="other", external_id=msg_id))
    ctx = {"conversation_type": str(doc.get("conversationType") or ""), "robot_code": robot}
    expires = None
    hook = doc.get("sessionWebhook")
    if isinstance(hook, str) and hook.startswith("https://"):
        ctx["session_webhook"] = hook
        if doc.get("sessionWebhookExpiredTime") is not None:
            expires = from_epoch(
                doc.get("sessionWebhookExpiredTime"), NAME, "sessionWebhookExpiredTime", millis=True
            )
    if isinstance(doc.get("senderStaffId"), str):
        ctx["staff_id"] = doc["senderStaffId"]
    created = doc.get("createAt")
    sent_at = from_epoch(created, NAME, "createAt", millis=True) if created is not None else now
    nick = doc.get("senderNick")
    m = NormalisedMessage(
        channel=Channel.DINGTALK,
        account_id=robot,
        external_conversation_id=conv,
        external_user_id=user,
        external_message_id=msg_id,
        dedup_key=f"{robot}:{msg_id}",
        text=text,
        sent_at=sent_at,
        attachments=tuple(atts),
        customer_display_name=nick if isinstance(nick, str) else None,
        reply_context=ctx,
        reply_context_expires_at=expires,
    )
    return WebhookResult((to_event(m, received_at=now, tenant_id=tenant_id),))
