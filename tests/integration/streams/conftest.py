"""Workers of streams.app on unique topics of the real broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.testing import WorkerProcess, private_worker_env
from ticketstream.devstack.procs import free_port

# The ticket engineer's agents (the SLA agents have their own tests): keeps these runs short.
TICKET_AGENTS = (
    "thread_channel_messages,handle_ticket_commands,handle_agent_commands,"
    "forward_routing_feed,route_tickets,serve_http_api"
)
TOKENS = "tok-agent:agent:agent-ann,tok-sup:supervisor:sup-1,tok-int:integration:bot-1"


@pytest.fixture
def workers(stack, unique_name: str, tmp_path: Path) -> Iterator[Callable[[str], WorkerProcess]]:
    """``start(name)`` starts a ready worker (own port and data dir); all are stopped at the end."""
    env = private_worker_env(stack.settings, unique_name, TICKET_AGENTS, tokens=TOKENS)
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        w = WorkerProcess(
            name,
            {**env, "TICKETSTREAM_STREAMS_DATADIR": str(tmp_path / name)},
            free_port(),
            tmp_path / f"{name}.log",
        ).start()
        started.append(w)
        w.wait_ready()
        return w

    start.prefix = f"{unique_name}."  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for w in started:
            w.stop()
    # an exception an agent caught and logged is a bug even when the test's answers came out
    # right (the router's batch stats once failed after every batch: false dead-letter counts)
    for w in started:
        log = w.log_path.read_text(errors="replace")
        assert "Traceback (most recent call last)" not in log, f"{w.name} logged:\n{log[-3000:]}"
