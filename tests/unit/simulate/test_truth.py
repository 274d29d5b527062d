"""The simulation's SLA ground truth, worked out by hand (targets in truth.TARGETS:
first reply urgent 30 min, high 1 h, normal 4 h, low 8 h; resolution urgent 4 h, high 8 h,
normal 24 h, low 48 h; all calendar time)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from streams.domain.sla.policy import parse_policies
from ticketstream.simulate.truth import (
    FIRST_REPLY,
    RESOLUTION,
    GroundTruth,
    TicketTimeline,
    breaches_of,
    compute,
    policy_yaml,
)

T0 = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)
END = T0 + 72 * H


def tl(priority: str, **kw: object) -> TicketTimeline:
    return TicketTimeline("T-1", "line", priority, T0, **kw)  # type: ignore[arg-type]


def test_first_reply_one_second_before_the_deadline_is_in_time() -> None:
    assert FIRST_REPLY not in breaches_of(tl("urgent", first_reply_at=T0 + 30 * M - S), END)


def test_first_reply_exactly_at_the_deadline_is_a_breach() -> None:
    # The deadline fires when due <= clock, and an event at the due instant comes after it.
    assert FIRST_REPLY in breaches_of(tl("urgent", first_reply_at=T0 + 30 * M), END)


def test_unanswered_ticket_breaches_only_once_the_run_reaches_the_deadline() -> None:
    normal = tl("normal")
    assert FIRST_REPLY not in breaches_of(normal, T0 + 4 * H - S)
    assert FIRST_REPLY in breaches_of(normal, T0 + 4 * H)


def test_solving_before_any_reply_fulfils_first_reply() -> None:
    t = tl("high", solves=(T0 + 50 * M,))
    assert breaches_of(t, END) == set()


def test_late_first_reply_breaches_first_reply_only() -> None:
    t = tl("high", first_reply_at=T0 + 61 * M, solves=(T0 + 2 * H,))
    assert breaches_of(t, END) == {FIRST_REPLY}


def test_resolution_continues_from_creation_after_a_reopen() -> None:
    # high: 8 h. Solved at 7 h (in time), reopened at 9 h, solved again at 10 h: breached.
    t = tl("high", first_reply_at=T0 + 10 * M, solves=(T0 + 7 * H, T0 + 10 * H),
           reopens=(T0 + 9 * H,))  # fmt: skip
    assert breaches_of(t, END) == {RESOLUTION}


def test_reopen_and_solve_before_the_resolution_deadline_is_in_time() -> None:
    t = tl("high", first_reply_at=T0 + 10 * M, solves=(T0 + 6 * H, T0 + 7 * H + 50 * M),
           reopens=(T0 + 7 * H + 30 * M,))  # fmt: skip
    assert breaches_of(t, END) == set()


def test_reopened_and_open_at_the_end_breaches_when_the_end_passes_the_deadline() -> None:
    # urgent: 4 h. Solved at 1 h, reopened at 2 h, still open when the run ends at 5 h.
    t = tl("urgent", first_reply_at=T0 + 5 * M, solves=(T0 + H,), reopens=(T0 + 2 * H,))
    assert breaches_of(t, T0 + 5 * H) == {RESOLUTION}
    assert breaches_of(t, T0 + 4 * H - S) == set()


def test_low_priority_open_two_days_breaches_both() -> None:
    assert breaches_of(tl("low"), T0 + 48 * H) == {FIRST_REPLY, RESOLUTION}


def test_compute_counts_per_channel_priority_and_metric() -> None:
    truth = GroundTruth("tesco", 1, T0, T0 + 10 * H, 1000.0, policy_yaml())
    compute(
        truth,
        [
            TicketTimeline("T-a", "line", "urgent", T0, T0 + 40 * M, (T0 + H,)),  # late reply
            TicketTimeline("T-b", "line", "normal", T0, T0 + 10 * M, (T0 + H,)),  # in time
            TicketTimeline("T-c", "wechat", "high", T0 + H),  # never answered: both by +9 h
        ],
    )
    assert truth.tickets_opened == 3
    assert truth.tickets_by_channel == {"line": 2, "wechat": 1}
    assert truth.tickets_by_priority == {"high": 1, "normal": 1, "urgent": 1}
    assert truth.first_reply_seconds == {"T-a": 2400, "T-b": 600, "T-c": None}
    assert truth.breaches[FIRST_REPLY] == {"low": 0, "normal": 0, "high": 1, "urgent": 1}
    assert truth.breaches[RESOLUTION] == {"low": 0, "normal": 0, "high": 1, "urgent": 0}
    assert truth.breached_tickets == {FIRST_REPLY: ["T-a", "T-c"], RESOLUTION: ["T-c"]}


def test_ground_truth_json_has_iso_instants_and_counts() -> None:
    truth = GroundTruth("tesco", 1, T0, T0 + H, 1000.0, policy_yaml())
    compute(truth, [TicketTimeline("T-a", "line", "urgent", T0, T0 + 40 * M)])
    doc = json.loads(truth.to_json())
    assert doc["sim_start"] == "2026-11-16T10:00:00+00:00"
    assert doc["sim_end"] == "2026-11-16T11:00:00+00:00"
    assert doc["tickets_opened"] == 1
    assert doc["breaches"]["first_reply_time"]["urgent"] == 1


@pytest.mark.parametrize(
    ("metric", "priority", "seconds"),
    [(FIRST_REPLY, "urgent", 1800), (FIRST_REPLY, "low", 8 * 3600), (RESOLUTION, "normal", 86400)],
)
def test_the_policy_the_simulation_configures_has_the_targets_it_checks(
    metric: str, priority: str, seconds: int
) -> None:
    (policy,) = parse_policies(policy_yaml()).policies
    target = next(v for k, v in policy.targets.items() if k.value == metric)
    got = next(t for p, t in target.items() if p.value == priority)
    assert (got.seconds, got.business_hours) == (seconds, False)
