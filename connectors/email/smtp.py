"""Outbound e-mail: an agent reply as a mail that threads in the customer's client.

Headers: a new ``Message-ID`` derived from the reply id, ``In-Reply-To`` = the customer's last
Message-ID, ``References`` = that mail's References + its Message-ID, ``Subject: Re: <subject>
[#TICKET]`` and ``Reply-To: support+<ticket>@domain`` (the plus-address token threads even when
a client drops the headers).
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from connectors.email.parse import SUBJECT_TAG
from connectors.outbound.base import SendError, Sent
from connectors.settings import ConnectorSettings
from schemas.records import AgentReplied

OUR_CONVERSATION = re.compile(r"^mid-[0-9a-f]{32}$")


def reply_message_id(reply_id: str, domain: str, conversation: str = "") -> str:
    """Deterministic (a retried send carries the same Message-ID, the client shows one mail),
    with the thread's conversation id embedded so an answer to it threads even when the
    customer's client keeps only In-Reply-To."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in reply_id)[:100]
    if not safe:
        return make_msgid(domain=domain)
    suffix = f".{conversation}" if OUR_CONVERSATION.match(conversation) else ""
    return f"<reply.{safe}{suffix}@{domain}>"


def compose(reply: AgentReplied, s: ConnectorSettings, now: datetime) -> EmailMessage:
    ctx = reply.reply_context
    local, _, domain = s.email_address.partition("@")
    subject = ctx.get("subject", "").strip() or "Your request"
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    if not SUBJECT_TAG.search(subject):
        subject = f"{subject} [#{reply.ticket_id}]"
    msg = EmailMessage()
    msg["From"] = s.email_address
    msg["To"] = ctx.get("from") or reply.external_user_id
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = reply_message_id(
        reply.reply_id, s.email_domain, reply.external_conversation_id
    )
    msg["Reply-To"] = f"{local}+{reply.ticket_id}@{domain}"
    parent = ctx.get("message_id")
    if parent:
        msg["In-Reply-To"] = parent
        msg["References"] = ctx.get("references") or parent
    msg.set_content(reply.text)
    return msg


class SmtpSender:
    def __init__(self, s: ConnectorSettings) -> None:
        self.s = s

    async def send(self, reply: AgentReplied, now: datetime) -> Sent:
        msg = compose(reply, self.s, now)
        await asyncio.to_thread(self._send_blocking, msg)
        return Sent(str(msg["Message-ID"]), via="smtp")

    def _send_blocking(self, msg: EmailMessage) -> None:
        s = self.s
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
                smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            raise SendError(
                f"SMTP answered {exc.smtp_code}",
                retryable=exc.smtp_code >= 400 and exc.smtp_code < 500,
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise SendError("SMTP refused the recipient", retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP: {type(exc).__name__}", retryable=True) from None
