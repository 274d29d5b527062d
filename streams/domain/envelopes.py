"""Envelopes of the events one command produces: deterministic ids, consecutive versions."""

from __future__ import annotations

from datetime import datetime

from schemas.records import CommandHeader, Envelope
from streams.domain.ids import derive_id


class EnvelopeFactory:
    """Makes the envelopes of the events one command (``header``) produces on one aggregate.

    ``occurred_at`` is the command's ``issued_at`` (event time), ``recorded_at`` is ``now``;
    ``event_id`` derives from the command id and the event kind."""

    __slots__ = ("aggregate_id", "header", "now", "version")

    def __init__(self, header: CommandHeader, aggregate_id: str, version: int, now: datetime):
        self.header = header
        self.aggregate_id = aggregate_id
        self.version = version
        self.now = now

    def next(self, kind: str) -> Envelope:
        """The envelope of the next event (version + 1)."""
        self.version += 1
        return self._make(kind, self.version)

    def same(self, kind: str) -> Envelope:
        """An envelope that does not advance the version (rejections)."""
        return self._make(kind, self.version)

    def _make(self, kind: str, version: int) -> Envelope:
        h = self.header
        return Envelope(
            event_id=derive_id(h.command_id, self.aggregate_id, kind),
            occurred_at=h.issued_at,
            recorded_at=self.now,
            aggregate_id=self.aggregate_id,
            aggregate_version=version,
            causation_id=h.command_id,
            correlation_id=h.correlation_id,
            actor=h.actor,
            tenant_id=h.tenant_id,
            brand_id=h.brand_id,
        )
