"""Sender contract and errors shared by every channel sender."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import aiohttp

from schemas.records import AgentReplied

RETRY_NAMESPACE = uuid.UUID("0c8f5a55-3b8e-4f0a-a1d4-8b7a3f1f9e21")


class SendError(Exception):
    """A delivery attempt failed. ``retryable``: 5xx, 429, timeouts, connection errors."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Sent:
    external_message_id: str | None = None
    via: str = ""  # e.g. "reply", "push", "session_webhook", "batch_send"


class Sender(Protocol):
    async def send(self, reply: AgentReplied, now: datetime) -> Sent: ...


def retry_key(reply_id: str) -> str:
    """A deterministic UUID per reply: retries of one reply carry the same idempotency key."""
    return str(uuid.uuid5(RETRY_NAMESPACE, reply_id))


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    what: str,
    *,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    ok: tuple[int, ...] = (200,),
) -> tuple[int, Any]:
    """One HTTP call; returns (status, parsed JSON or None). Raises SendError naming ``what``
    (never the URL's query, which may hold an access token)."""
    try:
        async with http.request(method, url, json=json_body, headers=headers, params=params) as r:
            text = await r.text()
            status = r.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SendError(f"{what}: {type(exc).__name__}", retryable=True) from None
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        doc = None
    if status in ok:
        return status, doc
    retryable = status == 429 or status >= 500
    raise SendError(f"{what} answered {status}: {str(text)[:200]}", retryable=retryable)
