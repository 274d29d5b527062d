"""SlaTick records and the simulated clock that produces them.

A tick ``SlaTick(partition, now)`` on partition ``p`` of support.sla.ticks.v1 makes the worker
holding ``p`` fire every SLA deadline of ``p`` due at or before ``now``. In production the leader
produces them from the wall clock (``sla_produce_ticks``); with ``TICKETSTREAM_SLA_CLOCK=simulated``
whoever drives simulated time (the simulator, a backfill) produces them with :class:`SlaTicker`,
:func:`produce_sla_ticks` or ``ticketstream sla tick``. Fired events carry their due time, not
the tick's, so the outcome does not depend on the tick step; ticks only decide *when* they fire.

Python API (used by ``ticketstream.simulate``)::

    from streams.sla.ticks import SlaTicker
    with SlaTicker(endpoints.kafka_bootstrap, topic_prefix="") as ticker:
        ticker.tick(sim_now)                      # every partition, acknowledged on return
        ticker.tick_range(start, end, timedelta(minutes=1))   # backfill

Tick an instant only once the ticket events up to it have been produced: a tick fires what is due
before ticket events it has not seen yet (the domain then treats them as late).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from kafka.errors import KafkaError

from schemas import codec
from schemas.records import SlaTick
from schemas.topics import SLA_TICKS

MAX_INSTANTS = 1_000_000  # a backfill range larger than this is almost certainly a wrong --step


class SlaTickError(Exception):
    """Ticks could not be produced (bad instant or range, missing topic, broker error)."""


def ticks(now: datetime, partitions: int) -> list[SlaTick]:
    """The ticks of one instant, one per partition."""
    return [SlaTick(p, now) for p in range(partitions)]


def _utc(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise SlaTickError(
            f"{what} {at.isoformat()} has no time zone; give an offset, e.g. "
            f"{at.isoformat()}Z or {at.isoformat()}+07:00"
        )
    return at.astimezone(UTC)


def instants(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    """``start, start + step, …`` while ``< end``, then ``end`` itself (so a backfill always
    fires everything due up to ``end``). Raises :class:`SlaTickError` for naive instants, a
    non-positive step, ``end < start`` or more than ``MAX_INSTANTS`` instants."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if step <= timedelta(0):
        raise SlaTickError(f"step must be positive, got {step}")
    if end < start:
        raise SlaTickError(f"end {end.isoformat()} is before start {start.isoformat()}")
    count = int((end - start) / step) + 1
    if count > MAX_INSTANTS:
        raise SlaTickError(
            f"{count:,} ticks from {start.isoformat()} to {end.isoformat()} every {step}: "
            f"more than {MAX_INSTANTS:,}; use a larger step"
        )
    at = start
    while at < end:
        yield at
        at += step
    yield end


def _partition_count(bootstrap: str, topic: str, timeout_s: float) -> int:
    """Partitions of ``topic`` from the broker's metadata, asked without auto-creation (a
    producer's metadata request could create a wrongly prefixed topic with 1 partition)."""
    from kafka.admin import KafkaAdminClient

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap.split(","), request_timeout_ms=int(timeout_s * 1000)
        )
    except KafkaError as exc:
        raise SlaTickError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        found = [
            t for t in admin.describe_topics([topic]) if t.get("topic", t.get("name")) == topic
        ]
    except KafkaError as exc:
        found = []
        why = f"{type(exc).__name__}: {exc}"
    else:
        why = f"error code {found[0].get('error_code')}" if found else "not in the metadata"
    finally:
        admin.close()
    if not found or found[0].get("error_code") or not found[0].get("partitions"):
        raise SlaTickError(
            f"topic {topic} not found on {bootstrap} ({why}); start a worker with the same "
            "TICKETSTREAM_STREAMS_TOPIC_PREFIX first (it creates its topics)"
        )
    return len(found[0]["partitions"])


class SlaTicker:
    """Produces one ``SlaTick`` per partition of ``<topic_prefix>support.sla.ticks.v1``.

    ``bootstrap``: Kafka bootstrap servers (``host:port[,host:port]``). The partition count is
    read from the broker once (the topic must exist: a worker creates it at start). Not thread
    safe; close it (or use ``with``)."""

    def __init__(self, bootstrap: str, *, topic_prefix: str = "", timeout_s: float = 30.0) -> None:
        from kafka import KafkaProducer

        self.topic = f"{topic_prefix}{SLA_TICKS}"
        self._timeout_s = timeout_s
        self.partitions = _partition_count(bootstrap, self.topic, timeout_s)
        try:
            self._producer: Any = KafkaProducer(
                bootstrap_servers=bootstrap.split(","),
                acks="all",
                linger_ms=5,
                allow_auto_create_topics=False,
                max_block_ms=int(timeout_s * 1000),
            )
        except KafkaError as exc:
            raise SlaTickError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc

    def send(self, at: datetime) -> int:
        """Queue the ticks of instant ``at`` (every partition); :meth:`flush` to wait for them.
        Returns the number of records queued."""
        at = _utc(at, "tick instant")
        for tick in ticks(at, self.partitions):
            self._producer.send(self.topic, value=codec.encode(tick), partition=tick.partition)
        return self.partitions

    def flush(self) -> None:
        """Wait until every queued tick is acknowledged by the broker (acks=all)."""
        try:
            self._producer.flush(timeout=self._timeout_s)
        except KafkaError as exc:
            raise SlaTickError(f"ticks to {self.topic} not acknowledged: {exc}") from exc

    def tick(self, at: datetime) -> int:
        """Produce the ticks of ``at`` to every partition and wait for the broker's acks.
        Returns the number of records produced."""
        n = self.send(at)
        self.flush()
        return n

    def tick_range(self, start: datetime, end: datetime, step: timedelta) -> int:
        """Backfill: the ticks of every instant of :func:`instants` (in order per partition),
        acknowledged on return. Returns the number of records produced."""
        n = sum(self.send(at) for at in instants(start, end, step))
        self.flush()
        return n

    def close(self) -> None:
        self._producer.close(timeout=self._timeout_s)

    def __enter__(self) -> SlaTicker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def produce_sla_ticks(
    bootstrap: str,
    at: datetime | Iterable[datetime],
    *,
    topic_prefix: str = "",
    timeout_s: float = 30.0,
) -> int:
    """One-shot: produce the ticks of ``at`` (an instant or instants, in order) to every
    partition and wait for the acks. Returns the number of records produced. Raises
    :class:`SlaTickError`."""
    with SlaTicker(bootstrap, topic_prefix=topic_prefix, timeout_s=timeout_s) as ticker:
        n = sum(ticker.send(a) for a in ([at] if isinstance(at, datetime) else at))
        ticker.flush()
        return n
