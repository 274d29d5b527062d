"""Re-read from the start a partition this group never committed, whenever Faust seeks back.

Faust drops records it has already fetched whenever the flow stops — on every rebalance it
clears the agents' queues, and ``Consumer.getmany`` discards the rest of a fetch when the flow
stops or the generation changes — and relies on seeking each partition back to its committed
offset before it resumes (``Consumer.perform_seek`` → ``seek_to_committed``). aiokafka's
``seek_to_committed`` only seeks when the committed offset is above 0 (``if offset and offset >
0``), so a partition with nothing committed yet keeps the fetcher's position, past the records
Faust dropped: they are never handled. It happens at the start of a partition's life in a
group — a second worker joining while the first records arrive — and was seen as channel
messages never threaded (the first ~60 records of two partitions, in ~1 of 4 runs of the
two-worker kill -9 test, faust-streaming 0.15.3 with aiokafka 0.14).

With ``consumer_auto_offset_reset="earliest"`` the committed position of such a partition is
its beginning, so that is where it is sought: at-least-once again (what is handled twice is
dropped downstream by its deterministic ids). Table changelog partitions are left alone: Faust
positions those itself from the offsets its stores keep.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

log = logging.getLogger(__name__)
_seek_to_committed = AIOKafkaConsumerThread.seek_to_committed


async def seek_to_committed(self: Any) -> Mapping[Any, int]:
    committed = await _seek_to_committed(self)
    if self.app.conf.consumer_auto_offset_reset != "earliest":
        return committed
    changelogs = set(self.app.tables.changelog_topics)
    never = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
    if never:
        log.info("re-reading from the beginning (nothing committed yet): %s",
                 ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in never)))  # fmt: skip
        await self.seek_to_beginning(*never)
    return committed


def install() -> None:
    """Patch Faust's aiokafka consumer (idempotent)."""
    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
