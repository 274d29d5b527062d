"""Agent: SLA ticks (support.sla.ticks.v1, one per partition per second) → fire what is due.

A tick on partition ``p`` sweeps partition ``p`` of the due-time index, so the work is the
number of due timers, not the number active. Warnings, breaches and auto-close commands carry ids
derived from their deadline. Order per tick (``streams.sla.firing``): fire and send (wait for the
broker's acks), then index the next deadlines and save the states, then forget the swept
buckets: a kill -9 anywhere re-fires the same events at the next tick and loses no timer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from schemas.records import SlaTick
from streams.agents.sla_track_clocks import SLA_STATE_LOCK, send_all, sla
from streams.agents.sla_update_policies import sla_policies
from streams.app import app, sla_ticks_topic
from streams.runtime import decode_or_park, now
from streams.sla import metrics, policies
from streams.sla.firing import commit_tick, plan_tick
from streams.sla.settings import SlaSettings

_wall = SlaSettings().sla_clock == "wall"


@app.agent(sla_ticks_topic, concurrency=1)
async def fire_sla_timers(stream: Any) -> None:
    async for event in stream.events():
        tick = await decode_or_park(event, SlaTick)
        if tick is None:
            continue
        async with SLA_STATE_LOCK:
            started = time.perf_counter()
            plan = plan_tick(sla, event.message.partition, tick.now, policies.current(sla_policies))
            # One wait for the acks of the whole tick, not one per fired ticket (that serialises a
            # tick on the broker's ack latency + linger); still nothing is committed before them.
            futures = []
            for f in plan.fired:
                futures += await send_all(f.ticket_id, f.outcome.events, f.outcome.commands)
            if futures:
                await asyncio.gather(*futures)
            fired_at = now() if _wall else tick.now
            for f in plan.fired:
                for d in f.due:
                    metrics.FIRING_LAG.observe(max(0.0, (fired_at - d).total_seconds()))
                metrics.count_transition(f.before, f.outcome.state, f.outcome.events)
            commit_tick(sla, plan)
            metrics.TICK_SECONDS.observe(time.perf_counter() - started)
