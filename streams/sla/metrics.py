"""Prometheus metrics of the SLA engine (worker's default registry).

Labels from small fixed sets: SLA metric, priority, policy id (from the policy file), assigned.
"""

from __future__ import annotations

from collections import Counter as _Count
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from schemas.records import SlaBreached, SlaTimerFulfilled, SlaWarning
from streams.domain.sla.clock import SlaState
from streams.domain.sla.policy import PolicySet

ACTIVE_TIMERS = Gauge(
    "ticketstream_sla_active_timers",
    "Running SLA timers with a target on this worker's partitions, by metric",
    ["metric"],
)
WARNINGS = Counter(
    "ticketstream_sla_warnings_total",
    "SLA warnings fired, by policy, metric, priority and whether the ticket had an assignee",
    ["policy", "metric", "priority", "assigned"],
)
BREACHES = Counter(
    "ticketstream_sla_breaches_total",
    "SLA breaches, by policy, metric and priority",
    ["policy", "metric", "priority"],
)
FULFILLED = Counter(
    "ticketstream_sla_fulfilled_total",
    "SLA timers fulfilled, by policy, metric and priority",
    ["policy", "metric", "priority"],
)
FIRING_LAG = Histogram(
    "ticketstream_sla_firing_lag_seconds",
    "Fired minus due time of warnings, breaches and auto-closes, in seconds",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
TICK_SECONDS = Histogram(
    "ticketstream_sla_tick_processing_seconds",
    "Time to process one SLA tick (sweep the index, fire what is due), in seconds",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def declare_series(policies: PolicySet) -> None:
    """Create every (policy, metric, priority) series of the counters at 0 when a policy set is
    loaded. A counter series born with its first value makes ``increase()`` miss that value, so
    the first burst of warnings or breaches after a worker start would not fire the alerts."""
    for policy in policies.policies:
        for metric, by_priority in policy.targets.items():
            for priority in by_priority:
                labels = (policy.policy_id, metric.value, priority.value)
                BREACHES.labels(*labels)
                FULFILLED.labels(*labels)
                for assigned in ("true", "false"):
                    WARNINGS.labels(*labels, assigned)


def _active(state: SlaState | None) -> _Count[str]:
    if state is None:
        return _Count()
    return _Count(
        t.metric.value
        for t in state.timers
        if t.running_since is not None and t.target_seconds is not None and not t.done
    )


def count_transition(before: SlaState | None, after: SlaState | None, events: Any) -> None:
    """Update the gauges and counters for one state change and the events it emitted."""
    old, new = _active(before), _active(after)
    for metric in old.keys() | new.keys():
        delta = new[metric] - old[metric]
        if delta:
            ACTIVE_TIMERS.labels(metric).inc(delta)
    for e in events:
        if isinstance(e, SlaWarning):
            assigned = "true" if e.assignee_id else "false"
            WARNINGS.labels(e.policy_id, e.metric.value, e.priority.value, assigned).inc()
        elif isinstance(e, SlaBreached):
            BREACHES.labels(e.policy_id, e.metric.value, e.priority.value).inc()
        elif isinstance(e, SlaTimerFulfilled):
            FULFILLED.labels(e.policy_id, e.metric.value, e.priority.value).inc()
