"""The fused path of a channel message (streams/fused.py) gives exactly what the general path
gives: random streams of channel messages — redeliveries, colliding dedup keys and ticket ids,
several senders in a conversation, attachments, linked identities, damaged and foreign
records, ticket commands (assign, solve, close, pending, merge) between them, batch commits and
state-cache evictions — run through both, and each batch must produce the same sends (topic,
key, Avro bytes, partition, order), the same table writes (key order, values, their pickles),
the same counts (metric, labels, order) and the same dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streams.app  # noqa: F401  (first: it imports the agents, which import streams.runtime)
from schemas import codec
from schemas.records import (
    Actor,
    ActorKind,
    AssignTicket,
    Attachment,
    ChangeTicketStatus,
    Channel,
    ChannelMessageReceived,
    CommandHeader,
    Envelope,
    MergeTickets,
    TicketStatus,
)
from streams import fused, runtime
from streams.agents import handle_ticket_commands as htc
from streams.agents import identity_owners
from streams.agents import thread_channel_messages as tcm
from streams.domain.threading import ConversationState
from streams.runtime import partition_of
from streams.statecodec import dumps
from streams.testing import EventStub, RecordStub, TableStub

NOW = datetime(2026, 12, 7, 20, 0, 0, 123000, tzinfo=UTC)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHANNELS = (Channel.LINE, Channel.WHATSAPP, Channel.EMAIL)
AGENT = Actor(ActorKind.AGENT, "agent-1")
FILES = (
    Attachment("image", url="https://x/1"),
    Attachment("file", None, "ext-2", "application/pdf", "ใบเสร็จ.pdf", 123_456),
)


# One step of a stream: a channel message, a redelivery, a ticket command, a link, a bad
# record, a commit, an eviction of the state cache.
messages = st.tuples(
    st.just("msg"),
    st.integers(0, 3),  # conversation
    st.integers(0, 29),  # dedup key (a small pool: redeliveries and ids shared by conversations)
    st.integers(0, 2),  # sender
    st.sampled_from(["hello", "สวัสดีครับ", "", "👍🏽"]),
    st.integers(0, 10_000),  # seconds after T0
    st.sampled_from([False, False, False, True]),  # attachments
    st.sampled_from([{}, {"token": "r1"}, {"external_user_id": "u9", "token": "r2"}]),
    st.sampled_from([None, "Subject"]),
    st.sampled_from([None, "th"]),
    st.sampled_from([None, "brand-1"]),
    st.booleans(),  # reply context expires
)
steps = st.one_of(
    messages,
    messages,
    messages,
    messages,
    messages,
    st.tuples(st.just("again"), st.integers(0, 50)),
    st.tuples(
        st.just("command"),
        st.integers(0, 3),
        st.sampled_from(["assign", "assign", "solved", "closed", "pending", "open", "merge"]),
    ),
    # values written by earlier versions: a conversation's ticket in another partition, a
    # bare ticket state (lines in ticket_history), lines newer than the state (a torn write)
    st.tuples(st.sampled_from(["elsewhere", "bare", "torn"]), st.integers(0, 3)),
    st.tuples(st.just("link"), st.integers(0, 2), st.integers(0, 1)),  # a link: 1 in 2
    st.tuples(st.just("bad"), st.sampled_from(["truncated", "foreign", "garbage", "none"])),
    st.tuples(st.just("commit")),
    st.tuples(st.just("evict")),
)
streams_of_steps = st.integers(8, 60).flatmap(lambda n: st.lists(steps, min_size=n, max_size=n))


def channel_message(step: tuple[Any, ...]) -> ChannelMessageReceived:
    _, conv, dedup, sender, text, secs, attach, reply, subject, language, brand, expires = step
    ch = CHANNELS[conv % len(CHANNELS)]
    key = f"{ch.value}:acct:conv-{conv}"
    dedup_key = f"d-{dedup}"
    at = T0 + timedelta(seconds=secs, milliseconds=secs % 7)
    env = Envelope(dedup_key, at, at, key, 1, dedup_key, f"corr-{dedup}",
                   Actor(ActorKind.CUSTOMER, f"u{sender}"), "tenant", brand)  # fmt: skip
    return ChannelMessageReceived(
        env, ch, "acct", f"conv-{conv}", f"u{sender}", f"x-{dedup}-{secs}", dedup_key, key,
        text, at, attachments=FILES if attach else (),
        subject=subject, language=language, reply_context=dict(reply),
        reply_context_expires_at=at + timedelta(hours=1) if expires else None,
    )  # fmt: skip


def conversation_key(conv: int) -> str:
    ch = CHANNELS[conv % len(CHANNELS)]
    return f"{ch.value}:acct:conv-{conv}"


@contextmanager
def world(counts: list[tuple[Any, ...]]) -> Iterator[None]:
    """Fresh tables, a fixed clock, counts recorded in ``counts``; restored afterwards."""
    saved = (
        tcm.conversations, htc.tickets, htc.ticket_history, htc.now_ms, fused.now_ms,
        runtime.now, tcm.count, htc.count, fused.count, dict(identity_owners.OWNERS),
    )  # fmt: skip

    def record(metric: Any, *labels: str) -> None:
        counts.append((metric._name, *labels))

    tcm.conversations = TableStub("conversations")  # type: ignore[assignment]
    htc.tickets = TableStub("tickets")  # type: ignore[assignment]
    htc.ticket_history = TableStub("ticket_history")  # type: ignore[assignment]
    htc.now_ms = fused.now_ms = lambda: NOW  # type: ignore[assignment]
    runtime.now = lambda: NOW  # type: ignore[assignment]
    tcm.count = htc.count = fused.count = record  # type: ignore[assignment]
    identity_owners.OWNERS.clear()
    runtime._forget_states()
    try:
        yield
    finally:
        (
            tcm.conversations, htc.tickets, htc.ticket_history, htc.now_ms, fused.now_ms,
            runtime.now, tcm.count, htc.count, fused.count, owners,
        ) = saved  # type: ignore[assignment]  # fmt: skip
        identity_owners.OWNERS.clear()
        identity_owners.OWNERS.update(owners)
        runtime._forget_states()


def current_ticket(uow: runtime.UnitOfWork, conv: int) -> str | None:
    key = conversation_key(conv)
    probe = EventStub(RecordStub("m", key.encode(), b"", 0))
    state = uow.load(tcm.conversations, key, None, probe)  # type: ignore[arg-type]
    return None if state is None else state.ticket_id


def command_events(uow: runtime.UnitOfWork, step: tuple[Any, ...], n: int) -> list[EventStub]:
    """The ticket commands of ``step`` for a conversation's current ticket (solving and closing
    assign it first, so that they are accepted)."""
    _, conv, kind = step
    ticket_id = current_ticket(uow, conv)
    if ticket_id is None:
        return []
    kinds = {"solved": ["assign", "solved"], "closed": ["assign", "solved", "closed"]}
    out = []
    for i, what in enumerate(kinds.get(kind, [kind])):
        header = CommandHeader(f"cmd-{n}-{i}", T0 + timedelta(hours=5, seconds=n), ticket_id,
                               f"corr-cmd-{n}", AGENT, "tenant")  # fmt: skip
        command: Any
        if what == "assign":
            command = AssignTicket(header, ticket_id, "agent-1")
        elif what == "merge":
            other = current_ticket(uow, (conv + 1) % 4)
            if other is None:
                return []
            command = MergeTickets(header, ticket_id, other)
        else:
            command = ChangeTicketStatus(header, ticket_id, TicketStatus(what))
        out.append(EventStub(RecordStub("commands", ticket_id.encode(), codec.encode(command), n)))
    return out


def legacy(uow: runtime.UnitOfWork, kind: str, conv: int) -> None:
    """Put a value an earlier version (or a kill -9 between two values) could have left."""
    key = conversation_key(conv)
    probe: Any = EventStub(RecordStub("m", key.encode(), b"", 0))
    uow.begin()
    if kind == "elsewhere":
        if current_ticket(uow, conv) is None:
            n = next(
                i for i in range(100) if partition_of(f"T-old-{conv}-{i}") != partition_of(key)
            )
            state = ConversationState(key, f"T-old-{conv}-{n}", "C-old", 1, ("d-old",))
            uow.store(tcm.conversations, key, state, probe)
    else:
        ticket_id = current_ticket(uow, conv)
        entry = None if ticket_id is None else uow.load(htc.tickets, ticket_id, None, probe)
        if type(entry) is tuple and ticket_id is not None:
            state, lines = entry
            if kind == "bare":
                uow.store(htc.tickets, ticket_id, state, probe)
                uow.store(htc.ticket_history, ticket_id, list(lines), probe)
            else:
                torn = [*lines, ("e-torn", state.version + 1, b"")]
                uow.store(htc.tickets, ticket_id, (state, torn), probe)
    uow.keep()


def bad_event(kind: str, sent: list[bytes], n: int) -> EventStub:
    good = sent[-1] if sent else codec.encode(channel_message(("msg", 0, 0, 0, "x", 1, False, {},
                                                               None, None, None, False)))  # fmt: skip
    value: Any = {
        "truncated": good[:-3],
        "foreign": codec.encode(
            MergeTickets(CommandHeader("c", T0, "T-1", "c", AGENT, "t"), "T-1", "T-2")
        ),
        "garbage": b"\xc3\x01" + good[2:10] + b"\xff\xff\xff",
        "none": None,
    }[kind]
    return EventStub(RecordStub("messages", conversation_key(0).encode(), value, n))


def run(stream: list[tuple[Any, ...]], use_fused: bool) -> list[Any]:
    """What each batch of ``stream`` sends, writes and counts (and the tables at the end)."""
    handle = tcm._handle if use_fused else tcm._general
    counts: list[tuple[Any, ...]] = []
    out: list[Any] = []
    sent: list[bytes] = []
    with world(counts):
        uow = runtime.UnitOfWork()

        def commit() -> None:
            nonlocal uow
            uow.keep()
            writes = [(k, value, dumps(value)) for k, (_, value, _) in uow._writes.items()]
            out.append((list(uow._sends), writes, list(counts)))
            counts.clear()
            for (name, key), (tbl, value, _) in uow._writes.items():
                tbl.data[key] = dumps(value)
                runtime._STATE_CACHE[(name, key)] = value
            uow = runtime.UnitOfWork()

        def apply(h: Any, event: EventStub) -> None:
            uow.begin()
            try:
                h(uow, event)
                uow.keep()
            except Exception as exc:
                uow.park(event, exc)  # type: ignore[arg-type]

        for n, step in enumerate(stream):
            kind = step[0]
            event: EventStub | None
            if kind == "command":
                for event in command_events(uow, step, n):
                    apply(htc._handle, event)
                continue
            if kind == "commit":
                commit()
                continue
            if kind == "evict":
                commit()
                runtime._forget_states()
                continue
            if kind in ("elsewhere", "bare", "torn"):
                legacy(uow, kind, step[1])
                continue
            if kind == "link":
                if step[2]:
                    continue
                label = f"{CHANNELS[step[1] % 3].value}:acct:u{step[1]}"
                identity_owners.OWNERS[label] = f"C-linked-{step[1]}"
                continue
            if kind == "msg":
                value = codec.encode(channel_message(step))
                sent.append(value)
                event = EventStub(
                    RecordStub("messages", conversation_key(step[1]).encode(), value, n)
                )
                h = handle
            elif kind == "again":
                if not sent:
                    continue
                value = sent[step[1] % len(sent)]
                key = codec.decode(value).conversation_key.encode()
                event, h = EventStub(RecordStub("messages", key, value, n)), handle
            elif kind == "bad":
                event, h = bad_event(step[1], sent, n), handle
            else:
                raise AssertionError(kind)
            apply(h, event)
        commit()
        tables = [dict(t.data) for t in (tcm.conversations, htc.tickets, htc.ticket_history)]
        out.append(tables)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams_of_steps)
def test_the_fused_path_sends_writes_and_counts_what_the_general_path_does(
    stream: list[tuple[Any, ...]],
) -> None:
    general = run(stream, use_fused=False)
    fast = run(stream, use_fused=True)
    assert len(fast) == len(general)
    for batch, (got, want) in enumerate(zip(fast, general, strict=True)):
        assert got == want, f"batch {batch} differs"


def test_the_benchmarks_messages_all_take_the_fused_path() -> None:
    """Every message of the benchmark (first messages and messages for the open ticket) is a
    fused case, its CustomerMessageAppended written by the fused writer: a schema change that
    turns either off fails here."""
    from streams.testing import channel_messages

    taken = []
    real = fused.thread_fused

    def spy(*args: Any) -> bool:
        taken.append(real(*args))
        return taken[-1]

    tcm.thread_fused = spy  # type: ignore[assignment]
    try:
        with world([]):
            uow = runtime.UnitOfWork()
            for i, m in enumerate(channel_messages(12, 3)):
                key = m.conversation_key.encode()
                uow.begin()
                tcm._handle(uow, EventStub(RecordStub("m", key, codec.encode(m), i)))  # type: ignore[arg-type]
                uow.keep()
    finally:
        tcm.thread_fused = real
    assert taken == [True] * 36
    assert fused._writer() is not None  # the appended event's bytes written directly
