"""The fused path of a channel message: its record's bytes → the ticket events' Avro bytes and
the new conversation and ticket states, without the intermediate objects (the worker's hot path).

The general path (``streams.agents.thread_channel_messages._general``) decodes the record into
a ``ChannelMessageReceived`` (with its envelope, actor and enums), threads it into commands
(``streams.domain.threading.thread``: headers, ``OpenTicket`` / ``AppendCustomerMessage``),
and applies each command to its ticket (``handle_ticket_commands.apply_commands``: ``handle``
→ ``decide`` with an ``EnvelopeFactory`` → ``Outcome`` → ``evolve`` per event through a dict of
changes). For the two cases that are nearly every message, this module does the same from the
record's fields read into one flat tuple (``schemas.fastdecode.compiled_flat_reader``), building
only what is kept or sent — the events (the ticket state keeps them) and the states:

(a) **append**: the conversation has a current ticket, stored in this partition as a
    ``(state, lines)`` value, NEW or OPEN, that has seen neither the command nor the message:
    one ``CustomerMessageAppended``;
(b) **open**: the conversation has no ticket yet and the ticket its first message opens
    (placed in this partition) was never written: ``TicketOpened``, then (a) on it.

The appended event's Avro bytes are written from the fields at hand (``_appended_bytes``: the
times as the milliseconds they were read as, the ticket id encoded once for its two fields),
not from the event through ``schemas.fastencode`` (~6.6 µs an event); ``_writer`` checks it
against ``encode`` on a sample event for the process's codec and falls back to ``encode`` if
they differ.

Anything else goes the general way, in the same batch and in order, before this path has
changed anything: a redelivery (dedup key seen), a ticket that is solved, pending, on hold or
closed (reopen, follow-up), one in another partition or missing, a first message whose
ticket id exists already (colliding dedup keys), a command or message the ticket has seen,
history lines newer than the event, a record this build's flat reader does not
read (another schema or class, a released schema's bytes, the Confluent wire format, damaged
bytes: the general path decodes it, or dead-letters it with the codec's error). A sender
whose identity is linked to another customer (``identity_owners.OWNERS``) is fused too, its
ticket's customer looked up as ``linked_customer`` does.

The rules below repeat ``thread`` (threading), ``handle``/``decide``'s ``_open`` and ``_append``
and ``evolve`` for those two cases: change both together. ``tests/property/streams/
test_fused_threading.py`` runs random message streams (redeliveries, edge cases, colliding
ids, ticket commands between them) through both paths and requires the same sends (Avro
bytes, keys, partitions, order), the same table writes (values and their pickles), the same
counts and the same dead letters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from schemas.codec import SINGLE_OBJECT_MAGIC, Codec, default_codec
from schemas.fastdecode import compiled_flat_reader, millis_to_datetime
from schemas.fastencode import avro_long
from schemas.records import (
    Attachment,
    Channel,
    ChannelMessageReceived,
    CustomerMessageAppended,
    Envelope,
    IdentityRef,
    Priority,
    TicketOpened,
    TicketStatus,
)
from streams import metrics
from streams.agents import identity_owners
from streams.agents.handle_ticket_commands import HISTORY_LIMIT
from streams.domain.identity import label
from streams.domain.ids import derive_id, short_id
from streams.domain.replace import replace
from streams.domain.threading import RECENT_MESSAGES, SYSTEM, ConversationState, placed_id
from streams.domain.tickets import TicketState
from streams.domain.tickets.state import remember, remember_outcome
from streams.history import line_version
from streams.runtime import UnitOfWork, count, encode, now_ms, partition_of
from streams.statecodec import remember_encoding

# The flat tuple's fields, in the order the reader returns them (this build's schema): the
# fused path is off when the schema's fields differ (``_reader``), the general path then
# takes every record.
FIELDS = (
    ("envelope", "event_id"), ("envelope", "occurred_at"), ("envelope", "recorded_at"),
    ("envelope", "aggregate_id"), ("envelope", "aggregate_version"),
    ("envelope", "causation_id"), ("envelope", "correlation_id"),
    ("envelope", "actor", "kind"), ("envelope", "actor", "id"), ("envelope", "tenant_id"),
    ("envelope", "brand_id"), ("channel",), ("account_id",), ("external_conversation_id",),
    ("external_user_id",), ("external_message_id",), ("dedup_key",), ("conversation_key",),
    ("text",), ("sent_at",), ("attachments",), ("language",), ("customer_display_name",),
    ("subject",), ("thread_refs",), ("ticket_hint",), ("reply_context",),
    ("reply_context_expires_at",),
)  # fmt: skip
_FLATTEN = frozenset({(), ("envelope",), ("envelope", "actor")})
_CHANNELS = {member.value: member for member in Channel}
_FUSED_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN)  # decide._append: no reopen
_APPEND, _OPEN = "AppendCustomerMessage", "OpenTicket"  # command kinds, as counted

Reader = Callable[[bytes], tuple[Any, ...]]
_READER: tuple[Codec, bytes, Reader] | None = None


def _reader() -> tuple[bytes, Reader] | None:
    """(the first 10 bytes of a ChannelMessageReceived of this build's schema, its flat
    reader) for the process-wide codec, or None (no such schema, or its fields differ)."""
    global _READER
    codec = default_codec()
    if _READER is None or _READER[0] is not codec:
        schema = codec.schemas.get(ChannelMessageReceived.__name__)
        found = compiled_flat_reader(schema.expanded, _FLATTEN) if schema is not None else None
        fp = next(
            (fp for fp, r in codec._readers.items()
             if r.reader is None and r.cls is ChannelMessageReceived),
            None,
        )  # fmt: skip
        if found is None or found[1] != FIELDS or fp is None:
            _READER = (codec, b"", _refuse)
        else:
            _READER = (codec, SINGLE_OBJECT_MAGIC + fp, found[0])
    return (_READER[1], _READER[2]) if _READER[1] else None


def _refuse(data: bytes) -> tuple[Any, ...]:
    raise ValueError("no flat reader for ChannelMessageReceived in this build")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# (codec, header, the actor's bytes, channel symbol -> its bytes) of CustomerMessageAppended's
# Avro encoding as _appended_bytes writes it; None: not for this codec (encode() instead)
_WRITER: tuple[Codec, tuple[bytes, bytes, dict[str, bytes]] | None] | None = None


def _writer() -> tuple[bytes, bytes, dict[str, bytes]] | None:
    """The constants ``_appended_bytes`` needs for the process-wide codec, or None when its
    output differs from ``encode``'s for a sample event (a schema change: encode() then)."""
    global _WRITER
    codec = default_codec()
    if _WRITER is None or _WRITER[0] is not codec:
        _WRITER = (codec, None)
        writer = codec._writers.get(CustomerMessageAppended)
        schema = codec.schemas.get(CustomerMessageAppended.__name__)
        if writer is not None and schema is not None and codec.registry is None:
            fields = {f["name"]: f["type"] for f in schema.expanded["fields"]}
            env = {f["name"]: f["type"] for f in fields["envelope"]["fields"]}
            actor = {f["name"]: f["type"] for f in env["actor"]["fields"]}
            kinds, channels = actor["kind"]["symbols"], fields["channel"]["symbols"]
            consts = (
                writer.header,
                avro_long(kinds.index(SYSTEM.kind.value)) + _string(SYSTEM.id),
                {c: avro_long(i) for i, c in enumerate(channels)},
            )
            at = datetime(2026, 12, 7, 20, 15, 1, 234000, tzinfo=UTC)
            sample = CustomerMessageAppended(
                Envelope("e", at, at, "T-ü", 300, "c", "r", SYSTEM, "t", "b"),
                "T-ü", "m", Channel.LINE, "สวัสดี", at, (), "u",
                {"external_user_id": "u", "k": "ว"}, at,
            )  # fmt: skip
            ms = (at - _EPOCH) // _MS
            ours = _appended_bytes(
                consts, "e", ms, ms, "T-ü", 300, "c", "r", "t", "b", "m", "line", "สวัสดี", ms,
                "u", sample.reply_context, ms,
            )  # fmt: skip
            if ours == encode(sample):
                _WRITER = (codec, consts)
    return _WRITER[1]


def _string(value: str) -> bytes:
    e = value.encode()
    return avro_long(len(e)) + e


def _appended_bytes(
    consts: tuple[bytes, bytes, dict[str, bytes]],
    event_id: str, occurred_ms: int, recorded_ms: int, ticket_id: str, version: int,
    causation_id: str, correlation_id: str, tenant_id: str, brand_id: str | None,
    message_id: str, channel_symbol: str, text: str, sent_ms: int,
    external_user_id: str | None, reply_context: dict[str, str], expires_ms: int | None,
) -> bytes:  # fmt: skip
    """The Avro single-object encoding of the CustomerMessageAppended with these fields (its
    actor: threading's SYSTEM; no attachments), as ``encode`` writes it (``_writer`` checks)."""
    header, actor, channels = consts
    ticket = _string(ticket_id)
    out = [
        header, _string(event_id), avro_long(occurred_ms), avro_long(recorded_ms), ticket,
        avro_long(version), _string(causation_id), _string(correlation_id), actor,
        _string(tenant_id), b"\x00" if brand_id is None else b"\x02" + _string(brand_id),
        ticket, _string(message_id), channels[channel_symbol], _string(text),
        avro_long(sent_ms), b"\x00",
        b"\x00" if external_user_id is None else b"\x02" + _string(external_user_id),
    ]  # fmt: skip
    if reply_context:
        out.append(avro_long(len(reply_context)))
        for key, value in reply_context.items():
            out.append(_string(key))
            out.append(_string(value))
    out.append(b"\x00")
    out.append(b"\x00" if expires_ms is None else b"\x02" + avro_long(expires_ms))
    return b"".join(out)


def thread_fused(
    uow: UnitOfWork,
    event: faust.EventT[Any],
    conversations: faust.Table[Any, Any],
    tickets: faust.Table[Any, Any],
    ticket_events_topic: faust.TopicT,
) -> bool:
    """Thread the channel message of ``event`` and apply it to its ticket if it is one of the
    fused cases (module doc), as the general path would; False (nothing done) otherwise."""
    data = event.message.value
    found = _reader()
    if found is None or type(data) is not bytes or data[:10] != found[0]:
        return False
    try:
        (
            _, _, _, _, _, _, correlation_id, _, _, tenant_id, brand_id, channel_symbol,
            account_id, _, external_user_id, external_message_id, dedup_key,
            conversation_key, text, sent_ms, attachments, language, _, subject, _, _,
            reply_context, expires_ms,
        ) = found[1](data)  # fmt: skip
        # the records fastdecode's converter makes of the attachments' datums (no enums or
        # times among their fields)
        files = tuple([Attachment(**a) for a in attachments]) if attachments else ()
    except Exception:
        return False  # not canonical, or damaged: the general path decides
    here = event.message.partition
    conversation = uow.load(conversations, conversation_key, None, event)
    ticket_id: str | None
    customer: str | None
    if conversation is None:
        ticket_id = customer = None
        recent: tuple[str, ...] = ()
        message_count = 0
    else:
        if dedup_key in conversation.recent_messages:
            return False  # a redelivery
        ticket_id = conversation.ticket_id
        customer = conversation.customer_id
        recent = conversation.recent_messages
        message_count = conversation.message_count
    channel = _CHANNELS[channel_symbol]
    # thread's customer: the one the sender's identity is linked to (identity_owners'
    # linked_customer), else the conversation's, else the identity's own
    owners = identity_owners.OWNERS
    if owners:
        customer = owners.get(label(IdentityRef(channel, account_id, external_user_id))) or customer
    if customer is None:
        customer = short_id("C", channel, account_id, external_user_id)
    opens = ticket_id is None
    if ticket_id is None:
        ticket_id = placed_id(short_id("T", dedup_key), lambda t: partition_of(t) == here)
    elif partition_of(ticket_id) != here:
        return False  # its commands go through the commands topic
    entry = uow.load(tickets, ticket_id, None, event)
    state: TicketState | None = None
    history: Any = ()
    if opens:
        if entry is not None:
            return False  # the id exists: the general path rejects or drops the command
    else:
        if type(entry) is not tuple:
            return False  # never written, or written before the history moved beside it
        state, history = entry
        if state.status not in _FUSED_STATUSES:
            return False  # reopens (solved, pending, on hold), follow-up (closed), or none
        if history and line_version(history[-1]) > state.version:
            return False  # lines newer than the state (a kill -9 between two values)
    append_id = derive_id(dedup_key, "append")
    if state is not None and (
        append_id in state.recent_commands or dedup_key in state.recent_messages
    ):
        return False
    # the conversation (thread): changed by its first message only, stored before the
    # ticket, as the general path does
    conv_key = conversation_key
    sent_at = millis_to_datetime(sent_ms)
    if opens:
        uow.store(
            conversations,
            conv_key,
            ConversationState(
                conv_key,
                ticket_id=ticket_id,
                customer_id=customer,
                message_count=message_count + 1,
                recent_messages=(*recent, dedup_key)[-RECENT_MESSAGES:],
            ),
            event,
        )
    count(metrics.MESSAGES_THREADED, channel_symbol)
    events_topic = ticket_events_topic
    lines: list[Any]
    if state is None:  # (b) OpenTicket → TicketOpened (decide._open, evolve)
        open_id = derive_id(dedup_key, "open")
        opened = TicketOpened(
            Envelope(
                derive_id(open_id, ticket_id, "opened"), sent_at, now_ms(), ticket_id, 1,
                open_id, correlation_id, SYSTEM, tenant_id, brand_id,
            ),
            ticket_id, customer, channel, conv_key, Priority.NORMAL, True, subject=subject,
            language=language,
        )  # fmt: skip
        state = TicketState(
            ticket_id,
            version=1,
            status=TicketStatus.NEW,
            customer_id=customer,
            channel=channel,
            conversation_key=conv_key,
            subject=subject,
            language=language,
            opened_at=sent_at,
            updated_at=sent_at,
            recent_commands=(open_id,),
            recent_outcomes=((open_id, (opened,)),),
        )
        raw = encode(opened)
        remember_encoding(opened, raw)
        uow.send_encoded(events_topic, ticket_id, raw)
        lines = [(opened.envelope.event_id, 1, raw)]
        count(metrics.TICKETS_OPENED, channel_symbol)
        count(metrics.COMMANDS_ACCEPTED, _OPEN)
        version = 1
    else:
        lines = list(history)  # copied: a dropped record must not leave its lines behind
        version = state.version
    # (a) AppendCustomerMessage → CustomerMessageAppended (thread, decide._append, evolve)
    reply_context.setdefault("external_user_id", external_user_id)
    reply_context.setdefault("external_message_id", external_message_id)
    sender = reply_context.get("external_user_id")
    expires_at = millis_to_datetime(expires_ms) if expires_ms is not None else None
    version += 1
    recorded_at = now_ms()
    appended = CustomerMessageAppended(
        Envelope(
            derive_id(append_id, ticket_id, "message"), sent_at, recorded_at, ticket_id, version,
            append_id, correlation_id, SYSTEM, tenant_id, brand_id,
        ),
        ticket_id, dedup_key, channel, text, sent_at, files, sender, reply_context, expires_at,
    )  # fmt: skip
    identity = state.external_user_id or sender
    changes: dict[str, Any] = {}
    if sender in (None, identity):  # the reply context is never empty here (two keys set)
        changes["reply_context"] = tuple(sorted(reply_context.items()))
        changes["reply_context_expires_at"] = expires_at
    state = replace(
        state,
        version=version,
        updated_at=sent_at,
        recent_commands=remember(state.recent_commands, append_id),
        recent_outcomes=remember_outcome(state.recent_outcomes, append_id, appended),
        message_count=state.message_count + 1,
        external_user_id=identity,
        last_customer_message_at=sent_at,
        recent_messages=remember(state.recent_messages, dedup_key),
        **changes,
    )
    consts = _writer()
    if consts is None or files:
        raw = encode(appended)
    else:  # the same bytes from the fields at hand (the times as the ms they were read as)
        raw = _appended_bytes(
            consts, appended.envelope.event_id, sent_ms, (recorded_at - _EPOCH) // _MS,
            ticket_id, version, append_id, correlation_id, tenant_id, brand_id, dedup_key,
            channel_symbol, text, sent_ms, sender, reply_context, expires_ms,
        )  # fmt: skip
    remember_encoding(appended, raw)
    uow.send_encoded(events_topic, ticket_id, raw)
    lines.append((appended.envelope.event_id, version, raw))
    if len(lines) > HISTORY_LIMIT:
        del lines[:-HISTORY_LIMIT]
    count(metrics.COMMANDS_ACCEPTED, _APPEND)
    uow.store(tickets, ticket_id, (state, lines), event)
    return True
