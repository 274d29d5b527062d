"""Projection freshness: how far behind "now" the newest event in ClickHouse is.

For each configured table and event-time column we read ``max(column)`` and export

- ``ticketstream_projection_newest_event_timestamp_seconds{table}`` (unix seconds)
- ``ticketstream_projection_freshness_seconds{table}`` = now − newest event time
- ``ticketstream_clickhouse_up`` 1 when the last query reached ClickHouse, else 0

A quiet help desk (nights, weekends) also has old newest events, so the "projection stale"
alert pairs freshness with the projector's consumer lag: stale *and* work waiting.
Label values are table names from configuration: a fixed set.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

__all__ = ["ClickHouseFreshnessReader", "FreshnessCollector", "FreshnessSnapshot", "parse_tables"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_tables(spec: str) -> list[tuple[str, str]]:
    """Parse ``"table:column,table2:column2"`` into pairs; raise ``ValueError`` naming the bad
    item when a name is not a plain identifier (they are interpolated into SQL)."""
    pairs = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        table, sep, column = item.partition(":")
        if not sep or not _IDENT.match(table) or not _IDENT.match(column):
            raise ValueError(
                f"freshness table {item!r}: expected <table>:<event-time column>, "
                "both plain identifiers (e.g. events:occurred_at)"
            )
        pairs.append((table, column))
    return pairs


@dataclass(frozen=True, slots=True)
class FreshnessSnapshot:
    taken_at: float
    ok: bool
    newest: dict[str, float] = field(default_factory=dict)  # table -> unix seconds
    error: str = ""


class ClickHouseFreshnessReader:
    """Queries ``max(<column>)`` of each table through clickhouse-driver (native protocol)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        database: str,
        user: str,
        password: str,
        tables: Sequence[tuple[str, str]],
        timeout: float = 5.0,
    ) -> None:
        if not _IDENT.match(database):
            raise ValueError(f"ClickHouse database {database!r} is not a plain identifier")
        self.database = database
        self.tables = list(tables)
        self._conn_args = {
            "host": host,
            "port": port,
            # No default database: a not-yet-migrated database must not read as "ClickHouse
            # unreachable"; queries name the database explicitly.
            "user": user,
            "password": password,
            "connect_timeout": timeout,
            "send_receive_timeout": timeout,
        }
        self._client: object | None = None

    def _get_client(self) -> object:
        if self._client is None:
            from clickhouse_driver import Client

            self._client = Client(**self._conn_args)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()  # type: ignore[attr-defined]
            finally:
                self._client = None

    def read(self, now: float | None = None) -> FreshnessSnapshot:
        """Query once. Never raises: an unreachable server gives ``ok=False``. A missing table
        is logged and left out (the projector may not have migrated yet)."""
        taken_at = time.time() if now is None else now
        client = self._get_client()
        try:
            client.execute("SELECT 1")  # type: ignore[attr-defined]
        except Exception as exc:
            log.warning("freshness: ClickHouse unreachable: %s", exc)
            self.close()
            return FreshnessSnapshot(taken_at, False, error=str(exc))
        newest: dict[str, float] = {}
        for table, column in self.tables:
            try:
                rows = client.execute(  # type: ignore[attr-defined]
                    f"SELECT toUnixTimestamp(max({column})), count() FROM {self.database}.{table}"
                )
            except Exception as exc:
                log.info("freshness: cannot read %s.%s: %s", self.database, table, exc)
                continue
            ts, count = rows[0]
            if count:
                newest[table] = float(ts)
        return FreshnessSnapshot(taken_at, True, newest)


class FreshnessCollector:
    """Renders the latest :class:`FreshnessSnapshot`; freshness is computed at scrape time."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._snapshot: FreshnessSnapshot | None = None
        self._clock = clock

    def update(self, snapshot: FreshnessSnapshot) -> None:
        self._snapshot = snapshot

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        up = GaugeMetricFamily(
            "ticketstream_clickhouse_up", "1 when the last freshness query reached ClickHouse"
        )
        up.add_metric([], 1.0 if snap is not None and snap.ok else 0.0)
        yield up
        newest = GaugeMetricFamily(
            "ticketstream_projection_newest_event_timestamp_seconds",
            "Event time (unix seconds) of the newest row in the projection table",
            labels=["table"],
        )
        fresh = GaugeMetricFamily(
            "ticketstream_projection_freshness_seconds",
            "Seconds between now and the newest event time in the projection table",
            labels=["table"],
        )
        if snap is not None and snap.ok:
            now = self._clock()
            for table, ts in sorted(snap.newest.items()):
                newest.add_metric([table], ts)
                fresh.add_metric([table], max(0.0, now - ts))
        yield newest
        yield fresh
