"""A real worker on the simulated SLA clock (TICKETSTREAM_SLA_CLOCK=simulated), real broker:
policy updates take effect at a ticket's next SLA-affecting update and not before, invalid
policies are rejected with line and reason, and ticks from ``streams.sla.ticks`` and from
``ticketstream sla tick`` fire each deadline at its due time.

One worker serves the module. Simulated time only moves forward (a tick sweeps from where the
last one stopped), so each test takes a fresh base instant after everything ticked before."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.records import (
    DeadLetter,
    SlaBreached,
    SlaPoliciesUpdated,
    SlaPolicyApplied,
    SlaTimerStarted,
    SlaWarning,
)
from schemas.topics import SLA_COMMANDS
from streams.sla.ticks import SlaTicker, SlaTickError, produce_sla_ticks
from tests.integration.sla.support import (
    SlaWorld,
    of,
    opened,
    policy_yaml,
    tags_changed,
    update_policies,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
S = timedelta(seconds=1)


class Sim:
    """The module's worker and its simulated clock (only moves forward)."""

    def __init__(self, world: SlaWorld) -> None:
        self.world = world
        self.ticker = SlaTicker(world.bootstrap, topic_prefix=world.prefix)
        self.events = world.events()
        self.last = datetime(2026, 1, 5, tzinfo=UTC)

    def base(self) -> datetime:
        """A fresh simulated instant later than every tick so far."""
        self.last += timedelta(hours=1)
        return self.last

    def tick(self, at: datetime) -> None:
        self.last = max(self.last, at)
        self.ticker.tick(at)


@pytest.fixture(scope="module")
def sim(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    world = SlaWorld(
        stack.kafka_bootstrap,
        tmp_path_factory.mktemp("sla-sim"),
        clock="simulated",
        policy=policy_yaml("fast", "1m"),
    )
    try:
        world.start()
        s = Sim(world)
        yield s
        s.ticker.close()
    finally:
        world.close()


def test_policy_update_applies_at_the_next_sla_update_not_before(sim: Sim) -> None:
    t0 = sim.base()
    a, c = f"A-{sim.world.name}", f"C-{sim.world.name}"
    sim.world.send_ticket_event(opened(a, t0))
    sim.events.wait("A on the file policy", lambda rs: of(SlaPolicyApplied, a, rs))
    version = 2 + int((t0 - datetime(2026, 1, 5, tzinfo=UTC)) / timedelta(hours=1))  # unique
    sim.world.send_command(update_policies(version, policy_yaml("slow", "10m"), t0))
    sim.events.wait(
        "SlaPoliciesUpdated",
        lambda rs: [r for r in rs if isinstance(r, SlaPoliciesUpdated) and r.version == version],
    )
    # Not before: A keeps the policy it had; its 50 % warning of 1 min fires at t0 + 30 s.
    sim.tick(t0 + 40 * S)
    warned = sim.events.wait("A's warning on fast", lambda rs: of(SlaWarning, a, rs))
    assert [(w.policy_id, w.envelope.occurred_at) for w in warned] == [("fast", t0 + 30 * S)]
    # At its next SLA-affecting update (tags) A takes the new policy, elapsed time carried over.
    sim.world.send_ticket_event(tags_changed(a, t0 + 45 * S, ("vip",)))
    sim.events.wait(
        "A re-targeted",
        lambda rs: [r for r in of(SlaTimerStarted, a, rs) if r.policy_id == "slow"],
    )
    applied = of(SlaPolicyApplied, a, sim.events.records)
    assert [(p.policy_id, p.policy_version, p.previous_policy_id) for p in applied] == [
        ("fast", 1, None),
        ("slow", version, "fast"),
    ]
    restarted = next(r for r in of(SlaTimerStarted, a, sim.events.records) if r.policy_id == "slow")
    assert (restarted.target_seconds, restarted.due_at) == (600, t0 + 600 * S)
    assert restarted.envelope.occurred_at == t0 + 45 * S
    sim.world.send_ticket_event(opened(c, t0 + 50 * S))  # a new ticket: the new policy at once
    sim.events.wait("C on slow", lambda rs: of(SlaPolicyApplied, c, rs))
    assert of(SlaPolicyApplied, c, sim.events.records)[0].policy_id == "slow"
    # The old deadline (t0 + 60 s) is gone: ticks past it fire A's next deadline, slow's 50 %.
    sim.tick(t0 + 301 * S)
    sim.events.wait(
        "A's warning on slow",
        lambda rs: [w for w in of(SlaWarning, a, rs) if w.policy_id == "slow"],
    )
    assert of(SlaBreached, a, sim.events.records) == []
    assert [
        (w.policy_id, w.envelope.occurred_at) for w in of(SlaWarning, a, sim.events.records)
    ] == [
        ("fast", t0 + 30 * S),
        ("slow", t0 + 300 * S),
    ]


def test_invalid_policy_update_is_rejected_with_line_and_reason(sim: Sim) -> None:
    t0 = sim.base()
    dead = sim.world.dead_letters()
    before, after = f"B-{sim.world.name}", f"D-{sim.world.name}"
    sim.world.send_ticket_event(opened(before, t0))
    in_force = sim.events.wait("B's policy", lambda rs: of(SlaPolicyApplied, before, rs))[0]
    bad = policy_yaml("broken", "soon")  # line 10: the urgent target is not a duration
    assert bad.splitlines()[9].strip() == "first_reply_time: {urgent: soon}"
    sim.world.send_command(update_policies(999_999_999, bad, t0))
    letters = dead.wait(
        "the rejection",
        lambda rs: [
            r for r in rs if isinstance(r, DeadLetter) and r.source_topic.endswith(SLA_COMMANDS)
        ],
    )
    assert letters[0].error_type == "PolicyError"
    assert (
        "UpdateSlaPolicies:10: policy broken.targets.first_reply_time.urgent: 'soon' is not a "
        "duration like 90m, 2h, 1h30m, 3d" in letters[0].error
    ), letters[0].error
    # The set in force is unchanged: a ticket opened after the rejection gets B's policy.
    sim.world.send_ticket_event(opened(after, t0 + S))
    now_applied = sim.events.wait("D's policy", lambda rs: of(SlaPolicyApplied, after, rs))[0]
    assert (now_applied.policy_id, now_applied.policy_version) == (
        in_force.policy_id,
        in_force.policy_version,
    )
    assert not [
        r
        for r in sim.events.records
        if isinstance(r, SlaPoliciesUpdated) and r.version == 999_999_999
    ]


def test_cli_backfill_fires_every_deadline_at_its_due_time(sim: Sim) -> None:
    t0 = sim.base()
    tickets = [f"E{i}-{sim.world.name}" for i in range(4)]
    for i, ticket in enumerate(tickets):  # opened 10 s apart: different due seconds
        sim.world.send_ticket_event(opened(ticket, t0 + i * 10 * S))
    sim.events.wait("all opened", lambda rs: all(of(SlaPolicyApplied, t, rs) for t in tickets))
    sim.last = t0 + 2 * 3600 * S
    done = subprocess.run(
        [sys.executable, "-m", "ticketstream.cli", "sla", "tick",
         "--from", t0.isoformat(), "--to", (t0 + 2 * 3600 * S).isoformat(), "--step", "7m",
         "--bootstrap", sim.world.bootstrap, "--topic-prefix", sim.world.prefix],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 partitions" in done.stdout
    breaches = sim.events.wait(
        "every breach",
        lambda rs: (
            (b := [x for t in tickets for x in of(SlaBreached, t, rs)]) and len(b) >= 4 and b
        ),
    )
    by_ticket = {b.ticket_id: b for b in breaches}
    assert len(breaches) == len(by_ticket) == 4  # one breach per ticket, no re-fire
    for ticket in tickets:
        opened_at = next(
            r for r in of(SlaPolicyApplied, ticket, sim.events.records)
        ).envelope.occurred_at
        timer = next(r for r in of(SlaTimerStarted, ticket, sim.events.records))
        # whatever the step, the breach carries its due time (never the tick's)
        assert (
            by_ticket[ticket].envelope.occurred_at
            == timer.due_at
            == opened_at + timer.target_seconds * S
        )


def test_ticks_to_a_missing_topic_fail_with_what_to_do(sim: Sim) -> None:
    with pytest.raises(SlaTickError, match="start a worker"):
        produce_sla_ticks(
            sim.world.bootstrap, sim.last, topic_prefix="no.such.prefix.", timeout_s=5
        )
