"""One tick without Kafka: fire what is due, keep what is due later in the swept second."""

from __future__ import annotations

import pickle
from datetime import timedelta

from schemas.records import SlaBreached, SlaMetric
from streams.domain.sla.clock import next_due
from streams.sla.firing import commit_tick, plan_tick
from streams.sla.index import DueIndex
from tests.unit.sla.helpers import bkk, opened, policies, run


def test_tick_fires_due_and_defers_a_deadline_later_in_the_same_second() -> None:
    ps = policies()
    # opened Mon 09:00:00.600 → warning 75 % due 10:30:00.600 (ms kept inside business hours)
    state, _ = run(ps, [opened(bkk(2026, 11, 23, 9) + timedelta(milliseconds=600))])
    assert state is not None
    table: dict[bytes, bytes] = {b"T-1": pickle.dumps(state)}
    due = next_due(state)
    assert due == bkk(2026, 11, 23, 10, 30) + timedelta(milliseconds=600)
    DueIndex(table).add(0, "T-1", due)
    early = plan_tick(table, 0, bkk(2026, 11, 23, 10, 30) + timedelta(milliseconds=300), ps)
    assert not early.fired and early.deferred == [("T-1", due)]  # kept, not dropped
    commit_tick(table, early)
    plan = plan_tick(table, 0, bkk(2026, 11, 23, 10, 30, 1), ps)  # the next tick fires it
    assert [f.ticket_id for f in plan.fired] == ["T-1"]
    commit_tick(table, plan)
    # ...and the breach (11:00:00.600) is indexed for later, none fired twice
    breach_at = bkk(2026, 11, 23, 11, 0, 1)
    late = plan_tick(table, 0, breach_at, ps)
    events = [e for f in late.fired for e in f.outcome.events if isinstance(e, SlaBreached)]
    assert [(e.metric, e.envelope.occurred_at) for e in events] == [
        (SlaMetric.FIRST_REPLY_TIME, bkk(2026, 11, 23, 11) + timedelta(milliseconds=600))
    ]
