"""The worker's cache of unpickled table values drops its least recently used entries, a
quarter of its bound at a time, instead of emptying itself when full; a dropped key reads
from the store again."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest

import streams.app  # noqa: F401  (first: it imports the agents, which import streams.runtime)
from streams import runtime, statecodec
from streams.testing import EventStub, RecordStub, TableStub


@pytest.fixture
def small_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[TableStub]:
    monkeypatch.setattr(runtime, "STATE_CACHE_ENTRIES", 8)
    runtime._STATE_CACHE.clear()
    table = TableStub("tickets")
    for key in "abcdefgh":
        table.data[key.encode()] = pickle.dumps(f"state {key}")
    yield table
    runtime._STATE_CACHE.clear()


def load(table: TableStub, key: str) -> object:
    probe = EventStub(RecordStub("t", key.encode(), b"", 0))
    return runtime.UnitOfWork().load(table, key, None, probe)  # type: ignore[arg-type]


def cached() -> list[str]:
    return [key.decode() for _, key in runtime._STATE_CACHE]


def test_the_least_recently_used_go_first_a_quarter_at_a_time(small_cache: TableStub) -> None:
    for key in "abcdefgh":
        load(small_cache, key)
    assert cached() == list("abcdefgh")
    assert load(small_cache, "a") == "state a"  # a hit: now the most recently used
    assert cached() == list("bcdefgha")
    runtime._make_room(0)  # fits: nothing dropped
    assert len(cached()) == 8
    runtime._make_room(2)  # 2 over the bound of 8: those 2 and a quarter of it (2) go
    assert cached() == list("fgha")
    # a dropped key is read from the store again, and is then the most recently used
    small_cache.data[b"b"] = pickle.dumps("state b, rewritten")
    assert load(small_cache, "b") == "state b, rewritten"
    assert cached() == list("fghab")


def test_encodings_are_kept_for_the_states_the_cache_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(statecodec, "ENCODED_ENTRIES", statecodec.ENCODED_ENTRIES)
    statecodec.size_encodings(100_000)
    assert statecodec.ENCODED_ENTRIES == 50_000
    statecodec.size_encodings(1_000)
    assert statecodec.ENCODED_ENTRIES == 8_192  # never fewer than before the setting
