"""E-mail: IMAP polling of a real Dovecot into Kafka; SMTP replies into a real aiosmtpd server."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from connectors.dedup import DedupCache
from connectors.email.imap import EmailIngest
from connectors.email.parse import parse_mail
from connectors.email.smtp import SmtpSender
from connectors.gateway import new_producer
from schemas.records import (
    Actor,
    ActorKind,
    AgentReplied,
    AppendCustomerMessage,
    Channel,
    Envelope,
    OpenTicket,
)
from streams.domain.threading import ConversationState, thread
from ticketstream.devstack.procs import free_port

from .dovecot import Dovecot
from .harness import create_topic, read_all
from .payloads import settings

ADDRESS = "support@help.example"
NEW = (
    "From: Somchai <somchai@example.co.th>\r\nTo: support@help.example\r\n"
    "Subject: Order 1234 not delivered\r\nDate: Mon, 23 Nov 2026 14:00:00 +0700\r\n"
    "Message-ID: <abc123@mail.example.co.th>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "สวัสดีครับ my order has not arrived.\r\n"
).encode()
REPLY = (
    b"From: Somchai <somchai@example.co.th>\r\nTo: support+T-42@help.example\r\n"
    b"Subject: Re: Order 1234 not delivered [#T-42]\r\nDate: Mon, 23 Nov 2026 15:00:00 +0700\r\n"
    b"Message-ID: <def456@mail.example.co.th>\r\nIn-Reply-To: <abc123@mail.example.co.th>\r\n"
    b"References: <abc123@mail.example.co.th>\r\n\r\nStill nothing!\r\n\r\n"
    b"On Mon, 23 Nov 2026 at 14:30, Support wrote:\r\n> old text\r\n"
)
OTHER = NEW.replace(b"Order 1234 not delivered", b"Invoice question").replace(b"abc123", b"zzz999")


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    root = Path(tempfile.mkdtemp(prefix="ticketstream-dovecot-"))
    server = Dovecot(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_imap_polling_threads_replies_and_never_produces_twice(
    stack, unique_name, dovecot, tmp_path
):
    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    s = settings(
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_ssl=False,
        imap_user=dovecot.user,
        imap_password=dovecot.password,
        email_address=ADDRESS,
    )

    async def main() -> tuple[list[int], list[object]]:
        producer = new_producer(stack.kafka_bootstrap)
        await producer.start()
        try:
            cache = DedupCache(3600, 10_000)
            ingest = EmailIngest(s, producer, cache, tmp_path / "imap.json", topic=topic)
            counts = []
            dovecot.deliver(NEW)
            counts.append(await ingest.poll_once())
            dovecot.deliver(REPLY)
            dovecot.deliver(OTHER)
            counts.append(await ingest.poll_once())
            counts.append(await ingest.poll_once())  # nothing new by UID
            (tmp_path / "imap.json").unlink()  # lost state: refetch everything, Message-ID dedup
            counts.append(await ingest.poll_once())
            return counts, await read_all(stack.kafka_bootstrap, topic)
        finally:
            await producer.stop()

    counts, events = asyncio.run(main())
    assert counts == [1, 2, 0, 0]
    by_id = {e.external_message_id: e for e in events}  # type: ignore[attr-defined]
    first, reply, other = (
        by_id["<abc123@mail.example.co.th>"],
        by_id["<def456@mail.example.co.th>"],
        by_id["<zzz999@mail.example.co.th>"],
    )
    assert (first.thread_refs, first.ticket_hint) == (
        (),
        None,
    )  # a new subject: nothing to thread on
    assert reply.thread_refs == ("<abc123@mail.example.co.th>",)
    assert reply.ticket_hint == "T-42"
    assert reply.conversation_key == first.conversation_key  # appends to the first mail's thread
    assert reply.text == "Still nothing!"
    assert (other.thread_refs, other.ticket_hint) == ((), None)
    assert other.conversation_key != first.conversation_key
    # Through the ticket stream's own threading: the reply appends to the first mail's ticket,
    # the new subject opens a new ticket.
    conversations: dict[str, ConversationState] = {}
    commands = {}
    for ev in (first, reply, other):
        state = conversations.get(ev.conversation_key, ConversationState(ev.conversation_key))
        conversations[ev.conversation_key], cmds = thread(state, ev)
        commands[ev.external_message_id] = cmds
    assert [type(c).__name__ for c in commands[first.external_message_id]] == [
        "OpenTicket",
        "AppendCustomerMessage",
    ]
    (append,) = commands[reply.external_message_id]
    assert isinstance(append, AppendCustomerMessage)
    assert append.ticket_id == commands[first.external_message_id][0].ticket_id
    assert isinstance(commands[other.external_message_id][0], OpenTicket)
    assert commands[other.external_message_id][0].ticket_id != append.ticket_id


class Keep(Sink):
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append(envelope.original_content or envelope.content)
        return "250 OK"


def test_outbound_reply_arrives_in_the_smtp_server_with_threading_headers():
    handler = Keep()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        s = settings(
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            email_address=ADDRESS,
            email_domain="help.example",
        )
        customer = parse_mail(NEW, mailbox_address=ADDRESS, received_at=datetime.now(UTC))
        now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
        reply = AgentReplied(
            envelope=Envelope(
                "e1", now, now, "T-42", 3, "c1", "c1", Actor(ActorKind.AGENT, "a1"), "t"
            ),
            ticket_id="T-42",
            reply_id="r1",
            author_id="a1",
            channel=Channel.EMAIL,
            conversation_key="email:x",
            account_id=ADDRESS,
            external_conversation_id=customer.external_conversation_id,
            external_user_id=customer.external_user_id,
            text="ขอบคุณครับ — we are on it.",
            reply_context=customer.reply_context,
        )
        sent = asyncio.run(SmtpSender(s).send(reply, now))
    finally:
        controller.stop()
    (raw,) = handler.received
    msg = message_from_bytes(raw, policy=policy.default)
    conv = customer.external_conversation_id
    assert msg["Message-ID"] == f"<reply.r1.{conv}@help.example>" == sent.external_message_id
    assert msg["In-Reply-To"] == "<abc123@mail.example.co.th>"
    assert msg["References"] == "<abc123@mail.example.co.th>"
    assert msg["Subject"] == "Re: Order 1234 not delivered [#T-42]"
    assert msg["Reply-To"] == "support+T-42@help.example"
    assert msg["To"] == "somchai@example.co.th"
    assert "ขอบคุณครับ" in msg.get_content()
    # The customer's answer to it (a client quoting our headers) threads back to the same ticket.
    answer = (
        f"From: somchai@example.co.th\r\nTo: {msg['Reply-To']}\r\nSubject: {msg['Subject']}\r\n"
        f"Message-ID: <ans1@mail.example.co.th>\r\nIn-Reply-To: {msg['Message-ID']}\r\n"
        f"References: {msg['References']} {msg['Message-ID']}\r\n\r\nthanks\r\n"
    ).encode()
    back = parse_mail(answer, mailbox_address=ADDRESS, received_at=now)
    assert back.ticket_hint == "T-42"
    assert back.external_conversation_id == customer.external_conversation_id
