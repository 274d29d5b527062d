"""The fused path (projections/fused.py) gives exactly the rows of today's path
(``schemas.fastdecode.DatumDecoder`` datums through ``Projection._project_one``): every column
value with its type (or, in a String column, a str as its UTF-8 bytes: clickhouse-driver
writes both the same), the payload JSON byte for byte, the same drops and the same ticket and
timer state — for every event class, from any state, replays included."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.fused import FLAT_BYTES, FusedDecoder, layout, projectors
from projections.rows import ENVELOPE_BYTES, TABLE_COLUMNS, Batch, Projection
from schemas import records as r
from schemas.codec import default_codec
from schemas.fastdecode import DatumDecoder
from tests.property.schemas.strategies import for_record

CODEC = default_codec()
DATUM = DatumDecoder(CODEC, utf8_bytes=ENVELOPE_BYTES).decode
FUSED_DECODER = FusedDecoder(utf8_bytes=ENVELOPE_BYTES)
FUSED = FUSED_DECODER.decode
EVENTS = sorted(projectors(False), key=lambda c: c.__name__)
NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
# (table, column) of the Enum8 columns: clickhouse-driver maps their str names (bytes break them)
ENUM_COLUMNS = {
    (table, column)
    for sql in (Path(__file__).parents[3] / "projections" / "migrations").glob("*.sql")
    for table, body in re.findall(r"CREATE TABLE IF NOT EXISTS \{db\}\.(\w+)\s*\((.*?)\n\)", sql.read_text(), re.S)
    for column in re.findall(r"^\s*(\w+) Enum8", body, re.M)
}  # fmt: skip
SEQUENCES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Few ticket ids, versions, instants, metrics and instances, so events meet each other's state
TICKETS = st.sampled_from(["T-1", "ติกเก็ต-2"])
AT = st.sampled_from(
    [datetime(2026, 1, 5, 9, 0, tzinfo=UTC), datetime(2026, 1, 5, 9, 0, 0, 1000, tzinfo=UTC),
     datetime(2026, 1, 5, 10, 30, 59, 999000, tzinfo=UTC)]
)  # fmt: skip


# a ticket's life and its timers', which the class's events meet
LIFE = [
    r.TicketOpened, r.TicketAssigned, r.AgentReplied, r.TicketStatusChanged, r.TicketReopened,
    r.SlaTimerStarted, r.SlaTimerPaused, r.SlaBreached, r.SlaTimerFulfilled,
]  # fmt: skip


class NoState:
    """An engine with nothing stored: every ticket and timer starts in memory."""

    def execute(self, _query: str) -> list[Any]:
        return []


def event_of(cls: type) -> st.SearchStrategy[Any]:
    """A record of ``cls`` whose ticket, version, time, metric and instance collide often."""

    def tweak(rec: Any, tid: str, version: int, at: datetime, instance: int, metric: Any) -> Any:
        env = rec.envelope
        env = dataclasses.replace(env, aggregate_version=version, occurred_at=at)
        names = {f.name for f in dataclasses.fields(rec)}
        changes: dict[str, Any] = {"envelope": env}
        if "ticket_id" in names:
            changes["ticket_id"] = tid
        if "instance" in names:
            changes["instance"] = instance
            changes["metric"] = metric
        return dataclasses.replace(rec, **changes)

    return st.builds(
        tweak, for_record(cls), TICKETS, st.integers(0, 4), AT, st.integers(0, 1),
        st.sampled_from(list(r.SlaMetric)[:2]),
    )  # fmt: skip


def run_both(records: list[Any], store_bodies: bool, as_datum: list[bool] | None = None) -> None:
    """Project ``records`` in two batches through both paths and compare everything
    (``as_datum``: which records the fused side takes as datums, as the decoder's fallback
    hands them over, in the same batches as the flat ones)."""
    data = [CODEC.encode(rec) for rec in records]
    old = Projection(NoState(), "db", store_bodies=store_bodies)
    new = Projection(NoState(), "db", store_bodies=store_bodies)
    old_items = [(*DATUM(b, "t", 0, i), ("topic", 1, i)) for i, b in enumerate(data)]
    new_items = [(*FUSED(b, "t", 0, i), ("topic", 1, i)) for i, b in enumerate(data)]
    assert all(type(d) is tuple for _, d, _ in new_items), "an event took the dict path"
    if as_datum is not None:
        new_items = [o if d else n for o, n, d in zip(old_items, new_items, as_datum, strict=False)]
    half = len(data) // 2
    for part in (slice(0, half), slice(half, None), slice(0, None)):  # the last: a replay
        assert new.missing_data(new_items[part]) == old.missing_data(old_items[part])
        old.load_state_data(old_items[part])
        new.load_state_data(new_items[part])
        assert_same(old.project_data(old_items[part], NOW), new.project_data(new_items[part], NOW))
    assert state_rows(new) == state_rows(old)


def assert_same(old: Batch, new: Batch) -> None:
    assert (new.dropped, new.newest_event_ms) == (old.dropped, old.newest_event_ms)
    for table, rows in old.rows.items():
        assert len(new.rows[table]) == len(rows), table
        for want, got in zip(rows, new.rows[table], strict=True):
            assert len(got) == len(want) == len(TABLE_COLUMNS[table]), table
            for column, w, g in zip(TABLE_COLUMNS[table], want, got, strict=True):
                if type(w) is str and type(g) is bytes and (table, column) not in ENUM_COLUMNS:
                    g = g.decode()  # a String cell as its UTF-8: the same value in ClickHouse
                assert (g, type(g)) == (w, type(w)), (table, column)


def state_rows(p: Projection) -> tuple[dict[Any, Any], dict[Any, Any]]:
    return (
        {k: v.row() for k, v in p.tickets._data.items()},
        {k: v.row() for k, v in p.timers._data.items()},
    )


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.__name__)
@SEQUENCES
@given(data=st.data(), store_bodies=st.booleans())
def test_every_event_class_projects_to_the_same_rows_and_state_as_the_datum_path(
    cls: type, data: Any, store_bodies: bool
) -> None:
    # the class's events on top of a ticket's life (opened, assigned, replied, timers)
    setup = data.draw(st.lists(st.sampled_from(LIFE).flatmap(event_of), max_size=6))
    own = data.draw(st.lists(event_of(cls), min_size=1, max_size=5))
    mixed = data.draw(st.permutations(setup + own))
    run_both(mixed, store_bodies)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mixed_stream_of_every_event_class_gives_the_same_rows(data: Any) -> None:
    records = data.draw(st.lists(st.sampled_from(EVENTS).flatmap(event_of), max_size=20))
    run_both(records, store_bodies=data.draw(st.booleans()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_batch_mixing_flat_tuples_and_datums_gives_the_same_rows(data: Any) -> None:
    records = data.draw(st.lists(st.sampled_from(EVENTS).flatmap(event_of), max_size=20))
    as_datum = data.draw(st.lists(st.booleans(), min_size=len(records), max_size=len(records)))
    run_both(records, store_bodies=False, as_datum=as_datum)


def test_every_event_class_of_this_build_is_generated() -> None:
    with_envelope = {
        cls for cls in vars(r).values()
        if isinstance(cls, type) and dataclasses.is_dataclass(cls)
        and "envelope" in {f.name for f in dataclasses.fields(cls)}
    }  # fmt: skip
    assert set(EVENTS) == with_envelope


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.__name__)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_flat_tuple_holds_the_datums_values_in_the_layouts_order(cls: type, data: Any) -> None:
    encoded = CODEC.encode(data.draw(for_record(cls)))
    _, datum = DATUM(encoded)
    got_cls, flat = FUSED(encoded)
    found = layout(cls)
    assert found is not None and got_cls is cls
    want = []
    for path in found[1]:
        value = datum
        for name in path:
            value = value[name]
        want.append(value.encode() if path in FLAT_BYTES else value)
    assert flat == tuple(want)
    assert [type(v) for v in flat] == [type(v) for v in want]
    # what the projector's record loop tries first: the same class and tuple
    flat_cls, read = FUSED_DECODER.flat[encoded[:10]]
    assert flat_cls is cls and read(encoded) == flat


def test_bytes_the_flat_reader_refuses_get_the_datum_decoders_answer() -> None:
    env = r.Envelope("e", NOW, NOW, "T-1", 1, "c", "k", r.Actor(r.ActorKind.AGENT, "A1"), "t")
    good = CODEC.encode(r.TicketUnassigned(env, "T-1", "A1"))
    assert type(FUSED(good)[1]) is tuple
    padded = good + b"\x00"  # bytes left over: not what the flat reader vouches for
    assert outcome(FUSED, padded) == outcome(DATUM, padded)
    with pytest.raises(Exception):  # noqa: B017 - the projector's loop then calls decode
        FUSED_DECODER.flat[padded[:10]][1](padded)


def outcome(decode: Any, data: bytes) -> Any:
    try:
        return decode(data, "t", 0, 1)
    except Exception as exc:  # the codec's SchemaDecodeError, compared by its message
        return type(exc), str(exc)
