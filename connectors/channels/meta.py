"""Meta webhooks: Messenger, Instagram and WhatsApp Cloud API (channels.md §2).

GET handshake: ``hub.mode=subscribe`` + ``hub.verify_token`` → answer ``hub.challenge``.
POST signature: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``.
Batches: ``entry[]`` × ``messaging[]`` / ``changes[].value.messages[]`` (up to 1,000 updates).
Dedup keys: ``<page or IG account>:<mid>``; WhatsApp ``<phone_number_id>:<wamid>``.
Echoes (``is_echo``), deletions, delivery/read receipts and WhatsApp statuses yield no event.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from connectors.channels.base import (
    ChannelError,
    NormalisedMessage,
    WebhookRequest,
    WebhookResult,
    arr,
    bad_signature,
    from_epoch,
    malformed,
    missing_header,
    obj,
    opt_str,
    parse_json,
    same,
    sub,
    text_of,
    to_event,
)
from schemas.records import Attachment, Channel

OBJECTS = {
    Channel.MESSENGER: "page",
    Channel.INSTAGRAM: "instagram",
    Channel.WHATSAPP: "whatsapp_business_account",
}
WA_MEDIA = ("image", "video", "audio", "document", "sticker", "voice")


def sign(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value for ``body``."""
    return "sha256=" + hmac.digest(app_secret.encode("utf-8"), body, "sha256").hex()


def handshake(req: WebhookRequest, *, verify_token: str, channel: Channel) -> WebhookResult:
    """Answer the GET subscription check with the challenge, or refuse with 403."""
    name = channel.value
    if req.query.get("hub.mode") != "subscribe":
        raise ChannelError(400, "malformed", f"{name} verification needs hub.mode=subscribe")
    token = req.query.get("hub.verify_token")
    if token is None:
        raise ChannelError(403, "missing_header", f"{name} verification without hub.verify_token")
    if not same(token, verify_token):
        raise ChannelError(
            403,
            "bad_signature",
            f"{name} verification token does not match; set TICKETSTREAM_META_VERIFY_TOKEN to the "
            "token typed in the App Dashboard",
        )
    challenge = req.query.get("hub.challenge", "")
    if not challenge or len(challenge) > 256 or not challenge.isascii():
        raise ChannelError(400, "malformed", f"{name} verification without a usable hub.challenge")
    return WebhookResult(body=challenge.encode("ascii"))


def verify(app_secret: str, req: WebhookRequest, channel: Channel) -> None:
    got = req.headers.get("x-hub-signature-256")
    if got is None:
        raise missing_header("X-Hub-Signature-256", channel.value)
    if not same(sign(app_secret, req.body), got):
        raise bad_signature(
            "X-Hub-Signature-256", channel.value, "check TICKETSTREAM_META_APP_SECRET (App Secret)"
        )


def handle(
    req: WebhookRequest,
    *,
    channel: Channel,
    app_secret: str,
    verify_token: str,
    received_at: datetime,
    tenant_id: str,
) -> WebhookResult:
    """Verify and normalise one Meta webhook request for ``channel``."""
    if req.method == "GET":
        return handshake(req, verify_token=verify_token, channel=channel)
    if req.method != "POST":
        raise ChannelError(405, "method", f"{channel.value} webhooks are GET or POST")
    verify(app_secret, req, channel)
    name = channel.value
    doc = obj(parse_json(name, req.body), name, "the body")
    if doc.get("object") != OBJECTS[channel]:
        raise ChannelError(
            400,
            "wrong_object",
            f"{name} route received object={str(doc.get('object'))[:40]!r}, expected "
            f"{OBJECTS[channel]!r}; point each Meta product at its own route",
        )
    found: list[NormalisedMessage] = []
    for i, raw in enumerate(arr(doc.get("entry"), name, "entry")):
        entry = obj(raw, name, f"entry[{i}]")
        if channel is Channel.WHATSAPP:
            found.extend(_whatsapp(entry, i))
        else:
            found.extend(_messaging(entry, i, channel))
    events = tuple(to_event(m, received_at=received_at, tenant_id=tenant_id) for m in found)
    return WebhookResult(events, body=b"EVENT_RECEIVED")


def _messaging(entry: dict[str, Any], i: int, channel: Channel) -> list[NormalisedMessage]:
    name = channel.value
    account = text_of(entry.get("id"), name, f"entry[{i}].id")
    out = []
    # standby[] = a conversation owned by another app (handover): still a customer message.
    items = arr(entry.get("messaging"), name, f"entry[{i}].messaging") + arr(
        entry.get("standby"), name, f"entry[{i}].standby"
    )
    for j, raw in enumerate(items):
        where = f"entry[{i}].messaging[{j}]"
        ev = obj(raw, name, where)
        msg = ev.get("message")
        if not isinstance(msg, dict):
            continue  # delivery, read, reaction, postback, …
        if msg.get("is_echo") or msg.get("is_deleted"):
            continue  # our own (or another tool's) outbound message; deleted messages
        sender = text_of(
            obj(ev.get("sender"), name, f"{where}.sender").get("id"), name, f"{where}.sender.id"
        )
        mid = text_of(msg.get("mid"), name, f"{where}.message.mid")
        sent_at = from_epoch(ev.get("timestamp"), name, f"{where}.timestamp", millis=True)
        atts = []
        for k, a in enumerate(arr(msg.get("attachments"), name, f"{where}.message.attachments")):
            a = obj(a, name, f"{where}.message.attachments[{k}]")
            payload = sub(a, "payload")
            url = payload.get("url")
            sticker = payload.get("sticker_id")
            kind = "sticker" if sticker is not None else str(a.get("type") or "other")[:32]
            att = Attachment(
                kind=kind,
                url=url if isinstance(url, str) else None,
                external_id=str(sticker) if isinstance(sticker, int | str) else None,
            )
            # Until 2026-08-30 a sticker arrives as both `sticker` and `image`: keep one.
            if att not in atts:
                atts.append(att)
        out.append(
            NormalisedMessage(
                channel=channel,
                account_id=account,
                external_conversation_id=sender,
                external_user_id=sender,
                external_message_id=mid,
                dedup_key=f"{account}:{mid}",
                text=text_of(msg.get("text"), name, f"{where}.message.text", required=False),
                sent_at=sent_at,
                attachments=tuple(atts),
                reply_context={"recipient_id": sender, "mid": mid},
            )
        )
    return out


def _whatsapp(entry: dict[str, Any], i: int) -> list[NormalisedMessage]:
    name = "whatsapp"
    out = []
    for j, raw in enumerate(arr(entry.get("changes"), name, f"entry[{i}].changes")):
        change = obj(raw, name, f"entry[{i}].changes[{j}]")
        if change.get("field") != "messages":
            continue
        value = obj(change.get("value"), name, f"entry[{i}].changes[{j}].value")
        meta = obj(value.get("metadata"), name, "value.metadata")
        phone_id = text_of(meta.get("phone_number_id"), name, "value.metadata.phone_number_id")
        names = {}
        for c in arr(value.get("contacts"), name, "value.contacts"):
            if isinstance(c, dict) and isinstance(c.get("profile"), dict):
                names[str(c.get("wa_id"))] = c["profile"].get("name")
        for k, m in enumerate(arr(value.get("messages"), name, "value.messages")):
            where = f"entry[{i}].changes[{j}].value.messages[{k}]"
            m = obj(m, name, where)
            sender = text_of(m.get("from"), name, f"{where}.from")
            wamid = text_of(m.get("id"), name, f"{where}.id")
            conv = text_of(m.get("group_id"), name, f"{where}.group_id", required=False) or sender
            mtype = text_of(m.get("type"), name, f"{where}.type")
            text = ""
            atts: list[Attachment] = []
            if mtype == "text":
                body = obj(m.get("text"), name, f"{where}.text")
                text = text_of(body.get("body"), name, f"{where}.text.body", required=False)
            elif mtype in WA_MEDIA:
                media = obj(m.get(mtype), name, f"{where}.{mtype}")
                text = opt_str(media, "caption") or ""
                atts.append(
                    Attachment(
                        kind="file"
                        if mtype == "document"
                        else ("audio" if mtype == "voice" else mtype),
                        external_id=str(media.get("id")) if media.get("id") is not None else None,
                        mime_type=media.get("mime_type")
                        if isinstance(media.get("mime_type"), str)
                        else None,
                        file_name=media.get("filename")
                        if isinstance(media.get("filename"), str)
                        else None,
                    )
                )
            else:
                atts.append(Attachment(kind="other", external_id=wamid))
            display = names.get(sender)
            out.append(
                NormalisedMessage(
                    channel=Channel.WHATSAPP,
                    account_id=phone_id,
                    external_conversation_id=conv,
                    external_user_id=sender,
                    external_message_id=wamid,
                    dedup_key=f"{phone_id}:{wamid}",
                    text=text,
                    sent_at=from_epoch(
                        m.get("timestamp"), name, f"{where}.timestamp", millis=False
                    ),
                    attachments=tuple(atts),
                    customer_display_name=display if isinstance(display, str) else None,
                    reply_context={"to": conv, "message_id": wamid},
                )
            )
        # statuses[] are receipts for our outbound messages, not customer messages.
    if not isinstance(entry.get("changes", []), list):
        raise malformed(name, "changes must be an array")
    return out
