"""LINE Messaging API webhooks (channels.md §1).

Signature: ``x-line-signature`` = Base64(HMAC-SHA256(channel secret, raw body)).
Dedup key: ``<destination>:<webhookEventId>`` (unchanged on redelivery). Timestamps in ms.
An empty ``events`` array is the console's "Verify" call and gets a 200 with no event.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.channels.base import (
    ChannelError,
    WebhookRequest,
    WebhookResult,
    arr,
    bad_signature,
    field_obj,
    field_text,
    from_epoch,
    hmac_sha256,
    malformed,
    message_event,
    missing_header,
    obj,
    parse_json,
    same,
    sub,
    text_of,
)
from schemas.records import Attachment, Channel, ChannelMessageReceived

NAME = "LINE"
REPLY_TOKEN_LIFETIME = timedelta(minutes=1)  # "Reply tokens must be used within one minute"
MEDIA = {"image", "video", "audio", "file"}
_LAST_TOKEN_SENT_AT = datetime.max.replace(tzinfo=UTC) - REPLY_TOKEN_LIFETIME


def sign(secret: str, body: bytes) -> str:
    """The ``x-line-signature`` value for ``body``."""
    return _signature(secret, body).decode("ascii")


def _signature(secret: str, body: bytes) -> bytes:
    return base64.b64encode(hmac_sha256(secret.encode("utf-8"), body))


def verify(secret: str, req: WebhookRequest) -> None:
    got = req.headers.get("x-line-signature")
    if got is None:
        raise missing_header("x-line-signature", NAME)
    if not same(_signature(secret, req.body), got):
        raise bad_signature(
            "x-line-signature", NAME, "check TICKETSTREAM_LINE_CHANNEL_SECRET against the console"
        )


def handle(
    req: WebhookRequest, *, secret: str, received_at: datetime, tenant_id: str
) -> WebhookResult:
    """Verify and normalise one LINE webhook request."""
    if req.method != "POST":
        raise ChannelError(405, "method", "LINE webhooks are POST requests")
    verify(secret, req)
    doc = obj(parse_json(NAME, req.body), NAME, "the body")
    destination = text_of(doc.get("destination"), NAME, "destination")
    out = []
    for i, raw in enumerate(arr(doc.get("events"), NAME, "events")):
        ev = obj(raw, NAME, f"events[{i}]")
        m = _message(ev, destination, i, received_at, tenant_id)
        if m is not None:
            out.append(m)
    return WebhookResult(tuple(out))


def _message(
    ev: dict[str, Any], destination: str, i: int, received_at: datetime, tenant_id: str
) -> ChannelMessageReceived | None:
    if ev.get("type") != "message":
        return None  # follow, unfollow, postback, … are not customer messages
    where = f"events[{i}]"
    event_id = field_text(ev, "webhookEventId", NAME, where)
    sent_at = from_epoch(ev.get("timestamp"), NAME, f"{where}.timestamp", millis=True)
    source = field_obj(ev, "source", NAME, where)
    user = field_text(source, "userId", NAME, where, path="source.", required=False)
    kind = source.get("type")
    if kind == "group":
        conv = field_text(source, "groupId", NAME, where, path="source.")
    elif kind == "room":
        conv = field_text(source, "roomId", NAME, where, path="source.")
    elif kind == "user":
        conv = field_text(source, "userId", NAME, where, path="source.")
    else:
        raise malformed(NAME, f"{where}.source.type {kind!r} is not user, group or room")
    msg = field_obj(ev, "message", NAME, where)
    msg_id = field_text(msg, "id", NAME, where, path="message.")
    mtype = field_text(msg, "type", NAME, where, path="message.")
    text = ""
    attachments: list[Attachment] = []
    if mtype == "text":
        text = field_text(msg, "text", NAME, where, path="message.", required=False)
    elif mtype in MEDIA:
        provider = sub(msg, "contentProvider")
        url = provider.get("originalContentUrl") if provider.get("type") == "external" else None
        size = msg.get("fileSize")
        attachments.append(
            Attachment(
                kind=mtype,
                url=url if isinstance(url, str) else None,
                external_id=msg_id,  # content via GET api-data.line.me/v2/bot/message/{id}/content
                file_name=msg.get("fileName") if isinstance(msg.get("fileName"), str) else None,
                size_bytes=size if isinstance(size, int) and not isinstance(size, bool) else None,
            )
        )
    elif mtype == "sticker":
        attachments.append(
            Attachment(
                kind="sticker",
                external_id=f"{msg.get('packageId', '')}/{msg.get('stickerId', '')}",
            )
        )
    elif mtype == "location":
        text = " ".join(str(msg[k]) for k in ("title", "address") if isinstance(msg.get(k), str))
        attachments.append(
            Attachment(kind="location", url=f"geo:{msg.get('latitude')},{msg.get('longitude')}")
        )
    else:
        attachments.append(Attachment(kind="other", external_id=msg_id))
    reply_context = {"to": conv}
    expires = None
    token = ev.get("replyToken")
    redelivered = bool(
        obj(ev.get("deliveryContext") or {}, NAME, "deliveryContext").get("isRedelivery")
    )
    # A redelivered event's reply token may already be spent: answer those with push.
    if isinstance(token, str) and token and not redelivered and ev.get("mode") != "standby":
        reply_context["reply_token"] = token
        if sent_at > _LAST_TOKEN_SENT_AT:  # its expiry would be past datetime's (year 9999)
            raise malformed(NAME, f"{where}.timestamp leaves no room for the reply token's expiry")
        expires = sent_at + REPLY_TOKEN_LIFETIME
    if ev.get("mode") == "standby":
        reply_context["mode"] = "standby"
    return message_event(  # the event directly: no NormalisedMessage on LINE's hot path
        channel=Channel.LINE,
        account_id=destination,
        external_conversation_id=conv,
        external_user_id=user or conv,
        external_message_id=msg_id,
        dedup_key=f"{destination}:{event_id}",
        text=text,
        sent_at=sent_at,
        attachments=tuple(attachments),
        reply_context=reply_context,
        reply_context_expires_at=expires,
        received_at=received_at,
        tenant_id=tenant_id,
    )
