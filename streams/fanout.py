"""One Faust agent per source topic, running the handlers of every agent module that reads it.

Several modules read the same topic (channel messages: threading and customer identification;
ticket events: SLA clocks and the routing feed). Each used to be its own agent, so Faust
delivered every record once per agent (its per-record delivery costs as much CPU as deciding the
record) and kept the record unacknowledged until every agent had acked its copy. On a
rebalance that could hold a worker in ``Consumer.wait_empty`` for about a minute: Faust's
compiled stream iterator (faust/_cython/streams.pyx ``_prepare_event``, faust-streaming 0.15)
drops a copy from an old consumer generation without releasing it, while the pure-Python
iterator acks it, so a record whose other copy was already taken and acked stays unacked with
one reference left. With one stream per topic a record is either taken (tracked, then acked
after its batch) or dropped before it is tracked: nothing is left to wait for.

A module registers ``on_batches(topic, handle, size=…, within=…)``; the first registration
for a topic makes its agent (``concurrency=1``), which takes batches of up to the largest
``size`` asked for, waiting at most the shortest ``within`` (``take_batches``: Faust's
``take_events`` without its per-record stream iteration), and awaits each handler on the
batch in registration order (module import order) before the batch is acked. A handler may
return a future (its writes still in flight): each record of the batch then keeps a reference
until every such future has ended (``hold_until``), so it is acked only then — no offset
commit and no rebalance passes it — while the agent takes and handles the next batch. A
handler deals with its own bad records (dead-letters them): an exception out of a handler
stops the agent, as it did when the handler owned the agent. ``each_record`` adapts a
per-record handler.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import faust
from faust.streams import _current_event

# returns None, or a future the batch's acks wait for (see the module docstring)
BatchHandler = Callable[[Sequence[faust.EventT[Any]]], Awaitable["asyncio.Future[None] | None"]]
RecordHandler = Callable[[faust.EventT[Any]], Awaitable[None]]
DEFAULT_SIZE, DEFAULT_WITHIN = 500, 0.05  # records per batch, seconds to wait for a full one


class TopicAgent:
    """The agent of one topic and the handlers it runs on each batch."""

    def __init__(self, topic: faust.TopicT) -> None:
        self.topic = topic
        self.handlers: list[tuple[str, BatchHandler]] = []
        self.size: int | None = None
        self.within: float | None = None
        from streams.app import app  # at registration: streams.app imports the agent modules

        name = f"{topic.get_topic_name()}.handlers"
        self.agent = app.agent(topic, name=name, concurrency=1)(self._run)

    def add(self, label: str, handle: BatchHandler, size: int | None, within: float | None) -> None:
        if any(existing == label for existing, _ in self.handlers):
            raise ValueError(f"{label} is already registered on {self.topic.get_topic_name()}")
        self.handlers.append((label, handle))
        if size is not None:
            self.size = max(self.size or 0, size)
        if within is not None:
            self.within = within if self.within is None else min(self.within, within)

    async def _run(self, stream: Any) -> None:
        size, within = self.size or DEFAULT_SIZE, self.within or DEFAULT_WITHIN
        async for events in take_batches(stream, size, within):
            settling = []
            for _, handle in self.handlers:
                pending = await handle(events)
                if pending is not None:
                    settling.append(pending)
            if settling:
                hold_until(settling, events, stream.app)


_HOLDING: set[asyncio.Future[None]] = set()  # acks waiting for their batch's writes (kept alive)


def hold_until(settling: list[asyncio.Future[None]], events: Sequence[Any], app: Any) -> None:
    """Keep ``events``' records unacked until every future of ``settling`` has ended: an extra
    reference on each, released then (the batch's own ack, right after its handlers, is then
    not the last). A future that fails has ended the process (``runtime.UnitOfWork``): its
    records are never acked, and are read again after the restart."""
    messages = [event.message for event in events]
    for message in messages:
        message.incref()
    held = asyncio.ensure_future(_release(settling, messages, app))
    _HOLDING.add(held)
    held.add_done_callback(_HOLDING.discard)


async def _release(settling: list[asyncio.Future[None]], messages: list[Any], app: Any) -> None:
    await asyncio.gather(*settling)
    consumer, on_message_out = app.consumer, app.sensors.on_message_out
    for message in messages:
        if message.ack(consumer):
            on_message_out(message.tp, message.offset, message)


_POLL = 0.002  # s between looks at an agent's queue while a batch waits to fill


async def take_batches(stream: Any, size: int, within: float) -> AsyncIterator[list[Any]]:
    """Batches of up to ``size`` of ``stream``'s events, or what came in ``within`` seconds
    after the first: ``Stream.take_events`` without its per-record stream iteration.

    Faust's iterator takes one record per event-loop turn (an ``await sleep(0)``, the queue's
    ``get`` and a buffering processor per record) and its passive drainer iterates again: ~60 µs
    a record in this worker. Here a batch is taken from the agent's queue at once, and each
    record gets what Faust's compiled iterator gives it (``faust/_cython/streams.pyx``
    ``_prepare_event``/``after``): a record of an older consumer generation, or taken while
    the flow is stopped (a rebalance), is dropped untracked; the others are tracked (so a
    rebalance waits for their acks), the sensors are told, and after the batch's handlers each
    is acked, as ``take_events`` acks its batch."""
    app = stream.app
    consumer = app.consumer
    channel = stream.channel
    queue = channel.queue
    flow = app.flow_control
    acking = app.topics.acking_topics
    track = consumer.unacked.add
    sensors = app.sensors
    on_message_in, on_message_out = sensors.on_message_in, sensors.on_message_out
    on_event_in, on_event_out = sensors.on_stream_event_in, sensors.on_stream_event_out
    loop = asyncio.get_running_loop()
    started = await stream.maybe_start()
    try:
        while not stream.should_stop:
            try:
                items = [await channel.__anext__()]
            except StopAsyncIteration:  # the channel is closing (the worker stops)
                return
            deadline = loop.time() + within
            while len(items) < size:
                if queue._errors:
                    raise queue._errors.popleft()
                n = min(queue.qsize(), size - len(items))
                if n:
                    items.extend([queue.get_nowait() for _ in range(n)])
                    continue
                left = deadline - loop.time()
                if left <= 0:
                    break
                await asyncio.sleep(min(left, _POLL))
            generation, active = app.consumer_generation_id, flow.is_active()
            events: list[Any] = []
            states: list[Any] = []
            for event in items:
                message = event.message
                if not active or message.generation_id != generation:
                    continue  # fetched before a rebalance: Faust seeks back to the committed offset
                tp, offset = message.tp, message.offset
                if message.topic in acking and not message.tracked:
                    message.tracked = True
                    track(message)
                    on_message_in(tp, offset, message)
                states.append(on_event_in(tp, offset, stream, event))
                events.append(event)
            if not events:
                continue
            try:
                yield events
            finally:
                for event, state in zip(events, states, strict=True):
                    message = event.message
                    last = event.ack()
                    on_event_out(message.tp, message.offset, stream, event, state)
                    if last:
                        on_message_out(message.tp, message.offset, message)
    finally:
        stream._channel_stop_iteration(channel)
        if started:
            await stream.stop()
            stream.service_reset()


_AGENTS: dict[str, TopicAgent] = {}


def on_batches(
    topic: faust.TopicT,
    label: str,
    handle: BatchHandler,
    *,
    size: int | None = None,
    within: float | None = None,
) -> TopicAgent:
    """Run ``handle`` on every batch of ``topic``'s records (see the module docstring)."""
    name = topic.get_topic_name()
    agent = _AGENTS.get(name)
    if agent is None:
        agent = _AGENTS[name] = TopicAgent(topic)
    agent.add(label, handle, size, within)
    return agent


def each_record(handle: RecordHandler) -> BatchHandler:
    """A batch handler awaiting ``handle`` on each record in order, with the record as Faust's
    current event (tables pick their partition from it); a record it fails on is dead-lettered
    with its position and the rest of the batch carries on."""

    from streams.runtime import park  # at registration (see TopicAgent)

    async def run(events: Sequence[faust.EventT[Any]]) -> None:
        for event in events:
            _current_event.set(weakref.ref(event))
            try:
                await handle(event)
            except Exception as exc:  # a bug or bad data: park the record, keep the worker up
                await park(event, exc)

    return run


def agents() -> dict[str, TopicAgent]:
    """The topic agents registered so far, by topic name."""
    return dict(_AGENTS)
