"""Every record round-trips; single-object and Confluent encodings decode to equal objects."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import records as r
from schemas.codec import CONFLUENT_MAGIC, SINGLE_OBJECT_MAGIC, Codec, SchemaDecodeError

from .registry_server import LocalSchemaRegistry
from .strategies import any_record, for_record, record_classes

AVSC = Path(__file__).resolve().parents[3] / "schemas" / "avsc"
PER_RECORD = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


@pytest.fixture(scope="module")
def registry() -> Iterator[LocalSchemaRegistry]:
    with LocalSchemaRegistry() as registry:
        yield registry


@pytest.fixture(scope="module")
def confluent(registry: LocalSchemaRegistry) -> Codec:
    return Codec(registry_url=registry.url)


@pytest.mark.parametrize("cls", record_classes(), ids=lambda c: c.__name__)
@PER_RECORD
@given(data=st.data())
def test_every_record_round_trips(codec: Codec, cls: type, data: st.DataObject) -> None:
    record = data.draw(for_record(cls))
    encoded = codec.encode(record)
    assert encoded[:2] == SINGLE_OBJECT_MAGIC
    assert codec.decode(encoded, expected=cls) == record


@pytest.mark.parametrize("cls", record_classes(), ids=lambda c: c.__name__)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_single_object_and_confluent_decode_to_equal_objects(
    codec: Codec, confluent: Codec, cls: type, data: st.DataObject
) -> None:
    record: Any = data.draw(for_record(cls))
    single = codec.encode(record)
    wire = confluent.encode(record)
    assert wire[:1] == CONFLUENT_MAGIC
    assert single[10:] == wire[5:]  # same Avro body, different framing
    assert confluent.decode(wire) == confluent.decode(single) == codec.decode(single) == record


@settings(max_examples=5, deadline=None)
@given(record=any_record)
def test_a_fresh_consumer_resolves_confluent_ids_through_the_registry(
    registry: LocalSchemaRegistry, confluent: Codec, record: Any
) -> None:
    wire = confluent.encode(record)
    schema_id = int.from_bytes(wire[1:5], "big")
    fresh = Codec(registry_url=registry.url)
    assert fresh.decode(wire) == record
    assert ("GET", f"/schemas/ids/{schema_id}") in registry.requests
    subject = f"support.v1.{type(record).__name__}"
    assert schema_id in registry.subjects[subject]


def test_confluent_bytes_without_a_registry_say_what_to_configure(confluent: Codec) -> None:
    wire = confluent.encode(r.SlaTick(partition=1, now=datetime(2026, 1, 1, tzinfo=UTC)))
    with pytest.raises(SchemaDecodeError, match="TICKETSTREAM_SCHEMA_REGISTRY_URL"):
        Codec().decode(wire, topic="support.sla.ticks.v1", partition=0, offset=1)


def test_confluent_readers_resolve_a_newer_writer_schema_from_the_registry(
    registry: LocalSchemaRegistry, tmp_path: Path
) -> None:
    # A newer producer adds an optional field (FULL compatible); this build's reader fetches
    # the writer schema by id and reads the record through Avro schema resolution.
    newer_dir = tmp_path / "avsc"
    shutil.copytree(AVSC, newer_dir)
    path = newer_dir / "SlaTick.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append(
        {"name": "worker", "type": ["null", "string"], "default": None, "doc": "x."}
    )
    path.write_text(json.dumps(schema), encoding="utf-8")
    newer = Codec(registry_url=registry.url, avsc_dir=newer_dir, released_dir=tmp_path / "none")
    tick = r.SlaTick(partition=7, now=datetime(2026, 11, 23, 8, 0, 0, 1000, tzinfo=UTC))
    wire = newer.encode(tick)
    assert Codec(registry_url=registry.url).decode(wire, expected=r.SlaTick) == tick
