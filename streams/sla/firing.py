"""One tick of one partition, without Kafka: plan (sweep the index, fire what is due), then, once
the caller has sent the events and the broker acknowledged them, commit (index the next
deadlines, save the states, forget the swept buckets). The agent and the benchmark share it."""

from __future__ import annotations

import pickle
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime

from streams.domain.sla.clock import Outcome, SlaState, deadlines, fire_due, next_due
from streams.domain.sla.policy import PolicySet
from streams.sla.index import DueIndex, Sweep


@dataclass(slots=True)
class Fired:
    ticket_id: str
    before: SlaState
    outcome: Outcome
    due: list[datetime]  # the deadlines fired (for the lag histogram)


@dataclass(slots=True)
class Plan:
    sweep: Sweep
    fired: list[Fired] = field(default_factory=list)
    deferred: list[tuple[str, datetime]] = field(default_factory=list)  # due later this second


def plan_tick(
    table: MutableMapping[bytes, bytes], partition: int, now: datetime, policies: PolicySet
) -> Plan:
    """Sweep ``partition`` up to ``now`` and fire every due deadline (nothing written yet)."""
    sweep = DueIndex(table).due(partition, now)
    plan = Plan(sweep)
    for ticket_id in sweep.ticket_ids:
        raw = table.get(ticket_id.encode())
        if raw is None:
            continue
        before: SlaState = pickle.loads(raw)
        due = [d.due_at for d in deadlines(before) if d.due_at <= now]
        if not due:
            nxt = next_due(before)
            if nxt is not None and int(nxt.timestamp()) <= sweep.end:
                plan.deferred.append((ticket_id, nxt))  # later in the swept second: keep it
            continue  # else a stale entry: the deadline moved and is indexed elsewhere
        plan.fired.append(Fired(ticket_id, before, fire_due(before, now, policies), due))
    return plan


def commit_tick(table: MutableMapping[bytes, bytes], plan: Plan) -> None:
    """After the events were sent and acknowledged: index the next deadlines, forget the sweep
    (keeping what is due later in its last second), then save the states."""
    index = DueIndex(table)
    p, end = plan.sweep.partition, plan.sweep.end
    keep = [ticket_id for ticket_id, _ in plan.deferred]
    for f in plan.fired:
        assert f.outcome.state is not None
        nxt = next_due(f.outcome.state)
        if nxt is None:
            continue
        if int(nxt.timestamp()) <= end:
            keep.append(f.ticket_id)  # due later in the swept second
        else:
            index.add(p, f.ticket_id, nxt)
    index.done(plan.sweep, keep)
    for f in plan.fired:
        state = f.outcome.state
        table[f.ticket_id.encode()] = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
