"""streams.fanout.hold_until: a batch whose handler left its writes in flight is acked only once
they are acknowledged — the batch's own ack, right after its handlers, is then not the last."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from faust.types.tuples import TP, ConsumerMessage

from streams import fanout


class Consumer:
    """What Faust's consumer is told: the offsets that are safe to commit."""

    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, message: Any) -> bool:
        self.acked.append(message.offset)
        return True


def _batch(offsets: range) -> list[Any]:
    tp = TP("support.channel.messages.v1", 0)
    message = ConsumerMessage
    return [
        SimpleNamespace(message=message(tp.topic, 0, o, 0.0, 0, None, b"k", b"v", None, tp=tp))
        for o in offsets
    ]


def _app(consumer: Consumer, out: list[int]) -> Any:
    sensors = SimpleNamespace(on_message_out=lambda tp, offset, message: out.append(offset))
    return SimpleNamespace(consumer=consumer, sensors=sensors)


def test_records_stay_unacked_until_the_writes_are_acknowledged() -> None:
    async def run() -> tuple[list[int], list[int], list[int], list[int]]:
        consumer, out = Consumer(), []
        events = _batch(range(10, 13))
        for event in events:  # as the topic agent's queue hands them over: one reference each
            event.message.incref()
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fanout.hold_until([written], events, _app(consumer, out))
        for event in events:  # take_batches' own ack after the handlers
            event.message.ack(consumer)
        await asyncio.sleep(0)
        before = list(consumer.acked), list(out)
        written.set_result(None)
        for _ in range(3):
            await asyncio.sleep(0)
        return *before, consumer.acked, out

    acked_before, out_before, acked_after, out_after = asyncio.run(run())
    assert acked_before == [] and out_before == []
    assert acked_after == [10, 11, 12] and out_after == [10, 11, 12]


def test_records_whose_writes_fail_are_never_acked() -> None:
    """(The worker exits when a write fails: runtime.UnitOfWork.commit_or_exit.)"""

    async def run() -> list[int]:
        consumer = Consumer()
        events = _batch(range(3))
        for event in events:
            event.message.incref()
        failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fanout.hold_until([failed], events, _app(consumer, []))
        for event in events:
            event.message.ack(consumer)
        failed.set_exception(RuntimeError("produce failed"))
        for _ in range(3):
            await asyncio.sleep(0)
        for held in list(fanout._HOLDING):
            if held.done():
                held.exception()  # retrieved: the test's loop closes cleanly
        return consumer.acked

    assert asyncio.run(run()) == []
