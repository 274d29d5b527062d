"""Deterministic ids: the same cause always gives the same id, so a replay is recognisable."""

from __future__ import annotations

import hashlib
import uuid

_NAMESPACE = uuid.UUID("6f1c4a8e-3b2d-5e7f-9a1b-0c2d3e4f5a6b")


def derive_id(*parts: object) -> str:
    """A UUID (string) derived from ``parts`` (e.g. a command id and an event kind)."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def short_id(prefix: str, *parts: object) -> str:
    """A readable id like ``T-3f9a0c1d2e4b5a69`` derived from ``parts`` (64 bits of SHA-1)."""
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"
