"""Faust's fetcher hands each record to the conductor inline (``install``).

Faust's ``Consumer._drain_messages`` wraps every record's hand-over in ``wait_first(callback(
message), suspend_flow.wait())``: four tasks and an ``asyncio.wait`` per record, about half of
what Faust spent per record between two batches. ``_drain_messages_inline`` is that loop
(faust-streaming 0.15.3) with the hand-over's first step run in the loop; see its docstring for
the rebalance checks it keeps. Installed by ``streams.app`` on the version it was copied from
only; a Faust upgrade must re-check it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from faust.transport.consumer import CONSUMER_FETCHING as _CONSUMER_FETCHING
from faust.transport.consumer import Consumer as _FaustConsumer

log = logging.getLogger(__name__)

# a copy of one Faust version's loop: any other version keeps its own (slower, but its own)
DRAIN_CHECKED_VERSIONS = frozenset({"0.15.3"})


class _Resumed:
    """Awaits the rest of a coroutine whose first step already ran (``waiting``: what that
    step yielded to the event loop), so a task can finish it."""

    __slots__ = ("coro", "waiting")

    def __init__(self, coro: Any, waiting: Any) -> None:
        self.coro, self.waiting = coro, waiting

    def __await__(self) -> Any:
        coro, waiting = self.coro, self.waiting
        while True:
            try:
                sent = yield waiting
            except BaseException as exc:  # cancelled (a rebalance): into the coroutine
                try:
                    waiting = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    waiting = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _finish(coro: Any, waiting: Any) -> Any:
    return await _Resumed(coro, waiting)


async def _drain_messages_inline(self: Any, fetcher: Any) -> None:  # pragma: no cover
    """Faust's ``Consumer._drain_messages`` (faust-streaming 0.15.3; the fetcher's loop that
    hands each fetched record to the conductor), with the hand-over run inline.

    Faust wraps every record's hand-over in ``wait_first(callback(message),
    suspend_flow.wait())``: four tasks and an ``asyncio.wait`` per record (~30 µs, about half
    of the ~60-70 µs per record Faust spent between two batches). Almost always the hand-over
    cannot wait (room in the stream buffer, flow not suspended): here its first step runs
    right in this loop, and only a hand-over that does wait is finished as Faust does, in a
    task a rebalance (``suspend_flow``) interrupts. A record is handed over only if its
    consumer generation is still current and the flow is active, checked with no await in
    between (Faust's loop can await a commit or a gap between its checks and the hand-over,
    and a record fetched before a rebalance must not move the read offset past records that
    the seek to the committed offsets will fetch again: they would be dropped as already
    read, and their offsets counted as a gap)."""
    callback = self.callback
    getmany = self.getmany
    consumer_should_stop = self._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    get_read_offset = self._read_offset.__getitem__
    set_read_offset = self._read_offset.__setitem__
    flag_consumer_fetching = _CONSUMER_FETCHING
    set_flag = self.diag.set_flag
    unset_flag = self.diag.unset_flag
    commit_every = self._commit_every
    acks_enabled_for = self.app.topics.acks_enabled_for
    app = self.app
    yield_every = 100
    num_since_yield = 0
    sleep = asyncio.sleep
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            set_flag(flag_consumer_fetching)
            if self._buffered_partitions:  # read each round: Faust's _reset_state replaces it
                # An agent's buffer is under pressure and Faust took its partitions out of the
                # fetch until the agent drains it (on_buffer_drop). Faust would wait up to 1 s
                # for records of the other partitions (or sleep 1 s if there are none) while the
                # agent runs dry: wait 10 ms, so the held partitions are fetched again as soon
                # as they are back (the benchmark's worker idled 0.4-0.8 s of a 4-5 s run here).
                if not self._get_active_partitions():
                    await sleep(0.01)
                    continue
                ait = getmany(timeout=0.01)
            else:
                ait = getmany(timeout=1.0)
            await self.sleep(0)
            if not self.should_stop:
                async for tp, message in ait:
                    offset = message.offset
                    r_offset = get_read_offset(tp)
                    if r_offset is None or offset >= r_offset:
                        gap = offset - (r_offset or 0)
                        if gap > 1 and r_offset and acks_enabled_for(message.topic):
                            await self._add_gap(tp, r_offset + 1, offset)
                        if commit_every is not None and self._n_acked >= commit_every:
                            self._n_acked = 0
                            await self.commit()
                        if (
                            not self.flow_active
                            or message.generation_id != app.consumer_generation_id
                        ):
                            break  # a rebalance began: the next fetch starts after it
                        coro = callback(message)
                        try:
                            waiting = coro.send(None)
                        except StopIteration:
                            pass  # handed over without waiting
                        else:
                            await self.wait_first(_finish(coro, waiting), self.suspend_flow.wait())
                        set_read_offset(tp, offset)
                    num_since_yield += 1
                    if num_since_yield > yield_every:
                        await sleep(0)
                        num_since_yield = 0
                unset_flag(flag_consumer_fetching)
    except self.consumer_stopped_errors:
        if self.transport.app.should_stop:
            log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if self.transport.app.should_stop:
            log.info("Consumer shutting down for user cancel.")
            return
        raise
    except Exception as exc:
        log.exception("Drain messages raised: %r", exc)
        raise
    finally:
        unset_flag(flag_consumer_fetching)


def install() -> None:
    """Replace Faust's fetcher loop on the checked version (idempotent)."""
    if faust.__version__ in DRAIN_CHECKED_VERSIONS:
        _FaustConsumer._drain_messages = _drain_messages_inline  # type: ignore[method-assign]
    else:
        log.warning(
            "faust-streaming %s: the inline record hand-over was checked against %s only; "
            "keeping Faust's own (re-check streams/faust_fetch.py)",
            faust.__version__, ", ".join(sorted(DRAIN_CHECKED_VERSIONS)),
        )  # fmt: skip
