"""add_metrics_route serves a registry from an aiohttp app, in the format the scraper asks for."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from ticketstream.observability.http import add_metrics_route


async def fetch(accept: str) -> tuple[str, str]:
    registry = CollectorRegistry()
    Counter("ticketstream_route_test_total", "x", ["channel"], registry=registry).labels(
        "line"
    ).inc(3)
    app = web.Application()
    add_metrics_route(app, registry)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept}) as r,
        ):
            return r.headers["Content-Type"], await r.text()
    finally:
        await runner.cleanup()


def test_metrics_route_serves_prometheus_text_and_openmetrics() -> None:
    ctype, text = asyncio.run(fetch("text/plain"))
    assert ctype.startswith("text/plain")
    assert 'ticketstream_route_test_total{channel="line"} 3.0' in text
    ctype, text = asyncio.run(fetch("application/openmetrics-text; version=1.0.0"))
    assert ctype.startswith("application/openmetrics-text")
    assert text.rstrip().endswith("# EOF")
