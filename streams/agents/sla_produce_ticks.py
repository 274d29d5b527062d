"""Leader timer: one ``SlaTick`` per partition of support.sla.ticks.v1 per interval, from the wall
clock (``TICKETSTREAM_SLA_CLOCK=wall``). With ``simulated`` the ticks come from the simulation or
backfill that drives event time instead, so outcomes are deterministic. A timer cannot write
tables (it is not in stream iteration), so it only produces; ``fire_sla_timers`` does the work."""

from __future__ import annotations

from schemas import codec
from streams.app import app, sla_ticks_topic, streams_settings
from streams.runtime import now
from streams.sla.settings import SlaSettings
from streams.sla.ticks import ticks

_settings = SlaSettings()


@app.timer(_settings.sla_tick_interval_seconds, on_leader=True)  # type: ignore[untyped-decorator]
async def produce_sla_ticks() -> None:
    if _settings.sla_clock != "wall":
        return
    for tick in ticks(now(), streams_settings.streams_topic_partitions):
        await sla_ticks_topic.send(key=None, value=codec.encode(tick), partition=tick.partition)
