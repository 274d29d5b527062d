"""``ticketstream lag-exporter``: consumer lag, projection freshness and Kafka/ClickHouse
reachability on ``/metrics`` (see ticketstream/observability and docs/sre.md)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from pydantic import ValidationError

from ticketstream.settings import SettingsError, describe_validation_error, load_settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "lag-exporter",
        help="export consumer lag (every group/topic/partition) and projection freshness",
        description=__doc__,
    )
    p.add_argument("--port", type=int, help="/metrics port (TICKETSTREAM_LAG_EXPORTER_PORT)")
    p.add_argument("--addr", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    p.add_argument(
        "--interval",
        type=float,
        help="seconds between polls (TICKETSTREAM_LAG_EXPORTER_INTERVAL_SECONDS)",
    )
    p.set_defaults(func=run_lag_exporter)


def run_lag_exporter(args: argparse.Namespace) -> int:
    from ticketstream.observability import exporter
    from ticketstream.observability.settings import ObservabilitySettings

    settings = load_settings()
    try:
        obs = ObservabilitySettings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
    updates: dict[str, object] = {}
    if args.port is not None:
        updates["lag_exporter_port"] = args.port
    if args.interval is not None:
        updates["lag_exporter_interval_seconds"] = args.interval
    obs = obs.model_copy(update=updates)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # The local stack's and docker-compose's Prometheus scrape job "lag-exporter" on port 9466
    # (dashboards/prometheus/scrape.py).
    exporter.run(
        settings,
        obs,
        stop,
        addr=args.addr,
        on_ready=lambda port: print(f"lag exporter: /metrics on {args.addr}:{port}", flush=True),
    )
    return 0
