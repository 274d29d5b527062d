"""An engine that gives DateTime columns as ints (``DriverEngine.use_int_datetimes``, the
projector's) stores exactly what the driver's own path stores — for ints, Nullable columns
with NULLs, datetimes mixed in — and leaves other engines' inserts on the driver's path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from projections.engines import DriverEngine


@pytest.fixture
def engines(stack: Any, unique_name: str) -> Any:
    core = stack.settings
    plain = DriverEngine(core.clickhouse_host, core.clickhouse_port)
    fast = plain.clone()
    fast.use_int_datetimes()
    db = f"pj_{unique_name}"
    plain.execute(f"CREATE DATABASE {db}")
    for name in ("a", "b"):
        plain.execute(
            f"CREATE TABLE {db}.{name} (n UInt32, at DateTime('UTC'), maybe Nullable(DateTime('UTC'))) "
            "ENGINE = MergeTree ORDER BY n"
        )
    yield plain, fast, db
    plain.execute(f"DROP DATABASE IF EXISTS {db}")
    plain.close()
    fast.close()


def test_int_datetimes_store_what_the_drivers_path_stores(engines: Any) -> None:
    plain, fast, db = engines
    at = 1_767_575_200
    batches = [
        [[1, 2, 3], [at, at + 1, 0], [None, at + 2, None]],  # ints, NULLs
        [[4, 5], [at, datetime(2026, 1, 5, tzinfo=UTC)], [datetime(2026, 1, 6, tzinfo=UTC), at]],
    ]
    for data in batches:
        plain.insert(f"{db}.a", ("n", "at", "maybe"), [list(c) for c in data])
        fast.insert(f"{db}.b", ("n", "at", "maybe"), [list(c) for c in data])
    query = "SELECT n, toUInt32(at), toUInt32(maybe) FROM {}.{} ORDER BY n"
    got = fast.execute(query.format(db, "b"))
    assert got == plain.execute(query.format(db, "a"))
    assert got[0] == (1, at, None) and got[2] == (3, 0, None)
    assert fast.clone().int_datetimes and not plain.int_datetimes
