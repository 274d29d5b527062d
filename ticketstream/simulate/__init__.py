"""``ticketstream simulate``: a seeded model of a support org driving the real pipeline.

The model (``model``) turns a ``SimConfig`` into tickets — customers with channel habits and
languages, daily and weekly arrival curves, agents with shifts, skills and reply times,
escalations, reopens, CSAT — as timed actions in simulated time. The driver (``driver``) sends
them through the real gateway (signed webhooks per channel) and the streams HTTP command API on
a simulated clock compressed into wall time, and drives the SLA engine's simulated clock with
``SlaTick`` records. ``truth`` computes, independently of the SLA engine, what the pipeline
must report.

API for the demo::

    from ticketstream.simulate import Endpoints, SimConfig, run
    truth = run(SimConfig(preset="tesco", days=1, compression=600), endpoints)
    Path("truth.json").write_text(truth.to_json())
"""

from __future__ import annotations

from collections.abc import Callable

from ticketstream.simulate.config import (
    PRESETS,
    Endpoints,
    SimConfig,
    SimConfigError,
    SimulationError,
)
from ticketstream.simulate.truth import GroundTruth, policy_yaml

__all__ = [
    "PRESETS",
    "Endpoints",
    "GroundTruth",
    "Progress",
    "SimConfig",
    "SimConfigError",
    "SimulationError",
    "policy_yaml",
    "run",
    "run_async",
]

# progress(done_fraction 0..1, simulated now ISO-8601, counters) — called a few times a second.
Progress = Callable[[float, str, dict[str, int]], None]


def run(config: SimConfig, endpoints: Endpoints, progress: Progress | None = None) -> GroundTruth:
    """Simulate ``config`` against ``endpoints`` and return the ground truth.

    Blocks until every action is sent and confirmed (or timed out, counted in
    ``GroundTruth.unconfirmed``) and the final SLA tick at ``config.end`` is produced. Wall
    time ≈ ``config.days * 86400 / config.compression`` plus the pipeline's drain time.
    Raises ``SimulationError`` when an endpoint refuses the simulator (bad token, secret or
    URL)."""
    from ticketstream.simulate.driver import drive

    return drive(config, endpoints, progress)


async def run_async(
    config: SimConfig, endpoints: Endpoints, progress: Progress | None = None
) -> GroundTruth:
    """``run`` inside an already running event loop (same contract)."""
    from ticketstream.simulate.driver import drive_async

    return await drive_async(config, endpoints, progress)
