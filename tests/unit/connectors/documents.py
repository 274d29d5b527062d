"""Webhook bodies shaped like the platforms' documented examples (channels.md), built in one
place for the connectors' unit tests and the integration samples (tests/integration/connectors/
payloads.py), so a shape is corrected once. Pure data: no signing, no I/O."""

from __future__ import annotations

import json
from typing import Any

LINE_BOT = "U1234567890abcdef1234567890abcdef"
LINE_EVENT_ID = "01FZ74A0TDDPYRVKNK77XKC3ZR"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
WA_PHONE_NUMBER_ID = "106540352242922"


def dumps(doc: object, *, ascii_escape: bool = False) -> bytes:
    """UTF-8 JSON bytes (``ascii_escape``: non-ASCII as ``\\uXXXX``, as Meta sends it)."""
    return json.dumps(doc, ensure_ascii=ascii_escape).encode()


# ------------------------------------------------------------------ LINE (channels.md §1)
def line_text_event(
    text: str = "Hello, world", *, event_id: str = LINE_EVENT_ID, **over: object
) -> dict[str, Any]:
    """One ``message`` event of the documented webhook (text), with fields overridden."""
    ev: dict[str, Any] = {
        "type": "message",
        "mode": "active",
        "timestamp": 1462629479859,
        "source": {"type": "user", "userId": "U4af4980629"},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "replyToken": "0f3779fba3b349968c5d07db31eab56f",
        "message": {
            "id": "444573844083572737",
            "type": "text",
            "quoteToken": "q3Plxr4AgKd",
            "text": text,
        },
    }
    ev.update(over)
    return ev


def line_doc(*events: dict[str, Any], destination: str = LINE_BOT) -> dict[str, Any]:
    return {"destination": destination, "events": list(events)}


# ------------------------------------------------------------------ Meta (channels.md §2)
def messaging(
    mid: str,
    text: str = "hello, world!",
    *,
    sender: str = "PSID1",
    recipient: str = "PAGE1",
    timestamp: int = 1458692752478,
    **extra: object,
) -> dict[str, Any]:
    """One ``messaging[]`` item: a customer's message (``extra`` goes into ``message``)."""
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": timestamp,
        "message": {"mid": mid, "text": text, **extra},
    }


def messenger_doc(
    *items: dict[str, Any], page: str = "PAGE1", obj: str = "page", time: int = 1458692752478
) -> dict[str, Any]:
    """A Messenger (``obj="page"``) or Instagram (``obj="instagram"``) webhook, one entry."""
    return {"object": obj, "entry": [{"id": page, "time": time, "messaging": list(items)}]}


def whatsapp_value(
    *,
    messages: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    phone_number_id: str = WA_PHONE_NUMBER_ID,
) -> dict[str, Any]:
    """The ``changes[].value`` of a WhatsApp webhook; defaults = the documented text message."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
    }
    if statuses is not None:
        value["statuses"] = statuses
    if statuses is None or messages is not None:
        value["contacts"] = (
            contacts
            if contacts is not None
            else [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}]
        )
        value["messages"] = (
            messages
            if messages is not None
            else [
                {
                    "from": "16505551234",
                    "id": WAMID,
                    "timestamp": "1749416383",
                    "type": "text",
                    "text": {"body": "Does it come in another color?"},
                }
            ]
        )
    return value


def whatsapp_doc(
    value: dict[str, Any] | None = None, *, waba: str = "102290129340398"
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba,
                "changes": [
                    {"field": "messages", "value": whatsapp_value() if value is None else value}
                ],
            }
        ],
    }
