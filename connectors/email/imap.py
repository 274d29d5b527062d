"""IMAP polling: new mail by UID, fetched with BODY.PEEK[] (never flags \\Seen before it is stored).

State ``(mailbox, UIDVALIDITY, last UID)`` is kept in a small JSON file and advanced only after
Kafka acknowledged the message; a changed UIDVALIDITY restarts from UID 1 (the Message-ID dedup
then drops what was already produced).
"""

from __future__ import annotations

import asyncio
import imaplib
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from connectors import metrics
from connectors.channels.base import to_event
from connectors.dedup import DedupCache, dedup_id
from connectors.email.parse import MailError, parse_mail
from connectors.settings import ConnectorSettings
from schemas.codec import encode
from schemas.topics import CHANNEL_MESSAGES

log = logging.getLogger(__name__)
UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class ImapError(Exception):
    """The mailbox could not be read; the message says which server/mailbox and why."""


@dataclass
class MailboxState:
    mailbox: str
    uidvalidity: int = 0
    last_uid: int = 0


class ImapMailbox:
    """Blocking IMAP access (run in a thread)."""

    def __init__(self, s: ConnectorSettings) -> None:
        self.s = s

    def fetch_new(self, state: MailboxState) -> tuple[int, list[tuple[int, bytes]]]:
        """(UIDVALIDITY, [(uid, raw message)]) of the mails after ``state`` (all if UIDVALIDITY changed)."""
        s = self.s
        where = f"{s.imap_user}@{s.imap_host}:{s.imap_port}/{s.imap_mailbox}"
        try:
            cls = imaplib.IMAP4_SSL if s.imap_ssl else imaplib.IMAP4
            with cls(s.imap_host, s.imap_port, timeout=30) as conn:
                conn.login(s.imap_user, s.imap_password.get_secret_value())
                typ, _ = conn.select(_quote(s.imap_mailbox), readonly=True)
                if typ != "OK":
                    raise ImapError(f"cannot select {where}")
                _, data = conn.response("UIDVALIDITY")
                validity = int(data[0]) if data and data[0] else 0
                last = state.last_uid if validity == state.uidvalidity else 0
                typ, found = conn.uid("SEARCH", f"UID {last + 1}:*")
                uids = [int(u) for u in (found[0] or b"").split() if int(u) > last]
                out = []
                for uid in sorted(uids):
                    typ, parts = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
                    raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
                    if typ == "OK" and isinstance(raw, bytes):
                        out.append((uid, raw))
                return validity, out
        except (imaplib.IMAP4.error, OSError) as exc:
            raise ImapError(f"IMAP {where}: {type(exc).__name__}: {str(exc)[:200]}") from None


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


class EmailIngest:
    """Poll once: fetch new mail, produce each new message (acks=all), then advance the state."""

    def __init__(
        self,
        s: ConnectorSettings,
        producer: AIOKafkaProducer,
        cache: DedupCache,
        state_path: Path,
        *,
        tenant_id: str = "default",
        topic: str = CHANNEL_MESSAGES,
    ) -> None:
        self.s, self.producer, self.cache, self.state_path = s, producer, cache, state_path
        self.tenant_id, self.topic = tenant_id, topic
        self.mailbox = ImapMailbox(s)

    def load_state(self) -> MailboxState:
        try:
            doc = json.loads(self.state_path.read_text())
            state = MailboxState(**doc)
        except (OSError, ValueError, TypeError):
            return MailboxState(self.s.imap_mailbox)
        return state if state.mailbox == self.s.imap_mailbox else MailboxState(self.s.imap_mailbox)

    def save_state(self, state: MailboxState) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state)))
        tmp.replace(self.state_path)

    async def poll_once(self) -> int:
        """Returns the number of messages produced."""
        state = self.load_state()
        validity, mails = await asyncio.to_thread(self.mailbox.fetch_new, state)
        if validity != state.uidvalidity:
            state = MailboxState(self.s.imap_mailbox, validity, 0)
        produced = 0
        for uid, raw in mails:
            now = datetime.now(UTC)
            try:
                m = parse_mail(raw, mailbox_address=self.s.email_address, received_at=now)
            except MailError as exc:
                log.warning("skipping UID %d of %s: %s", uid, self.s.imap_mailbox, exc)
            else:
                ev = to_event(m, received_at=now, tenant_id=self.tenant_id)
                key = dedup_id(ev.channel.value, ev.dedup_key)
                if key in self.cache:
                    metrics.EMAIL_FETCHED.labels("duplicate").inc()
                else:
                    fut = await self.producer.send(
                        self.topic, encode(ev), key=ev.conversation_key.encode()
                    )
                    await fut
                    self.cache.add(key)
                    metrics.EMAIL_FETCHED.labels("produced").inc()
                    produced += 1
            state.last_uid = uid
            self.save_state(state)
        return produced
