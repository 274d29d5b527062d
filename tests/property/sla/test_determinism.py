"""One event log processed live (ticks every few seconds of wall clock) and replayed on the
simulated clock (ticks derived from event time) yields identical SLA events: ids, times, order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import Priority, TicketStatus
from streams.domain.sla.clock import SlaState, fire_due, on_event
from tests.unit.sla import helpers as h

S = TicketStatus
KINDS = ["message", "reply", "bot", "note", "pending", "open", "hold", "solve", "prio", "assign"]


def _event(kind: str, at: Any, st_now: S) -> tuple[Any, S]:
    if kind == "message":
        return h.message(at), st_now
    if kind in ("reply", "bot"):
        return h.reply(at, h.AGENT if kind == "reply" else h.BOT), st_now
    if kind == "note":
        return h.note(at), st_now
    if kind == "prio":
        return h.priority(at, Priority.NORMAL, Priority.URGENT), st_now
    if kind == "assign":
        return h.assigned(at), st_now
    to = {"pending": S.PENDING, "open": S.OPEN, "hold": S.ON_HOLD, "solve": S.SOLVED}[kind]
    return h.status(at, st_now, to), to


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(1, 6 * 3600)), max_size=15))
def test_live_and_replay_emit_identical_sla_events(steps: list[tuple[str, int]]) -> None:
    ps = h.policies()
    t = h.bkk(2026, 11, 23, 8, 17)
    log: list[Any] = [h.opened(t, Priority.NORMAL)]
    status = S.NEW
    for kind, gap in steps:
        t += timedelta(seconds=gap)
        e, status = _event(kind, t, status)
        log.append(e)
    end = t + timedelta(days=6)

    def process(tick_every: int | None) -> list[Any]:
        state: SlaState | None = None
        out: list[Any] = []
        clock = log[0].envelope.occurred_at
        for e in log:
            at = e.envelope.occurred_at
            while tick_every and state is not None and clock + timedelta(seconds=tick_every) < at:
                clock += timedelta(seconds=tick_every)  # the live worker's tick stream
                res = fire_due(state, clock, ps)
                state, out = res.state, out + list(res.events)
            res = on_event(state, e, ps)
            state, out = res.state, out + list(res.events)
        assert state is not None
        res = fire_due(state, end, ps)
        return out + list(res.events)

    live, replay = process(tick_every=97), process(tick_every=None)
    assert live == replay
    assert len({e.envelope.event_id for e in live}) == len(live)
