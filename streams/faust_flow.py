"""Faust's flow control empties the agents' queues only when the flow was actually suspended.

``app.flow_control`` (mode's ``FlowControlEvent``) clears every agent queue (Faust creates
them with ``clear_on_resume=True``) on *every* ``resume()``: what a queue held before a
rebalance must not be handled after it. But Faust's recovery resumes the flow twice after a
rebalance that needs no changelog replay (faust-streaming 0.15.3, ``Recovery._restart_recovery``:
"Resuming flow..." in its no-recovery branch, then ``on_recovery_completed`` resumes the
partitions, seeks them to their committed offsets and resumes again). Between the two the
fetcher is running: it hands records to the agents' queues and moves the consumer's read
offsets past them, and the second ``resume()`` threw those records away. Whether the seek
fetched them again depended on a race with the records the fetcher still held (a read offset
already past them drops them as read, and Faust commits over the offsets it never handed on as
a "gap"). Seen as channel messages never threaded: 100–4,000 consecutive records of the
partitions a worker took over, in about 1 run of 5 of the two-worker kill -9 test
(``tests/integration/streams/test_threading_at_scale.py``), every one of them after the
second resume of the takeover. Upstream: faust-streaming/faust#596 (open: gaps in acked
offsets after recovery, from the same clearing); the merged #217 and #253 reordered other
resume-before-seek paths of the recovery, not this one.

The clearing is for records queued before the flow was suspended; a ``resume()`` while the
flow is running has nothing stale to clear: here it leaves the queues alone. Records the seek
fetches again are handed on again: at least once, and the agents drop what they already did
by its deterministic ids.
"""

from __future__ import annotations

from typing import Any

from mode.utils.queues import FlowControlEvent

_resume = FlowControlEvent.resume


def resume(self: Any) -> None:
    """Resume production into the managed queues; empty them only if the flow was suspended."""
    if self._suspend.is_set():
        _resume(self)
    else:  # already running: the queues hold records fetched since the last resume
        self._resume.set()


def install() -> None:
    """Patch mode's ``FlowControlEvent`` (idempotent)."""
    FlowControlEvent.resume = resume  # type: ignore[method-assign]
