"""Agent: SetAgentPresence/Capacity/Skills → agent events (support.agents.events.v1), each also
sent straight to the router's feed (support.routing.feed.v1).

Straight to the feed, not through ``forward_routing_feed``: that agent reads every ticket and
SLA event, so under a backlog an agent coming online waited behind thousands of them before
the router saw it (tens of seconds at 10,000 waiting tickets). An agent's events still reach
the feed in order (one agent, one partition of the commands topic, one feed partition).

Table ``agents`` (agent id → (presence, version)), co-partitioned with support.agents.commands.v1.
"""

from __future__ import annotations

from typing import Any

from schemas import codec
from schemas.records import SetAgentCapacity, SetAgentPresence, SetAgentSkills
from streams.app import agent_commands_topic, agent_events_topic, app, routing_feed_topic
from streams.domain.staffing import decide_agent
from streams.runtime import decode_or_park, each_event, load, now, park, send, store, table

agents = table("agents", "agent id → (presence, version)")


@app.agent(agent_commands_topic, concurrency=1)
async def handle_agent_commands(stream: Any) -> None:
    await each_event(stream, _handle)


async def _handle(event: Any) -> None:
    command = await decode_or_park(event, (SetAgentPresence, SetAgentCapacity, SetAgentSkills))
    if command is None:
        return
    presence, version = load(agents, command.agent_id, (None, 0))
    try:
        events = decide_agent(presence, version, command, now())
    except ValueError as exc:
        await park(event, exc)
        return
    for ev in events:
        presence = getattr(ev, "presence", presence)
        version = ev.envelope.aggregate_version
        await send(agent_events_topic, command.agent_id, ev)
        await routing_feed_topic.send(key=b"routing", value=codec.encode(ev))
    store(agents, command.agent_id, (presence, version))
