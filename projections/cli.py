"""``ticketstream projections migrate | run | rebuild``."""

from __future__ import annotations

import argparse
import importlib
import logging
import threading
from typing import Any

from projections.settings import load_projection_settings


def _core() -> Any:
    return importlib.import_module("ticketstream.settings").load_settings()


def _migrate(args: argparse.Namespace) -> int:
    from projections.migrate import migrate
    from projections.service import open_engine

    core = _core()
    db = args.database or core.clickhouse_database
    engine = open_engine(core)
    done = migrate(engine, db)
    for m in done:
        print(f"applied {m.version:04d}_{m.name} to {db}")
    if not done:
        print(f"{db} is up to date")
    engine.close()
    return 0


def _run(args: argparse.Namespace) -> int:
    from prometheus_client import start_http_server

    from projections.service import install_signal_handlers, run_projector, tune_gc

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    core = _core()
    ps = load_projection_settings()
    port = args.metrics_port if args.metrics_port is not None else core.projector_metrics_port
    stop = threading.Event()
    install_signal_handlers(stop)
    if ps.projections_processes > 1:
        from projections.processes import run_processes

        return run_processes(
            core, ps.projections_processes, port, stop, ps.projections_metrics_host
        )
    if port:
        start_http_server(port, addr=ps.projections_metrics_host)
    tune_gc()
    run_projector(core, ps, stop=stop)
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from projections.rebuild import rebuild
    from projections.service import make_consumer, open_engine

    core = _core()
    ps = load_projection_settings()
    engine = open_engine(core)
    consumer = make_consumer(core, None, args.batch_rows)
    try:
        result = rebuild(
            engine, consumer, core.clickhouse_database, batch_rows=args.batch_rows,
            store_bodies=ps.projections_store_bodies,
        )  # fmt: skip
    finally:
        consumer.close()
        engine.close()
    print(
        f"rebuilt {core.clickhouse_database}: {result.events} events, {result.rows} rows in "
        f"{result.seconds:.1f} s ({result.rate:,.0f} events/s); previous tables kept in "
        f"{core.clickhouse_database}_old"
    )
    return 0


def register(subparsers: Any) -> None:
    """Add ``projections`` and its subcommands to the ``ticketstream`` parser."""
    p = subparsers.add_parser("projections", help="ClickHouse projections: migrate, run, rebuild")
    sub = p.add_subparsers(dest="projections_command", metavar="SUBCOMMAND")
    m = sub.add_parser("migrate", help="apply pending SQL migrations")
    m.add_argument("--database", help="target database (default TICKETSTREAM_CLICKHOUSE_DATABASE)")
    m.set_defaults(func=_migrate)
    r = sub.add_parser("run", help="project every event topic into ClickHouse until stopped")
    r.add_argument(
        "--metrics-port", type=int, help="/metrics port (0 = none; default from settings)"
    )
    r.set_defaults(func=_run)
    b = sub.add_parser(
        "rebuild", help="replay every event topic into fresh tables and swap them in"
    )
    b.add_argument("--batch-rows", type=int, default=20_000, help="records per insert batch")
    b.set_defaults(func=_rebuild)
    p.set_defaults(func=lambda _a: (p.print_help(), 2)[1])
