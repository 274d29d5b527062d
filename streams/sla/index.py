"""Due-time index: a timing wheel of one-second buckets per partition, in a changelog table.

Keys (bytes): ``b"b:<partition>:<epoch second>"`` → newline-joined ticket ids due in that
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
from datetime import datetime

MAX_SWEEP_SECONDS = 86_400  # a tick after a long outage sweeps at most a day; the next continues


def _bucket(partition: int, second: int) -> bytes:
    return f"b:{partition}:{second}".encode()


def _cursor(partition: int) -> bytes:
    return f"c:{partition}".encode()


class DueIndex:
    """The index over any bytes mapping (a Faust table, a rocksdict ``Rdict``, a dict)."""

    def __init__(self, table: MutableMapping[bytes, bytes]) -> None:
        self.table = table

    def add(self, partition: int, ticket_id: str, due: datetime) -> None:
        """Index ``ticket_id`` at ``due`` (a deadline already swept goes to the cursor's second,
        so it fires at the next tick)."""
        second = int(due.timestamp())
        cur = self.table.get(_cursor(partition))
        if cur is not None and cur.startswith(b"s"):  # swept up to there: fire at the next tick
            second = max(second, int(cur[1:]))
        elif cur is None or second < int(cur):  # nothing swept yet: start at the earliest
            self.table[_cursor(partition)] = str(second).encode()
        key = _bucket(partition, second)
        old = self.table.get(key)
        entry = ticket_id.encode()
        self.table[key] = entry if old is None else old + b"\n" + entry

    def take_due(self, partition: int, now: datetime) -> list[str]:
        """Ticket ids indexed at seconds ``<= now`` (deduplicated, in due order); removes their
        buckets and advances the cursor."""
        cur_raw = self.table.get(_cursor(partition))
        if cur_raw is None:
            return []
        cur, end = int(cur_raw.removeprefix(b"s")), int(now.timestamp())
        end = min(end, cur + MAX_SWEEP_SECONDS)
        out: dict[str, None] = {}
        for second in range(cur, end + 1):
            key = _bucket(partition, second)
            raw = self.table.get(key)
            if raw is not None:
                out.update(dict.fromkeys(raw.decode().split("\n")))
                del self.table[key]
        if end + 1 > cur:  # "s" marks a cursor that has swept (it only moves forward now)
            self.table[_cursor(partition)] = b"s" + str(end + 1).encode()
        return list(out)
