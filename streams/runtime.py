"""Helpers the agents share: decoding with position, dead-lettering, sending records, tables.

Thin plumbing only; no business decisions here.
"""

from __future__ import annotations

import logging
import pickle
from datetime import UTC, datetime
from typing import Any

import faust

from schemas import codec
from schemas.codec import SchemaDecodeError
from schemas.deadletter import dead_letter
from streams import metrics
from streams.app import app, dead_letter_topic, streams_settings

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


def table(
    name: str, help: str, *, partitions: int | None = None, use_partitioner: bool = False
) -> faust.Table:
    """A changelog-backed table (compact changelog) of pickled domain states.

    Keys are the UTF-8 bytes of the source topic's key (raw, as the producer wrote them), so the
    table's partitions and ``@app.table_route`` agree with the source topic's partitioner."""
    return app.Table(
        name,
        help=help,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions or streams_settings.streams_topic_partitions,
        use_partitioner=use_partitioner,
    )


def load(tbl: faust.Table, key: str, default: Any) -> Any:
    raw = tbl.get(key.encode())
    return default if raw is None else pickle.loads(raw)


def store(tbl: faust.Table, key: str, value: Any) -> None:
    tbl[key.encode()] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


async def decode_or_park(event: faust.EventT, expected: Any = None) -> Any | None:
    """The record of ``event`` or None after sending it to the dead-letter topic (counted)."""
    msg = event.message
    try:
        return codec.decode(
            msg.value,
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            expected=expected,
        )
    except SchemaDecodeError as exc:
        await park(event, exc)
        return None


async def park(event: faust.EventT, exc: BaseException) -> None:
    """Send the record of ``event`` to the dead-letter topic with its position; count it."""
    msg = event.message
    log.warning("dead-lettering %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, exc)
    record = dead_letter(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        error=exc,
        consumer=app.conf.id,
        now=now(),
        key=msg.key if isinstance(msg.key, bytes) else None,
        value=msg.value if isinstance(msg.value, bytes) else None,
        timestamp_ms=int(msg.timestamp * 1000) if msg.timestamp else None,
    )
    metrics.DEAD_LETTERS.labels(msg.topic).inc()
    await dead_letter_topic.send(key=msg.key, value=codec.encode(record))


async def send(topic: faust.TopicT, key: str, record: Any) -> None:
    await topic.send(key=key.encode(), value=codec.encode(record))
