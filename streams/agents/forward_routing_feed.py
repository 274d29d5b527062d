"""Agent: forward the ticket and SLA events routing needs to the single-partition routing feed
(support.routing.feed.v1), unchanged. Other events are skipped; undecodable ones parked. Agent
events are not forwarded: ``handle_agent_commands`` sends them to the feed itself, so they do
not queue behind this agent's backlog of ticket and SLA events (and are not sent twice)."""

from __future__ import annotations

from typing import Any

from streams.app import app, routing_feed_topic, routing_sources_topic
from streams.domain.router import FORWARDED_EVENT_TYPES
from streams.runtime import decode_or_park, each_event


@app.agent(routing_sources_topic, concurrency=1)
async def forward_routing_feed(stream: Any) -> None:
    await each_event(stream, _handle)


async def _handle(event: Any) -> None:
    record = await decode_or_park(event)
    if isinstance(record, FORWARDED_EVENT_TYPES):
        await routing_feed_topic.send(key=b"routing", value=event.message.value)
