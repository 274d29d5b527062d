"""Deliver one reply with retries and backoff; describe the outcome as MessageDeliveryUpdated."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from connectors import metrics
from connectors.outbound.base import Sender, SendError, Sent
from schemas.records import (
    Actor,
    ActorKind,
    AgentReplied,
    DeliveryStatus,
    Envelope,
    MessageDeliveryUpdated,
)

log = logging.getLogger(__name__)
DELIVERY_NAMESPACE = uuid.UUID("a3e2d7c4-5b61-4c8e-9f3a-2d1b0e6c7f85")


async def deliver(
    sender: Sender,
    reply: AgentReplied,
    *,
    max_attempts: int,
    backoff: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> MessageDeliveryUpdated:
    """Try up to ``max_attempts`` times (delays backoff, 2×backoff, …; only retryable errors)."""
    label = reply.channel.value
    attempt = 0
    while True:
        attempt += 1
        try:
            sent = await sender.send(reply, clock())
        except SendError as exc:
            if exc.retryable and attempt < max_attempts:
                metrics.OUTBOUND.labels(label, "retried").inc()
                log.info(
                    "reply %s via %s: attempt %d failed (%s); retrying",
                    reply.reply_id,
                    label,
                    attempt,
                    exc,
                )
                await sleep(backoff * 2 ** (attempt - 1))
                continue
            metrics.OUTBOUND.labels(label, "failed").inc()
            log.warning(
                "reply %s via %s failed after %d attempt(s): %s",
                reply.reply_id,
                label,
                attempt,
                exc,
            )
            return delivery_event(
                reply, DeliveryStatus.FAILED, attempt, clock(), reason=str(exc)[:500]
            )
        metrics.OUTBOUND.labels(label, "sent").inc()
        return delivery_event(reply, DeliveryStatus.SENT, attempt, clock(), sent=sent)


def delivery_event(
    reply: AgentReplied,
    status: DeliveryStatus,
    attempt: int,
    now: datetime,
    *,
    sent: Sent | None = None,
    reason: str | None = None,
) -> MessageDeliveryUpdated:
    """Event id derived from (reply, status): a re-run after a crash re-creates the same event."""
    event_id = str(uuid.uuid5(DELIVERY_NAMESPACE, f"{reply.reply_id}:{status.value}"))
    return MessageDeliveryUpdated(
        envelope=Envelope(
            event_id=event_id,
            occurred_at=now,
            recorded_at=now,
            aggregate_id=reply.ticket_id,
            aggregate_version=reply.envelope.aggregate_version,
            causation_id=reply.envelope.event_id,
            correlation_id=reply.envelope.correlation_id,
            actor=Actor(ActorKind.SYSTEM, "outbound"),
            tenant_id=reply.envelope.tenant_id,
            brand_id=reply.envelope.brand_id,
        ),
        ticket_id=reply.ticket_id,
        reply_id=reply.reply_id,
        channel=reply.channel,
        status=status,
        attempt=attempt,
        external_message_id=sent.external_message_id if sent else None,
        reason=reason,
    )
