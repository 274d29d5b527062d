"""DingTalk robot HTTP callbacks (channels.md §4).

Verification: headers ``timestamp`` (ms) and ``sign`` = Base64(HMAC-SHA256(appSecret,
f"{timestamp}\\n{appSecret}")), with the timestamp within one hour of now. The signature does not
cover the body (a captured pair authenticates any body for an hour): dedup on ``msgId`` always.
Dedup key: ``<chatbotUserId>:<msgId>``. ``createAt`` in ms.

Encrypted event callbacks (事件订阅, DingTalk's DingCallbackCrypto): query ``msg_signature``
(or ``signature``), ``timestamp`` (or ``timeStamp``), ``nonce``; body ``{"encrypt": "<Base64>"}``.
msg_signature = sha1(sorted(token, timestamp, nonce, encrypt)) covers the ciphertext, which
decrypts (``crypto``) to JSON addressed to our owner key (appKey, corpId or suiteKey). A
decrypted robot message (the plain callback's JSON) becomes a message like the plain route; any
other event (``EventType``: ``check_url``, org events) is acknowledged without one. The answer
is the encrypted ``success`` DingTalk expects: ``{"msg_signature", "timeStamp", "nonce",
"encrypt"}``.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from connectors.channels import crypto
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
from schemas.records import Attachment, Channel, ChannelMessageReceived

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
    return WebhookResult((_message(doc, now, tenant_id),))


def _message(doc: dict[str, Any], now: datetime, tenant_id: str) -> ChannelMessageReceived:
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
    return to_event(m, received_at=now, tenant_id=tenant_id)


def _first(query: Any, *names: str) -> str:
    for name in names:
        value = query.get(name)
        if value is not None:
            return str(value)
    raise missing_header(f"{names[0]} query parameter", NAME)


def encrypted_reply(token: str, key: bytes, owner_key: str, now: datetime) -> bytes:
    """The JSON answer to an encrypted callback: ``success`` encrypted for ``owner_key``."""
    encrypted = crypto.encrypt(key, b"success", owner_key)
    ts = str(int(now.timestamp() * 1000))
    nonce = secrets.token_hex(8)
    return json.dumps(
        {
            "msg_signature": crypto.msg_signature(token, ts, nonce, encrypted),
            "timeStamp": ts,
            "nonce": nonce,
            "encrypt": encrypted,
        }
    ).encode()


def handle_event(
    req: WebhookRequest,
    *,
    token: str,
    aes_key: bytes,
    owner_key: str,
    now: datetime,
    tenant_id: str,
) -> WebhookResult:
    """Verify, decrypt and normalise one encrypted DingTalk event callback.

    Raises ChannelError: 401 ``missing_header`` / ``bad_signature`` / ``bad_ciphertext`` /
    ``wrong_receiver``, 400 ``malformed`` (body or decrypted JSON)."""
    if req.method != "POST":
        raise ChannelError(405, "method", "DingTalk event callbacks are POST requests")
    got = _first(req.query, "msg_signature", "signature")
    ts = _first(req.query, "timestamp", "timeStamp")
    nonce = _first(req.query, "nonce")
    outer = obj(parse_json(NAME, req.body), NAME, "the body")
    encrypted = outer.get("encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise malformed(NAME, "encrypt must be a non-empty string (the Base64 ciphertext)")
    if not crypto.signature_matches(crypto.msg_signature(token, ts, nonce, encrypted), got):
        raise bad_signature(
            "msg_signature", NAME, "check TICKETSTREAM_DINGTALK_CALLBACK_TOKEN (the callback token)"
        )
    try:
        plain = crypto.decrypt(aes_key, encrypted, owner_key)
    except crypto.CryptoError as exc:
        fix = (
            "check TICKETSTREAM_DINGTALK_CALLBACK_OWNER_KEY (appKey, corpId or suiteKey)"
            if exc.reason == "wrong_receiver"
            else "check TICKETSTREAM_DINGTALK_CALLBACK_AES_KEY"
        )
        raise ChannelError(
            401, exc.reason, f"{NAME} encrypted callback: {exc.message}; {fix}"
        ) from None
    doc = obj(parse_json(NAME, plain), NAME, "the decrypted event")
    reply = encrypted_reply(token, aes_key, owner_key, now)
    messages: tuple[ChannelMessageReceived, ...] = ()
    if "EventType" not in doc and "msgId" in doc:
        messages = (_message(doc, now, tenant_id),)
    return WebhookResult(messages, body=reply, content_type="application/json")
