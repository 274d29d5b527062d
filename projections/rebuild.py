"""Rebuild: replay the event topics from the beginning into fresh tables, then swap them in.

1. ``<db>_rebuild`` gets every migration and the replay (no consumer group; nothing committed).
2. When it has reached the end offsets taken at the start, one ``RENAME TABLE`` statement moves
   each live table to ``<db>_old`` and each rebuilt one to ``<db>`` (ClickHouse 18.16 has no
   EXCHANGE TABLES; a multi-table RENAME runs under one global lock, and the live materialized
   view, bound to table names, feeds the rebuilt rollup from then on).
3. A catch-up pass replays what arrived during the rebuild into the swapped-in tables (a live
   projector may have written it to the old ones meanwhile); duplicates collapse by event id.
``<db>_old`` stays until the next rebuild (to compare or roll back by hand).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from projections.engines import Engine
from projections.migrate import DATA_TABLES, migrate
from projections.projector import Projector, ProjectorConfig
from schemas.topics import EVENT_TOPICS


class _NoDeadLetters:
    """Rebuilds do not dead-letter again what the live projector already did."""

    def send(self, *_a: Any, **_k: Any) -> None:
        return None

    def flush(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class RebuildResult:
    events: int
    seconds: float
    rows: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class ProgressBar:
    """A one-line text progress bar on ``out`` (redrawn at most 10 times a second)."""

    def __init__(self, total: int, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.total, self.out, self.width = max(total, 1), out, width
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, done: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        frac = min(1.0, done / self.total)
        fill = int(frac * self.width)
        rate = done / max(now - self.started, 1e-9)
        bar = "#" * fill + "." * (self.width - fill)
        self.out.write(f"\rrebuild [{bar}] {frac:4.0%} {done}/{self.total} events {rate:,.0f}/s")
        self.out.flush()

    def close(self) -> None:
        self.out.write("\n")
        self.out.flush()


def _partitions(consumer: Any, topics: tuple[str, ...]) -> list[Any]:
    from kafka.structs import TopicPartition

    out = []
    for topic in topics:
        for p in sorted(consumer.partitions_for_topic(topic) or ()):
            out.append(TopicPartition(topic, p))
    return out


def _replay(
    projector: Projector, consumer: Any, end: dict[Any, int], tick: Callable[[int], None]
) -> int:
    """Consume until every partition's position reaches ``end``; return records consumed."""
    done = 0
    while any(consumer.position(tp) < off for tp, off in end.items()):
        done += projector.poll_once(0.2)
        tick(done)
    projector.finish()
    return done


def rebuild(
    engine: Engine,
    consumer: Any,
    db: str,
    *,
    batch_rows: int = 20_000,
    topics: tuple[str, ...] = EVENT_TOPICS,
    progress: TextIO | None = sys.stderr,
    store_bodies: bool = False,
) -> RebuildResult:
    """Rebuild ``db`` from ``topics``; ``consumer`` is a kafka-python consumer without a group."""
    started = time.monotonic()
    fresh, old = f"{db}_rebuild", f"{db}_old"
    migrate(engine, db)  # the live database exists (and is current) before anything moves
    engine.execute(f"DROP DATABASE IF EXISTS {fresh}")
    migrate(engine, fresh)
    parts = _partitions(consumer, topics)
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    begin = consumer.beginning_offsets(parts)
    end = consumer.end_offsets(parts)
    total = sum(end[tp] - begin[tp] for tp in parts)
    bar = ProgressBar(total, progress) if progress is not None else None
    config = ProjectorConfig(
        db=fresh, group="rebuild", batch_rows=batch_rows, store_bodies=store_bodies
    )
    projector = Projector(engine, consumer, _NoDeadLetters(), config, commit=False)
    rows_before = 0

    def tick(done: int) -> None:
        if bar is not None:
            bar.update(done)

    n = _replay(projector, consumer, end, tick)
    rows_before = projector.rows_written
    # swap: live → old, rebuilt → live, in one statement
    engine.execute(f"DROP DATABASE IF EXISTS {old}")
    engine.execute(f"CREATE DATABASE {old}")
    renames = ", ".join(f"{db}.{t} TO {old}.{t}, {fresh}.{t} TO {db}.{t}" for t in DATA_TABLES)
    engine.execute(f"RENAME TABLE {renames}")
    engine.execute(f"DROP DATABASE IF EXISTS {fresh}")  # its materialized view and history
    # catch up with what arrived meanwhile, into the swapped-in tables
    live = Projector(
        engine, consumer, _NoDeadLetters(),
        ProjectorConfig(db=db, group="rebuild", batch_rows=batch_rows, store_bodies=store_bodies),
        commit=False,
    )  # fmt: skip
    n += _replay(live, consumer, consumer.end_offsets(parts), lambda d: tick(n + d))
    projector.close()
    live.close()
    if bar is not None:
        bar.update(n, force=True)
        bar.close()
    return RebuildResult(n, time.monotonic() - started, rows_before + live.rows_written)
