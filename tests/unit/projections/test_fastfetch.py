"""projections.fastfetch gives the consumer exactly kafka-python's records and bookkeeping."""

from __future__ import annotations

import random
from typing import Any

import pytest
from kafka.consumer.fetcher import Fetcher
from kafka.errors import CorruptRecordError
from kafka.record import MemoryRecords
from kafka.record.memory_records import MemoryRecordsBuilder
from kafka.structs import TopicPartition

from projections import fastfetch

TP = TopicPartition("support.tickets.events.v1", 3)
FAST = fastfetch._partition_records_class()


def batches(specs: list[dict[str, Any]]) -> bytes:
    """Concatenated record batches; each spec: magic, compression, base offset, records
    ``(timestamp, key, value, headers)``, offsets skipped before each record."""
    out = b""
    for spec in specs:
        builder = MemoryRecordsBuilder(
            spec.get("magic", 2), spec.get("compression", 0), 1 << 20, offset=spec["offset"]
        )
        for i, (ts, key, value, headers) in enumerate(spec["records"]):
            if spec.get("gap") and i:
                builder.skip(spec["gap"])
            builder.append(ts, key, value, headers)
        builder.close()
        out += builder.buffer()
    return out


def read(cls: Any, data: bytes, fetch_offset: int = 0, take: int | None = None) -> Any:
    """(records or the error, next fetch offset, records read, bytes read, drained)."""
    drained: list[Any] = []
    part = cls(fetch_offset, TP, MemoryRecords(data), on_drain=drained.append)
    got: list[Any] = []
    error = None
    try:
        while part:
            chunk = part.take(take)
            if not chunk:
                break
            got.extend(chunk)
    except CorruptRecordError as exc:
        error = str(exc)
    return got, error, part.next_fetch_offset, part.records_read, part.bytes_read, len(drained)


def same(data: bytes, **kw: Any) -> Any:
    expected = read(Fetcher.PartitionRecords, data, **kw)
    assert read(FAST, data, **kw) == expected
    return expected


def records(n: int, seed: int = 1) -> list[tuple[int, bytes | None, bytes | None, list[Any]]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        key = None if i % 7 == 3 else f"T-{rng.randrange(10**6)}".encode()
        value = (
            None
            if i % 11 == 5
            else bytes(rng.randrange(256) for _ in range(rng.choice([0, 5, 200, 700])))
        )
        headers = [("h", b"v"), ("empty", None)] if i % 5 == 2 else []
        out.append((1767571200000 + rng.randrange(-5, 10**6), key, value, headers))
    return out


def test_plain_batches_give_kafka_pythons_records() -> None:
    data = batches(
        [{"offset": 0, "records": records(300)}, {"offset": 300, "records": records(40, 2)}]
    )
    got, error, next_offset, n, _, drained = same(data)
    assert error is None and len(got) == n == 340 and next_offset == 340 and drained == 1
    assert (
        got[3].key is None
        and got[5].value is None
        and got[2].headers == [("h", b"v"), ("empty", None)]
    )


def test_compressed_batches_give_kafka_pythons_records() -> None:
    # gzip (codec 1, in the standard library): decompression is kafka-python's own step for
    # every codec, before the per-record loop fastfetch replaces
    data = batches([{"offset": 10, "compression": 1, "records": records(120)}])
    got, error, next_offset, *_ = same(data)
    assert error is None and len(got) == 120 and next_offset == 130


def test_a_fetch_from_the_middle_of_a_batch_and_partial_takes_agree() -> None:
    data = batches(
        [{"offset": 0, "records": records(50)}, {"offset": 50, "records": records(50, 3)}]
    )
    got, *_ = same(data, fetch_offset=37, take=9)
    assert got[0].offset == 37 and got[-1].offset == 99


def test_compacted_gaps_and_legacy_batches_agree() -> None:
    same(batches([{"offset": 0, "gap": 3, "records": records(20)}]))
    same(batches([{"offset": 5, "magic": 1, "records": [(*r[:3], None) for r in records(20)]}]))


def test_damaged_batches_raise_kafka_pythons_error_after_the_same_records() -> None:
    data = batches(
        [{"offset": 0, "records": records(60)}, {"offset": 60, "records": records(60, 4)}]
    )
    rng = random.Random(9)
    errors = 0
    for _ in range(300):
        damaged = bytearray(data)
        i = rng.randrange(61, len(damaged))  # past the first batch header's length fields
        damaged[i] ^= rng.randrange(1, 256)
        for check in (True, False):
            expected = read(_Unchecked if not check else Fetcher.PartitionRecords, bytes(damaged))
            got = read(_FastUnchecked if not check else FAST, bytes(damaged))
            assert got == expected
            errors += expected[1] is not None
    assert errors > 100  # the damage was seen (CRC checks, structure checks)


class _Unchecked(Fetcher.PartitionRecords):  # type: ignore[misc]
    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, check_crcs=False, **k)


class _FastUnchecked(FAST):  # type: ignore[misc, valid-type]
    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, check_crcs=False, **k)


def test_install_only_on_a_checked_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import kafka

    class Consumer:
        class _fetcher:
            PartitionRecords = Fetcher.PartitionRecords

    monkeypatch.setattr(kafka, "__version__", "3.1.0")
    assert not fastfetch.install(Consumer)
    assert Consumer._fetcher.PartitionRecords is Fetcher.PartitionRecords
    monkeypatch.setattr(kafka, "__version__", "3.0.12")
    assert fastfetch.install(Consumer)
    assert issubclass(Consumer._fetcher.PartitionRecords, Fetcher.PartitionRecords)


def test_log_append_time_batches_agree() -> None:
    data = bytearray(batches([{"offset": 0, "records": records(30)}]))
    data[22] |= 0x08  # attributes (int16 at 21): timestamp type LogAppendTime; CRC not checked
    expected = read(_Unchecked, bytes(data))
    assert expected[1] is None and {r.timestamp_type for r in expected[0]} == {1}
    assert read(_FastUnchecked, bytes(data)) == expected
