"""Table values pickled with the fast reducers come back equal, and old pickles still load."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from schemas.records import Channel, TicketStatus
from streams.domain.threading import ConversationState, thread
from streams.domain.tickets import TicketState, evolve, handle
from streams.statecodec import dumps
from streams.testing import channel_messages


def built_ticket() -> tuple[ConversationState, TicketState]:
    conv = ConversationState("line:acct-line:conv-0")
    ticket: TicketState | None = None
    for message in channel_messages(1, 3):
        conv, commands = thread(conv, message)
        for command in commands:
            ticket = ticket or TicketState(command.ticket_id)
            for event in handle(ticket, command, datetime(2026, 11, 23, tzinfo=UTC)).events:
                ticket = evolve(ticket, event)
    assert ticket is not None and ticket.recent_outcomes  # nested records inside
    return conv, ticket


def test_states_and_records_round_trip() -> None:
    conv, ticket = built_ticket()
    value = (conv, ticket, [{"type": "x"}], Channel.LINE, TicketStatus.NEW)
    assert pickle.loads(dumps(value)) == value


def test_states_pickled_the_default_way_still_load() -> None:
    _, ticket = built_ticket()
    assert pickle.loads(pickle.dumps(ticket, protocol=5)) == ticket
    assert pickle.loads(dumps(ticket)) == pickle.loads(pickle.dumps(ticket, protocol=5))


def test_utc_comes_back_as_the_utc_singleton_and_other_offsets_equal() -> None:
    from datetime import timedelta, timezone

    at = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=UTC)
    assert pickle.loads(dumps(at)).tzinfo is UTC
    for tz in (timezone(timedelta(hours=7)), timezone(timedelta(hours=-3, minutes=-30), "X")):
        back = pickle.loads(dumps(at.astimezone(tz)))
        assert (back, back.tzinfo, back.tzname()) == (at, tz, tz.tzname(None))


def test_each_value_is_a_complete_pickle_even_after_a_failed_one() -> None:
    import io

    from streams import statecodec

    conv, ticket = built_ticket()

    def fresh(value: object) -> bytes:
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = statecodec._REDUCERS
        pickler.dump(value)
        return buf.getvalue()

    first = dumps(ticket)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        dumps((ticket, lambda: None))  # unpicklable, after part of it was written
    assert dumps(ticket) == first == fresh(ticket)
    assert dumps(conv) == fresh(conv)  # nothing of the ticket (memo, bytes) carried over
    assert pickle.loads(dumps(conv)) == conv


def sent(ticket: TicketState) -> list[object]:
    """The events a ticket state keeps, each noted with its Avro bytes as the agent sends them."""
    from schemas.fastencode import compiled_encoder
    from streams.statecodec import remember_encoding

    events = [ev for _, evs in ticket.recent_outcomes for ev in evs]
    for ev in events:
        remember_encoding(ev, compiled_encoder(type(ev))(ev))
    return events


def test_events_just_sent_are_stored_as_their_avro_bytes_and_come_back_equal() -> None:
    from schemas.fastencode import compiled_encoder

    _, ticket = built_ticket()
    before = dumps(ticket)
    events = sent(ticket)
    raw = dumps(ticket)
    assert b"event_from_avro" in raw and b"event_from_avro" not in before
    for ev in events:
        assert compiled_encoder(type(ev))(ev) in raw
    back = pickle.loads(raw)
    assert back == ticket == pickle.loads(before)
    assert dumps(back) == raw  # a loaded event is noted with its bytes too


def test_an_event_with_sub_millisecond_times_is_pickled_field_by_field() -> None:
    from streams.domain.replace import replace

    _, ticket = built_ticket()
    (cid, (first, *rest)), *others = ticket.recent_outcomes
    env = replace(first.envelope, recorded_at=datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC))
    ticket = replace(
        ticket, recent_outcomes=((cid, (replace(first, envelope=env), *rest)), *others)
    )
    sent(ticket)
    back = pickle.loads(dumps(ticket))
    assert back == ticket  # Avro would have kept 09:00:00.123
    assert back.recent_outcomes[0][1][0].envelope.recorded_at.microsecond == 123456


def test_now_ms_is_whole_milliseconds_in_utc() -> None:
    import streams.app  # noqa: F401  (first: it imports the agents, which import streams.runtime)
    from streams.runtime import now_ms

    at = now_ms()
    assert at.tzinfo is UTC and at.microsecond % 1000 == 0
