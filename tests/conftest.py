"""Shared fixtures: the real stack (Kafka, ClickHouse, Prometheus) and unique names.

``stack`` (session): by default the first test that asks for it starts a private stack on free
ports in a temporary dir, and the session stops it at the end. With
``TICKETSTREAM_TEST_STACK=running`` the tests use the stack already started by
``.venv/bin/ticketstream dev up`` (much faster while developing; never stopped by tests).
A stack that cannot start FAILS the tests that need it; it is never skipped.

Tests under ``tests/integration/`` are marked ``integration`` automatically.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketstream.devstack import Stack, StackError
from ticketstream.devstack.testing import (
    StackHandle,
    drop_named,
    issued_names,
    private_root,
    private_stack_settings,
)
from ticketstream.devstack.testing import unique_name as new_unique_name
from ticketstream.settings import Settings

__all__ = ["StackHandle", "private_stack_settings"]

STACK_MODE_VAR = "TICKETSTREAM_TEST_STACK"


@pytest.fixture(scope="session")
def stack() -> Iterator[StackHandle]:
    mode = os.environ.get(STACK_MODE_VAR, "private")
    if mode == "running":
        settings = Settings()  # type: ignore[call-arg]  # (no pydantic mypy plugin)
        handle = StackHandle(settings, Stack(settings), private=False)
        problems = [
            f"{s.name}: {'stopped' if s.pid is None else s.detail}"
            for s in handle.stack.status().values()
            if not (s.running and s.ready)
        ]
        if problems:
            pytest.fail(
                f"{STACK_MODE_VAR}=running but the dev stack is not up ({'; '.join(problems)}); "
                "start it with `.venv/bin/ticketstream dev up` or unset "
                f"{STACK_MODE_VAR}",
                pytrace=False,
            )
        yield handle
        # The dev stack outlives the session: remove the topics and databases its tests made.
        try:
            drop_named(settings, issued_names())
        except Exception as exc:  # cleanup only: the tests' results stand
            print(f"\nleft this session's topics/databases on the dev stack: {exc!r}")
        return
    if mode != "private":
        pytest.fail(f"{STACK_MODE_VAR}={mode!r}: use 'running' or leave it unset", pytrace=False)
    root = private_root("ticketstream-test-stack-")
    settings = private_stack_settings(root)
    handle = StackHandle(settings, Stack(settings), private=True)
    try:
        try:
            handle.stack.up()
        except StackError as exc:
            pytest.fail(f"the test stack did not start: {exc}", pytrace=False)
        yield handle
    finally:
        handle.stack.down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def unique_name() -> str:
    """A short unique suffix for topics, consumer groups and databases (``[a-z0-9]``)."""
    return new_unique_name()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    integration_dir = Path(__file__).parent / "integration"
    for item in items:
        if item.path.is_relative_to(integration_dir):
            item.add_marker(pytest.mark.integration)


def pytest_report_header(config: pytest.Config) -> str:
    return f"ticketstream stack: {os.environ.get(STACK_MODE_VAR, 'private')} ({STACK_MODE_VAR})"
