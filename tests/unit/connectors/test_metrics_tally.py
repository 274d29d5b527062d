"""The gateway's metric tallies expose exactly what prometheus-client's own inc/observe would."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from connectors import metrics

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# On a bound, just around bounds, zero, negative, beyond the last bound.
AMOUNTS = (0.001, 0.0010001, 0.0009, 0.0, -0.5, 0.003, 0.05, 0.25, 0.2500001, 5.0, 7.5, 1e9)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def pair(kind: type) -> tuple[CollectorRegistry, object, CollectorRegistry, object]:
    mine, ref = CollectorRegistry(), CollectorRegistry()
    args = {"buckets": BUCKETS} if kind is Histogram else {}
    a = kind("ticketstream_test_seconds", "test", ["channel"], registry=mine, **args)
    b = kind("ticketstream_test_seconds", "test", ["channel"], registry=ref, **args)
    return mine, a, ref, b


def test_timed_tally_gives_observes_buckets_count_and_sum_once_flushed():
    mine, tallied, ref, observed = pair(Histogram)
    tally = metrics.timed(tallied.labels("line"))  # type: ignore[attr-defined]
    for amount in AMOUNTS:
        tally.observe(amount)
        observed.labels("line").observe(amount)  # type: ignore[attr-defined]
    assert samples(mine) != samples(ref)  # nothing applied before a flush
    metrics.flush()
    assert samples(mine) == samples(ref)
    metrics.flush()  # a second flush adds nothing
    assert samples(mine) == samples(ref)
    tally.observe(0.003)
    observed.labels("line").observe(0.003)  # type: ignore[attr-defined]
    metrics.flush()
    assert samples(mine) == samples(ref)


def test_counted_tally_gives_incs_once_flushed_and_is_one_per_child():
    mine, tallied, ref, counter = pair(Counter)
    child = tallied.labels("line")  # type: ignore[attr-defined]
    assert metrics.counted(child) is metrics.counted(child)
    for n in (1, 1, 3):
        metrics.counted(child).inc(n)
        counter.labels("line").inc(n)  # type: ignore[attr-defined]
    metrics.flush()
    metrics.flush()
    assert samples(mine) == samples(ref)


def test_a_collection_of_the_default_registry_flushes_first():
    child = metrics.REQUESTS.labels("telegram")
    before = REGISTRY.get_sample_value(
        "ticketstream_gateway_requests_total", {"channel": "telegram"}
    )
    metrics.counted(child).inc()
    after = REGISTRY.get_sample_value(
        "ticketstream_gateway_requests_total", {"channel": "telegram"}
    )
    assert after == (before or 0.0) + 1
