"""Due-time index: a timing wheel of one-second buckets per partition, in a changelog table.

Keys (bytes, NUL-prefixed, in the SLA state table): ``b"b:<partition>:<epoch second>"`` → newline-joined ticket ids due in that
second; ``b"c:<partition>"`` → the first second not yet swept (``s``-prefixed once a tick swept). The index lives in a table
co-partitioned with the ticket events: the SLA agent adds a ticket's next deadline while
processing an event of partition ``p`` and the tick agent sweeps partition ``p`` while
processing partition ``p``'s tick, and Faust writes a table's changelog to the partition of the
event being processed (``faust/tables/base.py``, ``Collection.partition_for_key`` returns
``event.message.partition``), so every key of partition ``p`` stays on ``p``'s changelog.

A tick sweeps the seconds from the cursor to ``now``: one lookup per elapsed second plus one
per due entry, independent of how many timers are active. Entries are never removed when a
deadline moves: the firing side checks the ticket's state and skips stale ones.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime

MAX_SWEEP_SECONDS = 86_400  # a tick after a long outage sweeps at most a day; the next continues


_PREFIX = "\x00due:"  # index keys share the SLA state table; ticket ids never start with NUL


def _bucket(partition: int, second: int) -> bytes:
    return f"{_PREFIX}b:{partition}:{second}".encode()


def _cursor(partition: int) -> bytes:
    return f"{_PREFIX}c:{partition}".encode()


@dataclass(frozen=True, slots=True)
class Sweep:
    """What one tick found: the due ticket ids and the swept range ``[start, end]`` (seconds)."""

    partition: int
    ticket_ids: list[str]
    keys: list[bytes]
    end: int


class DueIndex:
    """The index over any bytes mapping (a Faust table, a rocksdict ``Rdict``, a dict).

    Crash safety comes from write order in ONE changelog partition (the index shares the SLA
    state table): callers add a ticket's next deadline before saving its state, and a sweep's
    buckets are deleted only after every due ticket was fired and saved (:meth:`done`). A crash
    in between leaves the bucket in place, so the timer re-fires with the same event ids."""

    def __init__(self, table: MutableMapping[bytes, bytes]) -> None:
        self.table = table

    def add(
        self, partition: int, ticket_id: str, due: datetime, *, not_before: int | None = None
    ) -> None:
        """Index ``ticket_id`` at ``due`` (a deadline already swept goes to the cursor's second,
        so it fires at the next tick; ``not_before`` forces a later bucket second)."""
        second = int(due.timestamp())
        if not_before is not None:
            second = max(second, not_before)
        cur = self.table.get(_cursor(partition))
        if cur is not None and cur.startswith(b"s"):  # swept up to there: fire at the next tick
            second = max(second, int(cur[1:]))
        elif cur is None or second < int(cur):  # nothing swept yet: start at the earliest
            self.table[_cursor(partition)] = str(second).encode()
        key = _bucket(partition, second)
        old = self.table.get(key)
        entry = ticket_id.encode()
        self.table[key] = entry if old is None else old + b"\n" + entry

    def due(self, partition: int, now: datetime) -> Sweep:
        """Ticket ids indexed at seconds ``<= now`` (deduplicated, in due order). Nothing is
        removed until :meth:`done`."""
        cur_raw = self.table.get(_cursor(partition))
        if cur_raw is None:
            return Sweep(partition, [], [], -1)
        cur, end = int(cur_raw.removeprefix(b"s")), int(now.timestamp())
        end = min(end, cur + MAX_SWEEP_SECONDS)
        out: dict[str, None] = {}
        keys = []
        for second in range(cur, end + 1):
            key = _bucket(partition, second)
            raw = self.table.get(key)
            if raw is not None:
                out.update(dict.fromkeys(raw.decode().split("\n")))
                keys.append(key)
        return Sweep(partition, list(out), keys, end if end >= cur else -1)

    def done(self, sweep: Sweep, keep: list[str] | None = None) -> None:
        """Forget the swept buckets; ``keep`` (tickets due later in the swept range's last
        second) stay in that second's bucket and the cursor stays on it ("s" = has swept)."""
        for key in sweep.keys:
            del self.table[key]
        if sweep.end < 0:
            return
        if keep:
            self.table[_bucket(sweep.partition, sweep.end)] = "\n".join(
                dict.fromkeys(keep)
            ).encode()
            self.table[_cursor(sweep.partition)] = b"s" + str(sweep.end).encode()
        else:
            self.table[_cursor(sweep.partition)] = b"s" + str(sweep.end + 1).encode()

    def take_due(self, partition: int, now: datetime) -> list[str]:
        """:meth:`due` then :meth:`done` (for callers with nothing to save in between)."""
        sweep = self.due(partition, now)
        self.done(sweep)
        return sweep.ticket_ids
