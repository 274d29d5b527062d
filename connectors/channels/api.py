"""Generic signed API channel for web chat and integrations (channels.md §7 lessons).

Request: ``POST`` JSON ``{"account_id", "external_conversation_id", "external_user_id",
"external_message_id" (client-generated idempotency key), "text", "sent_at" (ISO-8601 or epoch
ms), "attachments": [{"kind", "url", …}], "customer_display_name"}``.
Headers: ``X-Timestamp`` (Unix seconds), ``X-Signature: sha256=hex(HMAC-SHA256(secret,
f"{timestamp}.{raw body}"))``; timestamps more than 5 minutes away are refused (replay window).
Dedup key: ``<account_id>:<external_message_id>``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
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
    parse_json,
    same,
    text_of,
    to_event,
)
from schemas.records import Attachment, Channel

MAX_SKEW_SECONDS = 300
MAX_ID = 200


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, req: WebhookRequest, now: datetime, name: str) -> None:
    ts = req.headers.get("x-timestamp")
    if ts is None:
        raise missing_header("X-Timestamp", name)
    got = req.headers.get("x-signature")
    if got is None:
        raise missing_header("X-Signature", name)
    if not (ts.isascii() and ts.isdigit() and len(ts) <= 12):
        raise ChannelError(401, "bad_timestamp", f"{name} X-Timestamp must be Unix seconds")
    skew = abs(int(now.astimezone(UTC).timestamp()) - int(ts))
    if skew > MAX_SKEW_SECONDS:
        raise ChannelError(
            401,
            "stale_timestamp",
            f"{name} X-Timestamp is {skew} s from our clock (limit {MAX_SKEW_SECONDS} s); "
            "sign each request when sending it",
        )
    if not same(sign(secret, ts, req.body), got):
        raise bad_signature("X-Signature", name, "sign f'{timestamp}.{body}' with the API secret")


def handle(
    req: WebhookRequest, *, channel: Channel, secret: str, now: datetime, tenant_id: str
) -> WebhookResult:
    """Verify and normalise one API/web-chat message."""
    name = channel.value
    if req.method != "POST":
        raise ChannelError(405, "method", f"{name} messages are POST requests")
    verify(secret, req, now, name)
    doc = obj(parse_json(name, req.body), name, "the body")
    ids = {
        k: text_of(doc.get(k), name, k)
        for k in (
            "account_id",
            "external_conversation_id",
            "external_user_id",
            "external_message_id",
        )
    }
    for k, v in ids.items():
        if len(v) > MAX_ID:
            raise malformed(name, f"{k} is longer than {MAX_ID} characters")
    atts = []
    for i, raw in enumerate(arr(doc.get("attachments"), name, "attachments")):
        a = obj(raw, name, f"attachments[{i}]")
        atts.append(
            Attachment(
                kind=text_of(a.get("kind"), name, f"attachments[{i}].kind")[:32],
                url=_opt(a, "url", name),
                external_id=_opt(a, "external_id", name),
                mime_type=_opt(a, "mime_type", name),
                file_name=_opt(a, "file_name", name),
            )
        )
    m = NormalisedMessage(
        channel=channel,
        account_id=ids["account_id"],
        external_conversation_id=ids["external_conversation_id"],
        external_user_id=ids["external_user_id"],
        external_message_id=ids["external_message_id"],
        dedup_key=f"{ids['account_id']}:{ids['external_message_id']}",
        text=text_of(doc.get("text"), name, "text", required=False),
        sent_at=_sent_at(doc.get("sent_at"), name, now),
        attachments=tuple(atts),
        customer_display_name=_opt(doc, "customer_display_name", name),
        reply_context={"external_conversation_id": ids["external_conversation_id"]},
    )
    return WebhookResult((to_event(m, received_at=now, tenant_id=tenant_id),), status=202)


def _opt(d: dict[str, Any], key: str, name: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise malformed(name, f"{key} must be a string")
    return v


def _sent_at(value: Any, name: str, now: datetime) -> datetime:
    if value is None:
        return now
    if isinstance(value, int):
        return from_epoch(value, name, "sent_at", millis=True)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                raise malformed(name, "sent_at needs a UTC offset")
            dt = dt.astimezone(UTC)
        except (ValueError, OverflowError):
            raise malformed(name, "sent_at must be ISO-8601 or epoch milliseconds") from None
        return dt.replace(microsecond=dt.microsecond // 1000 * 1000)
    raise malformed(name, "sent_at must be ISO-8601 or epoch milliseconds")
