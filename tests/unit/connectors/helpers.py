"""Shared helpers for the connectors' unit tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from connectors.channels.base import WebhookRequest

NOW = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)


def post(
    body: bytes | dict[str, Any],
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return WebhookRequest(
        "POST", {k.lower(): v for k, v in (headers or {}).items()}, query or {}, raw
    )
