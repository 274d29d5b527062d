"""Pure parsing of inbound mail into a NormalisedMessage (channels.md §6).

Threading inputs put on the event (the stream decides which ticket): ``thread_refs`` =
In-Reply-To + References Message-IDs; ``ticket_hint`` = the plus-address token of
``support+<token>@…`` if present, else the ``[#TICKET-KEY]`` subject tag. The conversation is the
thread root (first References id, else In-Reply-To, else the mail's own Message-ID) as a digest
``mid-<32 hex>``, so replies in one thread share a conversation key. Our outbound Message-IDs
embed that digest, so a client that keeps only ``In-Reply-To: <our reply>`` still lands in the
thread. A mail without threading headers but with a ticket hint gets ``ticket:<hint>``.
Dedup key: ``<mailbox address>:<Message-ID>`` (fallback: SHA-256 of the raw message).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from connectors.channels.base import NormalisedMessage
from schemas.records import Attachment, Channel

MSGID = re.compile(r"<[^<>\s]+>")
SUBJECT_TAG = re.compile(r"\[#([A-Za-z0-9][A-Za-z0-9_-]{0,63})\]")
# Our outbound Message-IDs carry the conversation: <reply.<reply id>.<conversation>@domain>.
OUR_MSGID = re.compile(r"^<reply\..*\.(mid-[0-9a-f]{32})@[^<>@]+>$")
# Lines that start quoted history in common clients (English, Chinese, Thai, Outlook).
QUOTE_HEADERS = (
    re.compile(r"^On .{0,200} wrote:\s*$"),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^From: .+$"),
    re.compile(r"^在.{0,200}写道[:：]\s*$"),
    re.compile(r"^เมื่อ.{0,200}เขียนว่า[:：]?\s*$"),
    re.compile(r"^_{10,}\s*$"),
)
SIGNATURE = re.compile(r"^(-- ?|—|Sent from my .+|发自我的.+)$")


class MailError(Exception):
    """A mail we cannot read at all (no usable From address)."""


def normalise_msgid(value: str | None) -> str | None:
    if not value:
        return None
    m = MSGID.search(value)
    return m.group(0) if m else None


def conversation_of(root_message_id: str) -> str:
    """The conversation id of a thread: a digest of its root Message-ID (fixed length, safe in
    keys), or the one embedded in our own outbound Message-ID when the root is one of ours."""
    ours = OUR_MSGID.match(root_message_id)
    if ours:
        return ours.group(1)
    return "mid-" + hashlib.sha256(root_message_id.encode("utf-8")).hexdigest()[:32]


def msgid_list(value: str | None) -> list[str]:
    return MSGID.findall(value or "")


def plus_token(addresses: list[str], local_part: str, domain: str) -> str | None:
    """``support+TOKEN@domain`` → ``TOKEN`` (local part and domain compared case-insensitively)."""
    for addr in addresses:
        local, _, dom = addr.rpartition("@")
        base, plus, token = local.partition("+")
        if plus and token and base.lower() == local_part.lower() and dom.lower() == domain.lower():
            return token
    return None


def strip_quoted(text: str) -> str:
    """The new part of a reply: cut at the first quote header, ``>`` block or signature marker."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.rstrip()
        if (
            stripped.startswith(">")
            or SIGNATURE.match(stripped)
            or any(p.match(stripped) for p in QUOTE_HEADERS)
        ):
            break
        kept.append(stripped)
    return "\n".join(kept).strip()


def parse_mail(raw: bytes, *, mailbox_address: str, received_at: datetime) -> NormalisedMessage:
    """Normalise one RFC 5322 message received at ``mailbox_address`` (``support@domain``)."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    _, sender = parseaddr(str(msg.get("From", "")))
    if "@" not in sender:
        raise MailError("mail without a usable From address")
    name = parseaddr(str(msg.get("From", "")))[0] or None
    message_id = normalise_msgid(str(msg.get("Message-ID", "")))
    dedup_id = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    in_reply_to = msgid_list(str(msg.get("In-Reply-To", "")))
    references = msgid_list(str(msg.get("References", "")))
    refs = tuple(dict.fromkeys([*in_reply_to, *references]))
    local, _, domain = mailbox_address.partition("@")
    recipients = [
        a
        for _, a in getaddresses(
            [str(v) for h in ("To", "Cc", "Delivered-To") for v in msg.get_all(h, [])]
        )
    ]
    subject = str(msg.get("Subject", "")) or None
    token = plus_token(recipients, local, domain)
    tag = SUBJECT_TAG.search(subject or "")
    hint = token or (tag.group(1) if tag else None)
    root = references[0] if references else (in_reply_to[0] if in_reply_to else dedup_id)
    try:
        sent_at = parsedate_to_datetime(str(msg["Date"])) if msg.get("Date") else received_at
        sent_at = sent_at.astimezone(UTC) if sent_at.tzinfo else sent_at.replace(tzinfo=UTC)
    except (TypeError, ValueError):
        sent_at = received_at
    sent_at = sent_at.replace(microsecond=sent_at.microsecond // 1000 * 1000)
    body = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        if body.get_content_type() == "text/html":
            content = re.sub(r"<[^>]+>", " ", content)
        text = strip_quoted(str(content))
    atts = []
    for i, part in enumerate(msg.iter_attachments()):
        payload = part.get_payload(decode=True)
        atts.append(
            Attachment(
                kind="image" if part.get_content_maintype() == "image" else "file",
                external_id=f"{dedup_id}#{i}",  # the part stays in the mailbox; we keep a reference
                mime_type=part.get_content_type(),
                file_name=part.get_filename(),
                size_bytes=len(payload) if isinstance(payload, bytes) else None,
            )
        )
    ctx = {"from": sender, "subject": subject or ""}
    if message_id:
        ctx["message_id"] = message_id
        ctx["references"] = " ".join([*references, message_id])
    return NormalisedMessage(
        channel=Channel.EMAIL,
        account_id=mailbox_address.lower(),
        # Thread root first (a reply to any mail of the thread lands in its conversation);
        # a bare ticket hint only when the client dropped the threading headers.
        external_conversation_id=conversation_of(root) if refs or not hint else f"ticket:{hint}",
        external_user_id=sender.lower(),
        external_message_id=dedup_id,
        dedup_key=f"{mailbox_address.lower()}:{dedup_id}",
        text=text,
        sent_at=sent_at,
        attachments=tuple(atts),
        customer_display_name=name,
        subject=subject,
        thread_refs=refs,
        ticket_hint=hint,
        reply_context=ctx,
    )
