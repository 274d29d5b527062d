"""A prometheus-client metric scraped by the real Prometheus and read back with PromQL."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

from prometheus_client import CollectorRegistry, Counter, start_http_server

from ticketstream.devstack.procs import free_port


def promql(base_url: str, query: str) -> list[dict[str, object]]:
    url = f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def test_metric_scraped_and_queried(stack, unique_name) -> None:
    registry = CollectorRegistry()
    counter = Counter(
        "ticketstream_smoke_events_total", "Smoke-test events", ["kind"], registry=registry
    )
    counter.labels(kind="a").inc(3)
    counter.labels(kind="b").inc()
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    job = f"smoke_{unique_name}"
    stack.stack.add_scrape_target(job, f"127.0.0.1:{port}")
    try:
        query = f'sum by (kind) (ticketstream_smoke_events_total{{job="{job}"}})'
        deadline = time.monotonic() + 60
        values: dict[str, float] = {}
        while time.monotonic() < deadline:
            values = {
                str(r["metric"]["kind"]): float(r["value"][1])  # type: ignore[index]
                for r in promql(stack.prometheus_url, query)
            }
            if values == {"a": 3.0, "b": 1.0}:
                break
            time.sleep(0.5)
        assert values == {"a": 3.0, "b": 1.0}
        up = promql(stack.prometheus_url, f'up{{job="{job}"}}')
        assert [r["value"][1] for r in up] == ["1"]  # type: ignore[index]
    finally:
        stack.stack.remove_scrape_target(job)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
