"""Telegram Bot API webhooks (channels.md §3).

Verification: the static ``X-Telegram-Bot-Api-Secret-Token`` header set with ``setWebhook``
(not an HMAC), compared in constant time. ``date`` is Unix seconds; ids may exceed 32 bits.
Dedup key: ``<bot id>:<chat.id>:<message_id>`` — the stable business key (``update_id`` restarts
randomly after a quiet week, so it is not used across restarts).
"""

from __future__ import annotations

from datetime import datetime

from connectors.channels.base import (
    ChannelError,
    NormalisedMessage,
    WebhookRequest,
    WebhookResult,
    bad_signature,
    from_epoch,
    missing_header,
    obj,
    parse_json,
    same,
    sub,
    text_of,
    to_event,
)
from schemas.records import Attachment, Channel

NAME = "telegram"
HEADER = "x-telegram-bot-api-secret-token"
MEDIA = ("document", "video", "voice", "audio", "animation", "video_note")


def handle(
    req: WebhookRequest, *, secret_token: str, bot_id: str, received_at: datetime, tenant_id: str
) -> WebhookResult:
    """Verify and normalise one Telegram update."""
    if req.method != "POST":
        raise ChannelError(405, "method", "Telegram webhooks are POST requests")
    got = req.headers.get(HEADER)
    if got is None:
        raise missing_header("X-Telegram-Bot-Api-Secret-Token", NAME)
    if not same(got, secret_token):
        raise bad_signature(
            "secret token",
            NAME,
            "call setWebhook with secret_token = TICKETSTREAM_TELEGRAM_SECRET_TOKEN",
        )
    update = obj(parse_json(NAME, req.body), NAME, "the update")
    text_of(update.get("update_id"), NAME, "update_id")
    msg = update.get("message")
    if not isinstance(msg, dict):
        return WebhookResult()  # edited_message, callback_query, …: not a new customer message
    chat = obj(msg.get("chat"), NAME, "message.chat")
    chat_id = text_of(chat.get("id"), NAME, "message.chat.id")
    message_id = text_of(msg.get("message_id"), NAME, "message.message_id")
    sender = sub(msg, "from")
    user_id = text_of(sender.get("id"), NAME, "message.from.id", required=False) or chat_id
    if sender.get("is_bot") is True:
        return WebhookResult()
    text = text_of(msg.get("text"), NAME, "message.text", required=False) or text_of(
        msg.get("caption"), NAME, "message.caption", required=False
    )
    atts: list[Attachment] = []
    photos = msg.get("photo")
    if isinstance(photos, list) and photos and isinstance(photos[-1], dict):
        best = photos[-1]  # sizes ascend; keep the largest
        atts.append(Attachment(kind="image", external_id=str(best.get("file_id"))))
    for kind in MEDIA:
        media = msg.get(kind)
        if isinstance(media, dict):
            atts.append(
                Attachment(
                    kind="file"
                    if kind == "document"
                    else ("audio" if kind == "voice" else "video"),
                    external_id=str(media.get("file_id")),
                    mime_type=media.get("mime_type")
                    if isinstance(media.get("mime_type"), str)
                    else None,
                    file_name=media.get("file_name")
                    if isinstance(media.get("file_name"), str)
                    else None,
                )
            )
    sticker = msg.get("sticker")
    if isinstance(sticker, dict):
        atts.append(Attachment(kind="sticker", external_id=str(sticker.get("file_id"))))
        emoji = sticker.get("emoji")
        text = text or (emoji if isinstance(emoji, str) else "")
    name = " ".join(
        str(sender[k]) for k in ("first_name", "last_name") if isinstance(sender.get(k), str)
    )
    m = NormalisedMessage(
        channel=Channel.TELEGRAM,
        account_id=bot_id,
        external_conversation_id=chat_id,
        external_user_id=user_id,
        external_message_id=f"{chat_id}:{message_id}",
        dedup_key=f"{bot_id}:{chat_id}:{message_id}",
        text=text,
        sent_at=from_epoch(msg.get("date"), NAME, "message.date", millis=False),
        attachments=tuple(atts),
        customer_display_name=name or None,
        reply_context={"chat_id": chat_id, "message_id": message_id},
    )
    return WebhookResult((to_event(m, received_at=received_at, tenant_id=tenant_id),))
