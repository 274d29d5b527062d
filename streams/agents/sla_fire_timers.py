"""Agent: SLA ticks (support.sla.ticks.v1, one per partition per second) → fire what is due.

A tick on partition ``p`` sweeps partition ``p`` of the due-time index, so the work is the
number of due timers, not the number active. Warnings, breaches and auto-close commands carry ids
derived from their deadline. Order per tick: fire and send (wait for acks), then index the next
deadlines and save the states, then forget the swept buckets: a kill -9 anywhere re-fires the
same events at the next tick and loses no timer."""

from __future__ import annotations

import time
from typing import Any

from schemas.records import SlaTick
from streams.agents.sla_track_clocks import emit, sla
from streams.agents.sla_update_policies import sla_policies
from streams.app import app, sla_ticks_topic
from streams.domain.sla.clock import deadlines, fire_due, next_due
from streams.runtime import decode_or_park, load, now, store
from streams.sla import metrics, policies
from streams.sla.index import DueIndex
from streams.sla.settings import SlaSettings

_wall = SlaSettings().sla_clock == "wall"  # type: ignore[call-arg]


@app.agent(sla_ticks_topic, concurrency=1)
async def fire_sla_timers(stream: Any) -> None:
    index = DueIndex(sla)
    async for event in stream.events():
        tick = await decode_or_park(event, SlaTick)
        if tick is None:
            continue
        started = time.perf_counter()
        partition = event.message.partition
        ps = policies.current(sla_policies)
        sweep = index.due(partition, tick.now)
        for ticket_id in sweep.ticket_ids:
            before = load(sla, ticket_id, None)
            if before is None:
                continue
            due = [d.due_at for d in deadlines(before) if d.due_at <= tick.now]
            if not due:
                continue  # stale index entry: the deadline moved
            outcome = fire_due(before, tick.now, ps)
            assert outcome.state is not None
            await emit(ticket_id, outcome.events, outcome.commands)
            fired_at = now() if _wall else tick.now
            nxt = next_due(outcome.state)
            if nxt is not None:
                index.add(partition, ticket_id, nxt)
            store(sla, ticket_id, outcome.state)
            for d in due:
                metrics.FIRING_LAG.observe(max(0.0, (fired_at - d).total_seconds()))
            metrics.count_transition(before, outcome.state, outcome.events)
        index.done(sweep)  # only now forget the swept buckets
        metrics.TICK_SECONDS.observe(time.perf_counter() - started)
