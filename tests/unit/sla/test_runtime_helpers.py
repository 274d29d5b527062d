"""The policy set in force and the SLA metrics, without Kafka."""

from __future__ import annotations

from prometheus_client import REGISTRY

from schemas.records import SlaMetric
from streams.sla import metrics, policies
from tests.unit.sla.helpers import POLICIES, bkk, opened, run


def test_policy_table_wins_over_the_file_and_is_parsed_once_per_version() -> None:
    table: dict[bytes, bytes] = {}
    assert [p.policy_id for p in policies.current(table).policies] == ["vip", "standard"]
    text = POLICIES % {"closed": "", "notes": "false"}
    table[policies.KEY] = policies.encode(7, text)
    current = policies.current(table)
    assert current.version == 7 and [p.policy_id for p in current.policies] == ["std"]
    assert policies.current(table) is current


def test_loading_a_policy_set_creates_its_counter_series_at_zero() -> None:
    """So that ``increase()`` counts the first breach after a worker start (docs/sre.md)."""
    text = (POLICIES % {"closed": "", "notes": "false"}).replace("std", "declared")
    labels = {"policy": "declared", "metric": "first_reply_time", "priority": "urgent"}
    assert REGISTRY.get_sample_value("ticketstream_sla_breaches_total", labels) is None
    policies.current({policies.KEY: policies.encode(11, text)})
    assert REGISTRY.get_sample_value("ticketstream_sla_breaches_total", labels) == 0.0
    assert REGISTRY.get_sample_value("ticketstream_sla_fulfilled_total", labels) == 0.0
    for assigned in ("true", "false"):
        warned = {**labels, "assigned": assigned}
        assert REGISTRY.get_sample_value("ticketstream_sla_warnings_total", warned) == 0.0
    # a priority the policy sets no target for gets no series
    none = {**labels, "priority": "low"}
    assert REGISTRY.get_sample_value("ticketstream_sla_breaches_total", none) is None


def test_active_timer_gauge_follows_state_changes_and_breaches_are_counted() -> None:
    ps_text = POLICIES % {"closed": "", "notes": "false"}
    table = {policies.KEY: policies.encode(3, ps_text)}
    ps = policies.current(table)
    state, events = run(ps, [opened(bkk(2026, 11, 23, 9))], until=bkk(2026, 11, 23, 11))

    def gauge(metric: SlaMetric) -> float:
        v = REGISTRY.get_sample_value("ticketstream_sla_active_timers", {"metric": metric.value})
        return v or 0.0

    def breaches() -> float:
        labels = {"policy": "std", "metric": "first_reply_time", "priority": "urgent"}
        return REGISTRY.get_sample_value("ticketstream_sla_breaches_total", labels) or 0.0

    before_frt, before_breaches = gauge(SlaMetric.FIRST_REPLY_TIME), breaches()
    metrics.count_transition(None, state, events)
    assert gauge(SlaMetric.FIRST_REPLY_TIME) == before_frt + 1
    assert breaches() == before_breaches + 1  # FRT urgent 2 h breached at 11:00
    metrics.count_transition(state, None, ())
    assert gauge(SlaMetric.FIRST_REPLY_TIME) == before_frt
