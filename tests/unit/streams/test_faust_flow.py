"""streams.faust_flow: a resume while the flow runs keeps what the agents' queues hold; the
resume that ends a suspension still drops what was queued before it (mode's own objects)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams import faust_flow


@pytest.fixture
def patched() -> Iterator[None]:
    before = FlowControlEvent.resume
    faust_flow.install()
    yield
    FlowControlEvent.resume = before  # type: ignore[method-assign]


@pytest.fixture
def unpatched() -> Iterator[None]:
    before = FlowControlEvent.resume
    FlowControlEvent.resume = faust_flow._resume  # type: ignore[method-assign]
    yield
    FlowControlEvent.resume = before  # type: ignore[method-assign]


def _flow_and_queue() -> tuple[FlowControlEvent, FlowControlQueue[str]]:
    flow = FlowControlEvent(initially_suspended=False)
    # as Faust makes an agent's queue: cleared when the flow resumes
    return flow, FlowControlQueue(maxsize=10, flow_control=flow, clear_on_resume=True)


def _drain(queue: FlowControlQueue[str]) -> list[str]:
    return [queue.get_nowait() for _ in range(queue.qsize())]


def test_mode_alone_clears_the_queues_on_every_resume(unpatched: None) -> None:
    """What the patch is for: mode empties the queues even when the flow was not suspended."""

    async def run() -> list[str]:
        flow, queue = _flow_and_queue()
        flow.suspend()
        flow.resume()  # the no-recovery branch of Faust's recovery
        queue.force_put_nowait("fetched after the first resume")
        flow.resume()  # on_recovery_completed
        return _drain(queue)

    assert asyncio.run(run()) == []


def test_a_second_resume_keeps_the_records_fetched_since_the_first(patched: None) -> None:
    async def run() -> list[str]:
        flow, queue = _flow_and_queue()
        flow.suspend()
        flow.resume()
        queue.force_put_nowait("fetched after the first resume")
        flow.resume()
        assert not flow._suspend.is_set() and flow._resume.is_set()
        return _drain(queue)

    assert asyncio.run(run()) == ["fetched after the first resume"]


def test_the_resume_after_a_suspension_still_drops_what_was_queued_before(
    patched: None,
) -> None:
    async def run() -> list[str]:
        flow, queue = _flow_and_queue()
        queue.force_put_nowait("queued before the rebalance")
        flow.suspend()
        flow.resume()
        assert not flow._suspend.is_set() and flow._resume.is_set()
        return _drain(queue)

    assert asyncio.run(run()) == []
