"""Build the ``DeadLetter`` record for a consumed record a consumer gives up on."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.records import DeadLetter


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    error: BaseException,
    consumer: str,
    now: datetime,
    key: bytes | None = None,
    value: bytes | None = None,
    timestamp_ms: int | None = None,
) -> DeadLetter:
    """The DeadLetter for the record at ``topic[partition]@offset`` that raised ``error``.

    ``now`` is the caller's clock (tz-aware); ``timestamp_ms`` is the source record's Kafka
    timestamp in milliseconds since the epoch, when known. Produce the result with
    ``schemas.codec.encode`` to ``schemas.topics.DEAD_LETTER``, keyed by the source key."""
    return DeadLetter(
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        error_type=type(error).__name__,
        error=str(error),
        consumer=consumer,
        dead_lettered_at=now,
        key=key,
        value=value,
        source_timestamp=(
            None
            if timestamp_ms is None
            else datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).replace(
                microsecond=(timestamp_ms % 1000) * 1000
            )
        ),
    )
