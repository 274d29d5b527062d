"""A kafka-python 3.0 consumer-group fix: a join cut short by ``poll``'s timeout is finished.

kafka-python 3.0 runs a group (re-)join as a task on its IO thread. ``poll(timeout_ms)`` waits
for that task only until its timeout, leaves the task in flight and, on the next ``poll``,
re-awaits it — but only while ``need_rejoin()`` is true (``ConsumerCoordinator.poll`` and
``join_group_async`` both check it first). For a rejoin the consumer itself asks for because
its metadata changed (a subscribed topic's partitions appear: every group that subscribes to
topics created moments before) or its subscription changed, ``need_rejoin()`` compares
snapshots, and the leader's assignment inside the task makes them equal again. If ``poll``'s
timeout ends after that assignment and before the SyncGroup answer, ``need_rejoin()`` is false
from then on: the finished join is never taken up. The consumer keeps no partitions, fetches
nothing, and its heartbeats stay disabled (the join turned them off), so after
``session_timeout_ms`` the coordinator drops the member and its ``LeaveGroup`` at close fails
with ``UnknownMemberIdError``. Nothing is logged; it lasts until the process restarts.

Seen as "the kafka-python 3.0 group stall" in the projector's tests and benchmarks (the
ClickHouse-outage test waited for an insert that never came), and reproduced with
``poll(timeout_ms=0)`` through such a rejoin: 8 of 10 consumers never got their partitions
(``tests/integration/projections/test_kafkajoin.py``). The projector polls with short
timeouts (down to 0 ms when a batch is due), so it hit this often.

:func:`install` makes the consumer's coordinator report a rejoin as needed while a join task it
started is still unfinished or untaken, so the next ``poll`` completes it (a finished task is
taken up by one more JoinGroup/SyncGroup round, as kafka-python does after any interrupted
join). It changes only that answer; every other path is kafka-python's own.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("ticketstream.projector")


def install(consumer: Any) -> bool:
    """Patch ``consumer``'s group coordinator (kafka-python 3.0.x); False if not applicable."""
    import kafka

    coordinator = getattr(consumer, "_coordinator", None)
    version = getattr(kafka, "__version__", "")
    if (
        coordinator is None
        or not version.startswith("3.0.")
        or not hasattr(coordinator, "_join_task")
        or "need_rejoin" in vars(coordinator)
    ):
        return False
    original = coordinator.need_rejoin

    def need_rejoin() -> bool:
        return coordinator._join_task is not None or bool(original())

    coordinator.need_rejoin = need_rejoin
    return True
