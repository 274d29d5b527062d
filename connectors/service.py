"""Running the gateway as a process: producer, dedup warm-up, HTTP server, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
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
    try:
        if tail is not None:
            await tail.start()
        gateway = Gateway(settings, producer, cache, tenant_id=core.tenant_id, topic=topic)
        runner = web.AppRunner(gateway.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        yield gateway, int(bound)
    finally:
        if runner is not None:
            await runner.cleanup()
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


async def run_outbound(core: Settings, settings: ConnectorSettings) -> None:
    from connectors.outbound.worker import OutboundWorker

    stop = _stop_event()
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
    try:
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
        await tail.stop()
        await producer.stop()
