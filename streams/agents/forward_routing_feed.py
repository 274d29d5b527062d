"""Handler: forward the ticket and SLA events routing needs to the single-partition routing feed
(support.routing.feed.v1), unchanged. Other events are skipped; undecodable ones parked. Agent
events are not forwarded: ``handle_agent_commands`` sends them to the feed itself, so they do
not queue behind this handler's backlog of ticket and SLA events (and are not sent twice).

Runs on the batches of support.tickets.events.v1's one agent (with ``track_sla_clocks``) and of
support.sla.events.v1's (``streams.fanout``); a ticket event is forwarded before the SLA events
it causes are even produced."""

from __future__ import annotations

from typing import Any

from streams.app import routing_feed_topic, sla_events_topic, ticket_events_topic
from streams.domain.router import FORWARDED_EVENT_TYPES
from streams.fanout import each_record, on_batches
from streams.runtime import decode_or_park


async def _handle(event: Any) -> None:
    record = await decode_or_park(event)
    if isinstance(record, FORWARDED_EVENT_TYPES):
        await routing_feed_topic.send(key=b"routing", value=event.message.value)


forward_routing_feed = each_record(_handle)
for _topic in (ticket_events_topic, sla_events_topic):
    on_batches(_topic, "forward_routing_feed", forward_routing_feed)
