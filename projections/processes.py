"""Several projector processes in one consumer group (``TICKETSTREAM_PROJECTIONS_PROCESSES``).

One projector process is CPU-bound in Python (Kafka record parsing, Avro decoding, projecting);
more processes in the same consumer group split the partitions between them. Each is an ordinary
projector: it inserts its own batches and commits its own partitions' offsets only after
ClickHouse acknowledged them, so exactly-once in effect holds as for one (replays after a
rebalance or a crash are deduplicated by event id).

``run_processes`` migrates once, starts the children and supervises them: SIGTERM/SIGINT stop
them all (each flushes its batch); if one exits on its own, the others are stopped too and the
exit code is 1, so the service manager restarts the whole set.

Metrics: one /metrics on the projector's metrics port for the whole set, served by the parent
from the children's values (prometheus_client's multiprocess mode: counters and histograms are
added up; the gauges say how to combine live processes in ``projections.metrics``). One scrape
target whatever the process count (per-process ports base + i ran into the lag exporter's and
the outbound worker's default ports, 9466 and 9467, next to the projector's 9465).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
from multiprocessing.connection import wait
from typing import Any

log = logging.getLogger("ticketstream.projector")
STOP_TIMEOUT_S = 60.0  # a child flushing its last batch to a slow ClickHouse


def _child(index: int, metrics_dir: str) -> None:
    """One projector process (spawned): metrics to ``metrics_dir``, signal handlers, projector."""
    import importlib

    if metrics_dir:
        # Before any metric exists: this process's values go to files the parent adds up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        from prometheus_client import values

        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
        if "projections.metrics" in sys.modules:
            log.error("projector process %d: metrics made before multiprocess mode", index)

    from projections.service import install_signal_handlers, run_projector, tune_gc
    from projections.settings import load_projection_settings

    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s %(name)s[{index}] %(message)s",
    )
    core = importlib.import_module("ticketstream.settings").load_settings()
    ps = load_projection_settings()
    stop = threading.Event()
    install_signal_handlers(stop)
    tune_gc()
    run_projector(core, ps, stop=stop)


def run_processes(
    core: Any,
    processes: int,
    metrics_port: int,
    stop: threading.Event,
    metrics_host: str = "127.0.0.1",
) -> int:
    """Run ``processes`` projector processes until ``stop`` is set or one of them exits.

    Serves all their metrics on ``metrics_host:metrics_port`` (none when ``metrics_port`` is 0).
    Returns 0 after a requested stop, 1 when a child exited on its own."""
    from projections.migrate import migrate
    from projections.service import open_engine

    engine = open_engine(core)
    try:
        migrate(engine, core.clickhouse_database)  # once, before the children race to it
    finally:
        engine.close()
    metrics_dir = tempfile.mkdtemp(prefix="ticketstream-projector-metrics-") if metrics_port else ""
    server: Any = None
    if metrics_port:
        from prometheus_client import CollectorRegistry, start_http_server
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]
        server, _thread = start_http_server(metrics_port, addr=metrics_host, registry=registry)
    ctx = multiprocessing.get_context("spawn")
    children: list[Any] = []
    for i in range(processes):
        proc = ctx.Process(target=_child, args=(i, metrics_dir), name=f"projector-{i}")
        proc.start()
        children.append(proc)
    log.info("started %d projector processes: pids %s", processes, [c.pid for c in children])
    failed = False
    try:
        while not stop.is_set():
            ended = wait([c.sentinel for c in children], timeout=0.5)
            if ended:
                gone = [c for c in children if c.sentinel in ended]
                log.error(
                    "projector process(es) %s exited (codes %s); stopping the others",
                    [c.pid for c in gone],
                    [c.exitcode for c in gone],
                )
                failed = True
                break
    finally:
        for c in children:
            if c.is_alive():
                c.terminate()  # SIGTERM: the child flushes its batch and leaves the group
        for c in children:
            c.join(STOP_TIMEOUT_S)
            if c.is_alive():
                log.error(
                    "projector process %s did not stop in %.0f s; killing it", c.pid, STOP_TIMEOUT_S
                )
                c.kill()
                c.join()
        if server is not None:
            server.shutdown()
            server.server_close()
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 1 if failed else 0
