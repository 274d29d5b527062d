"""Running the gateway as a process: producer, dedup warm-up, HTTP server, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from connectors.dedup import DedupCache, TopicTail
from connectors.gateway import Gateway, new_producer
from connectors.settings import ConnectorSettings
from schemas.topics import CHANNEL_MESSAGES
from ticketstream.settings import Settings

log = logging.getLogger(__name__)


@asynccontextmanager
async def running_gateway(
    core: Settings,
    settings: ConnectorSettings,
    *,
    host: str,
    port: int,
    topic: str = CHANNEL_MESSAGES,
    warm: bool = True,
) -> AsyncIterator[tuple[Gateway, int]]:
    """Start the gateway on ``host:port`` (0 = a free port); yield it and the bound port."""
    producer = new_producer(core.kafka_bootstrap, settings.gateway_linger_ms)
    await producer.start()
    cache = DedupCache(settings.gateway_dedup_ttl_seconds, settings.gateway_dedup_max_keys)
    tail = TopicTail(core.kafka_bootstrap, topic, cache) if warm else None
    runner: web.AppRunner | None = None
    gateway: Gateway | None = None
    try:
        if tail is not None:
            await tail.start()
        gateway = Gateway(settings, producer, cache, tenant_id=core.tenant_id, topic=topic)
        runner = web.AppRunner(gateway.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        # Everything alive now (modules, clients, the warmed dedup cache) lives as long as the
        # process: freeze it out of the cyclic GC, so a full collection while serving scans only
        # request garbage instead of pausing every in-flight request for the whole heap.
        gc.collect()
        gc.freeze()
        bound = runner.addresses[0][1]
        yield gateway, int(bound)
    finally:
        if runner is not None:
            await runner.cleanup()
        if gateway is not None:
            await gateway.drain()
        if tail is not None:
            await tail.stop()
        await producer.stop()


async def serve(core: Settings, settings: ConnectorSettings, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_gateway(core, settings, host=settings.gateway_host, port=port) as (_, bound):
        log.info("gateway listening on %s:%d", settings.gateway_host, bound)
        await stop.wait()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


@contextlib.contextmanager
def _metrics(job: str, settings: ConnectorSettings) -> Iterator[None]:
    """/metrics of a process without an HTTP server of its own (Prometheus job ``job``)."""
    from ticketstream.observability.http import serve_metrics
    from ticketstream.observability.settings import ObservabilitySettings

    obs = ObservabilitySettings()
    port = {"outbound": obs.outbound_metrics_port, "email-poll": obs.email_poll_metrics_port}[job]
    server = serve_metrics(port, settings.gateway_host)
    log.info("%s: /metrics on %s:%d", job, settings.gateway_host, server.port)
    try:
        yield
    finally:
        server.close()


async def run_outbound(core: Settings, settings: ConnectorSettings) -> None:
    from connectors.outbound.worker import OutboundWorker

    stop = _stop_event()
    with _metrics("outbound", settings):
        async with OutboundWorker(settings, core.kafka_bootstrap) as worker:
            log.info("outbound worker consuming agent replies")
            await worker.run(stop)


async def run_email_poll(core: Settings, settings: ConnectorSettings, state_path: Path) -> None:
    from connectors.email.imap import EmailIngest, ImapError

    stop = _stop_event()
    producer = new_producer(core.kafka_bootstrap)
    await producer.start()
    cache = DedupCache(settings.gateway_dedup_ttl_seconds, settings.gateway_dedup_max_keys)
    tail = TopicTail(core.kafka_bootstrap, CHANNEL_MESSAGES, cache)
    served = contextlib.ExitStack()
    try:
        served.enter_context(_metrics("email-poll", settings))
        await tail.start()
        ingest = EmailIngest(settings, producer, cache, state_path, tenant_id=core.tenant_id)
        while not stop.is_set():
            try:
                n = await ingest.poll_once()
                if n:
                    log.info("e-mail: produced %d message(s)", n)
            except ImapError as exc:
                log.warning("e-mail poll failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.imap_poll_seconds)
    finally:
        served.close()
        await tail.stop()
        await producer.stop()
