"""LINE text messages from users, verified and written straight to their Avro bytes.

The gateway's hot path. :func:`connectors.channels.line.handle` builds a
``ChannelMessageReceived`` (with its envelope and actor: ~30 fields) that the compiled encoder
then reads back field by field; for the webhook LINE sends most — text messages from a user —
:class:`TextMessages` writes the same bytes from the parsed JSON directly (the objects never
exist: ~25 µs less CPU per request in the server, measured by elimination under ``wrk -c32``).

It takes only that shape: a POST whose every event is a ``message`` of type ``text`` from a
``user`` source, with the fields as strings and the timestamp as an integer. For anything else it
returns None and the gateway runs ``line.handle``, which also produces every error except the
signature's (verified here first, by the same ``line.verify``).

Exactness: the same ``(dedup key, conversation key, bytes)`` as ``line.handle`` + the codec's
``encode`` (property tests over generated webhooks, tests/property/connectors). :meth:`checked`
compares a sample at start-up too and returns None — the general path for every request — when
they differ (a schema change this writer was not updated for, a codec with a schema registry).
"""

from __future__ import annotations

import binascii
import hmac
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from connectors.channels import line
from connectors.channels.base import MAX_EPOCH_SECONDS, WebhookRequest, event_id_for
from schemas.fastencode import avro_long as _long
from schemas.fastencode import varint
from schemas.records import Channel

log = logging.getLogger(__name__)

Encoded = tuple[str, str, bytes]  # (dedup key, conversation key, Avro single-object bytes)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MAX_MS = MAX_EPOCH_SECONDS * 1000  # from_epoch refuses later instants
_REPLY_MS = int(line.REPLY_TOKEN_LIFETIME / _MS)
# A reply token's expiry must be a datetime too (line.handle fails on a later one).
_MAX_TOKEN_MS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MS - _REPLY_MS
# String lengths' varints up to 8 KiB (one or two bytes; ~0.3 MB): the message text is often
# 64 bytes or more (a Thai or emoji text is 3-4 bytes a character), past a one-byte table.
_LENGTHS = [_long(n) for n in range(8192)]
# Millisecond timestamps (three per message: sent, received, reply-token expiry) are 7-byte
# varints, ~2 µs each through ``_long``'s shifts on multi-digit ints in the server. A varint's
# bytes are its 7-bit groups, low first: for z = 2n >= 2**14 the first two bytes come from
# z's low 14 bits (a table, ~0.7 MB) and the rest from z >> 14, which changes every 8.192 s
# (a cache).
_LOW14 = [bytes((z & 0x7F | 0x80, z >> 7 | 0x80)) for z in range(1 << 14)]
_HIGH: dict[int, bytes] = {}  # z >> 14 → its varint bytes (cleared past _HIGH_MAX entries)
_HIGH_MAX = 4096


def _ms(n: int) -> bytes:
    """``_long(n)`` for a millisecond timestamp (any int: outside 8,192 … 2**62 it is
    ``_long``)."""
    if not 0x2000 <= n < 1 << 62:
        return _long(n)
    z = n << 1  # zig-zag of n >= 0
    high = z >> 14
    tail = _HIGH.get(high)
    if tail is None:
        if len(_HIGH) >= _HIGH_MAX:
            _HIGH.clear()
        tail = _HIGH[high] = varint(high)
    return _LOW14[z & 0x3FFF] + tail


def _text(s: str) -> bytes:
    """Avro ``string``: length, UTF-8 bytes."""
    e = s.encode()
    n = len(e)
    return (_LENGTHS[n] if n < 8192 else _long(n)) + e


def _utf8(e: bytes, prefix: bytes = b"") -> bytes:
    """Avro ``string`` of ``prefix + e`` (both UTF-8 already): each value is encoded once and
    its prefixed forms (``line:…``) are built from its bytes."""
    n = len(prefix) + len(e)
    return (_LENGTHS[n] if n < 8192 else _long(n)) + prefix + e


# Constant parts, in the schema's field order (support.v1.Envelope, ChannelMessageReceived):
_VERSION_1 = _long(1)  # envelope.aggregate_version
_CUSTOMER = b"\x00"  # envelope.actor.kind: ActorKind symbol 0
_NO_BRAND_LINE = b"\x00\x00"  # envelope.brand_id null; channel: Channel symbol 0 (line)
# attachments [], language, customer_display_name, subject null, thread_refs [], ticket_hint null
_TEXT_DEFAULTS = b"\x00\x00\x00\x00\x00\x00"
_NO_EXPIRY = b"\x00"
_EXPIRY = b"\x02"
_TO = _text("to")
_REPLY_TOKEN = _text("reply_token")
_MODE_STANDBY = _text("mode") + _text("standby")
_MAP_END = b"\x00"


def _keyed_sha256(key: bytes) -> Any:
    """An HMAC-SHA256 state keyed with ``key`` with ``copy``/``update``/``digest``: OpenSSL's
    (``_hashlib.hmac_new``, CPython's C module behind ``hmac``) or else ``hmac.new``'s."""
    try:
        from _hashlib import hmac_new

        return hmac_new(key, digestmod="sha256")
    except (ImportError, ValueError):  # a Python without OpenSSL's HMAC
        return hmac.new(key, digestmod="sha256")


class TextMessages:
    """``(request, received_at) -> tuple[Encoded, ...] | None`` for one channel secret, tenant
    and single-object header (the codec's: magic + the writer schema's fingerprint)."""

    def __init__(self, secret: str, tenant_id: str, header: bytes) -> None:
        self.secret = secret
        # HMAC-SHA256 keyed once and copied per request, on OpenSSL's HMAC object itself where
        # there is one: hmac.py's wrapper adds a Python call to each of copy, update and digest
        # (2.5-3.2 against 1.6-1.7 µs for a 700-byte body in a loop). Not hmac.digest: it looks
        # the digest up by name and keys a new state on every call (~5 µs per request in the
        # server, CPU-time sampling under wrk -c32).
        self.mac: Any = _keyed_sha256(secret.encode("utf-8"))
        self.header = header
        self.tenant = _text(tenant_id)

    @classmethod
    def checked(
        cls, secret: str, tenant_id: str, encode: Callable[[Any], bytes]
    ) -> TextMessages | None:
        """A writer for ``encode``'s format if it gives ``encode``'s bytes on samples (a reply
        token; a standby event; a redelivery; several events), else None (logged)."""
        sample = _sample(secret)
        now = datetime(2026, 12, 7, 3, 0, 0, 123000, tzinfo=UTC)
        try:
            want = [
                (m.dedup_key, m.conversation_key, encode(m))
                for m in line.handle(
                    sample, secret=secret, received_at=now, tenant_id=tenant_id
                ).messages
            ]
            header = want[0][2][:10]
            writer = cls(secret, tenant_id, header)
            got = writer(sample, now)
        except Exception:  # any failure here means: use the general path
            log.exception("LINE fast path disabled: its self-check failed")
            return None
        if header[:2] != b"\xc3\x01" or got is None or list(got) != want:
            log.warning("LINE fast path disabled: it does not give the codec's bytes")
            return None
        return writer

    def __call__(self, req: WebhookRequest, received_at: datetime) -> tuple[Encoded, ...] | None:
        """The encoded messages of a verified request of the handled shape; None for any other
        request (the caller runs ``line.handle``). Raises ``line.verify``'s errors."""
        return self.encode(req.method, req.headers, req.body, received_at)

    def encode(
        self, method: str, headers: Mapping[str, str], body: bytes, received_at: datetime
    ) -> tuple[Encoded, ...] | None:
        """``self(WebhookRequest(method, headers, {}, body), received_at)`` without building
        the request (the gateway calls this before it does)."""
        if method != "POST" or type(received_at) is not datetime or not received_at.tzinfo:
            return None
        got = headers.get("x-line-signature")
        try:  # x-line-signature = Base64(HMAC-SHA256(secret, raw body)), compared in constant time
            mac = self.mac.copy()
            mac.update(body)
            ok = got is not None and hmac.compare_digest(
                binascii.b2a_base64(mac.digest(), newline=False), got.encode("ascii")
            )
        except UnicodeEncodeError:
            ok = False
        if not ok:
            # raises the 401 that says which (missing or wrong)
            line.verify(self.secret, WebhookRequest(method, headers, {}, body))
            return None
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if type(doc) is not dict:
            return None
        destination = doc.get("destination")
        events = doc.get("events")
        if type(destination) is not str or not destination or type(events) is not list:
            return None
        try:
            recorded = _ms((received_at - _EPOCH) // _MS)
            dest = destination.encode()
            out = []
            for ev in events:
                m = self._message(ev, destination, dest, recorded)
                if m is None:
                    return None
                out.append(m)
        except UnicodeEncodeError:
            return None
        return tuple(out)

    def _message(self, ev: Any, destination: str, dest: bytes, recorded: bytes) -> Encoded | None:
        if type(ev) is not dict or ev.get("type") != "message":
            return None
        event_id = ev.get("webhookEventId")
        ts = ev.get("timestamp")
        source = ev.get("source")
        msg = ev.get("message")
        if (
            type(event_id) is not str
            or not event_id
            or type(ts) is not int
            or not 0 <= ts <= _MAX_MS
            or type(source) is not dict
            or source.get("type") != "user"
            or type(msg) is not dict
            or msg.get("type") != "text"
        ):
            return None
        user = source.get("userId")
        msg_id = msg.get("id")
        text = msg.get("text", "")
        if text is None:
            text = ""
        if (
            type(user) is not str
            or not user
            or type(msg_id) is not str
            or not msg_id
            or type(text) is not str
        ):
            return None
        delivery = ev.get("deliveryContext") or {}
        if type(delivery) is not dict:
            return None
        mode = ev.get("mode")
        token = ev.get("replyToken")
        dedup_key = f"{destination}:{event_id}"
        key = f"line:{destination}:{user}"  # conversation key: the user is the conversation
        event_id = event_id_for(Channel.LINE, dedup_key)
        at = _ms(ts)
        u = user.encode()
        dk = dedup_key.encode()
        user_bytes = _utf8(u)
        reply: tuple[bytes, ...]
        if type(token) is str and token and not delivery.get("isRedelivery") and mode != "standby":
            if ts > _MAX_TOKEN_MS:
                return None
            reply = (b"\x04", _TO, user_bytes, _REPLY_TOKEN, _text(token), _MAP_END)
            expires = _EXPIRY + _ms(ts + _REPLY_MS)
        elif mode == "standby":
            reply = (b"\x04", _TO, user_bytes, _MODE_STANDBY, _MAP_END)
            expires = _NO_EXPIRY
        else:
            reply = (b"\x02", _TO, user_bytes, _MAP_END)
            expires = _NO_EXPIRY
        key_bytes = _utf8(u, b"line:" + dest + b":")  # the conversation key
        id_bytes = _utf8(event_id.encode())
        value = b"".join(
            (
                self.header,
                # envelope
                id_bytes,
                at,
                recorded,
                key_bytes,
                _VERSION_1,
                _utf8(dk, b"line:"),
                id_bytes,
                _CUSTOMER,
                _utf8(u, b"line:"),
                self.tenant,
                _NO_BRAND_LINE,
                # the message
                _utf8(dest),
                user_bytes,
                user_bytes,
                _text(msg_id),
                _utf8(dk),
                key_bytes,
                _text(text),
                at,
                _TEXT_DEFAULTS,
                *reply,
                expires,
            )
        )
        return dedup_key, key, value


def _sample(secret: str) -> WebhookRequest:
    """A signed webhook of the handled shape with the variants that change the bytes."""
    base_event: dict[str, Any] = {
        "type": "message",
        "mode": "active",
        "timestamp": 1765076400123,
        "source": {"type": "user", "userId": "U4af4980629"},
        "webhookEventId": "01FZ74A0TDDPYRVKNK77XKC3ZR",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": "0f3779fba3b349968c5d07db31eab56f",
        "message": {"id": "444573844083572737", "type": "text", "text": "สวัสดี 🙏 hello"},
    }
    events = [
        base_event,
        {**base_event, "webhookEventId": "01FZ74A0TDDPYRVKNK77XKC3ZS", "mode": "standby"},
        {
            **base_event,
            "webhookEventId": "01FZ74A0TDDPYRVKNK77XKC3ZT",
            "deliveryContext": {"isRedelivery": True},
            "message": {"id": "444573844083572738", "type": "text", "text": "x" * 200},
        },
    ]
    body = orjson.dumps({"destination": "U" + "0123456789abcdef" * 2, "events": events})
    headers = {"x-line-signature": line.sign(secret, body)}
    return WebhookRequest("POST", headers, {}, body)
