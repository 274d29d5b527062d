from __future__ import annotations

from datetime import UTC, datetime

from connectors.email.parse import conversation_of, parse_mail, plus_token, strip_quoted
from connectors.email.smtp import reply_message_id

from .helpers import NOW

NEW = (
    "From: Somchai <somchai@example.co.th>\r\n"
    "To: support@help.example\r\n"
    "Subject: Order 1234 not delivered\r\n"
    "Date: Mon, 23 Nov 2026 14:00:00 +0700\r\n"
    "Message-ID: <abc123@mail.example.co.th>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "สวัสดีครับ my order has not arrived.\r\n\r\n-- \r\nSomchai\r\nCEO, Example\r\n"
).encode()

REPLY = (
    b"From: Somchai <somchai@example.co.th>\r\n"
    b"To: support+T-42@help.example\r\n"
    b"Subject: Re: Order 1234 not delivered [#T-42]\r\n"
    b"Date: Mon, 23 Nov 2026 15:00:00 +0700\r\n"
    b"Message-ID: <def456@mail.example.co.th>\r\n"
    b"In-Reply-To: <reply.r1@help.example>\r\n"
    b"References: <abc123@mail.example.co.th> <reply.r1@help.example>\r\n\r\n"
    b"Still nothing!\r\n\r\nOn Mon, 23 Nov 2026 at 14:30, Support <support@help.example> wrote:\r\n"
    b"> We are looking into it.\r\n"
)


def test_new_subject_has_no_threading_refs_or_hint():
    m = parse_mail(NEW, mailbox_address="support@help.example", received_at=NOW)
    assert m.thread_refs == ()
    assert m.ticket_hint is None
    assert m.external_conversation_id == conversation_of("<abc123@mail.example.co.th>")
    assert m.external_conversation_id.startswith("mid-") and len(m.external_conversation_id) == 36
    assert m.dedup_key == "support@help.example:<abc123@mail.example.co.th>"
    assert m.text == "สวัสดีครับ my order has not arrived."  # signature cut
    assert m.sent_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert m.external_user_id == "somchai@example.co.th"
    assert m.customer_display_name == "Somchai"


def test_reply_carries_refs_token_and_joins_the_thread_root():
    m = parse_mail(REPLY, mailbox_address="support@help.example", received_at=NOW)
    assert m.thread_refs == ("<reply.r1@help.example>", "<abc123@mail.example.co.th>")
    assert m.ticket_hint == "T-42"
    assert m.external_conversation_id == conversation_of("<abc123@mail.example.co.th>")
    assert m.text == "Still nothing!"
    assert m.reply_context["references"] == (
        "<abc123@mail.example.co.th> <reply.r1@help.example> <def456@mail.example.co.th>"
    )


def test_subject_tag_alone_is_a_hint():
    raw = NEW.replace(b"Subject: Order 1234", b"Subject: Re: [#T-7] Order 1234")
    assert (
        parse_mail(raw, mailbox_address="support@help.example", received_at=NOW).ticket_hint
        == "T-7"
    )


def test_mail_without_message_id_dedups_on_its_hash():
    raw = NEW.replace(b"Message-ID: <abc123@mail.example.co.th>\r\n", b"")
    m = parse_mail(raw, mailbox_address="support@help.example", received_at=NOW)
    assert m.dedup_key.startswith("support@help.example:sha256:")


def test_plus_token_matches_only_our_address():
    assert plus_token(["Support+X1@Help.Example"], "support", "help.example") == "X1"
    assert (
        plus_token(["other+X1@help.example", "support@help.example"], "support", "help.example")
        is None
    )


def test_strip_quoted_cuts_outlook_and_chinese_headers():
    assert strip_quoted("好的\n\n在 2026年11月23日 写道：\n> 旧消息") == "好的"
    assert strip_quoted("Thanks\n-----Original Message-----\nFrom: x") == "Thanks"
    assert strip_quoted("ok\nSent from my iPhone") == "ok"


def test_answer_keeping_only_in_reply_to_our_reply_joins_the_thread():
    root = parse_mail(NEW, mailbox_address="support@help.example", received_at=NOW)
    ours = reply_message_id("r-1", "help.example", root.external_conversation_id)
    answer = (
        "From: somchai@example.co.th\r\nTo: support@help.example\r\nSubject: Re: hi\r\n"
        f"Message-ID: <q1@mail.example.co.th>\r\nIn-Reply-To: {ours}\r\n\r\nok\r\n"
    ).encode()
    m = parse_mail(answer, mailbox_address="support@help.example", received_at=NOW)
    assert m.external_conversation_id == root.external_conversation_id
