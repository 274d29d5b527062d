"""Agent: SetAgentPresence/Capacity/Skills → agent events (support.agents.events.v1).

Table ``agents`` (agent id → (presence, version)), co-partitioned with support.agents.commands.v1.
"""

from __future__ import annotations

from typing import Any

from schemas.records import SetAgentCapacity, SetAgentPresence, SetAgentSkills
from streams.app import agent_commands_topic, agent_events_topic, app
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
    store(agents, command.agent_id, (presence, version))
