"""Serve a prometheus-client registry on ``/metrics``.

Two ways, for the two kinds of process we run:

- a plain (non-asyncio) process, e.g. the projector: :func:`serve_metrics` starts
  prometheus-client's own threaded HTTP server;
- an aiohttp application, e.g. the gateway: :func:`add_metrics_route` adds ``GET /metrics``
  to it, so the service needs only one port.

The Faust worker exposes ``/metrics`` on its own web server (see :mod:`.faust_sensor`).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.exposition import choose_encoder

__all__ = ["MetricsServer", "add_metrics_route", "metrics_handler", "serve_metrics"]


@dataclass
class MetricsServer:
    """A running ``/metrics`` HTTP server (a daemon thread); :meth:`close` stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful when started on port 0)."""
        return int(self.server.server_address[1])

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving and wait up to ``timeout`` seconds for the thread to end."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=timeout)


def serve_metrics(
    port: int, addr: str = "0.0.0.0", registry: CollectorRegistry = REGISTRY
) -> MetricsServer:
    """Serve ``registry`` at ``http://addr:port/metrics`` from a daemon thread.

    ``port=0`` picks a free port (read it back from :attr:`MetricsServer.port`).
    Raises ``OSError`` when the port is taken.
    """
    server, thread = start_http_server(port, addr=addr, registry=registry)
    return MetricsServer(server, thread)


def metrics_handler(
    registry: CollectorRegistry = REGISTRY,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler rendering ``registry`` in the format the scraper asks for
    (Prometheus text or OpenMetrics, by the ``Accept`` header)."""

    async def handle(request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(registry), headers={"Content-Type": content_type})

    return handle


def add_metrics_route(
    app: web.Application, registry: CollectorRegistry = REGISTRY, path: str = "/metrics"
) -> None:
    """Add ``GET <path>`` serving ``registry`` to an aiohttp application (before it starts)."""
    app.router.add_get(path, metrics_handler(registry))
