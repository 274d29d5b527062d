"""What every channel adapter shares: the request/result shapes, errors, and event construction."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import types
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson

from schemas.records import (
    Actor,
    ActorKind,
    Attachment,
    Channel,
    ChannelMessageReceived,
    Envelope,
)

# Namespace of the deterministic event ids: uuid5(EVENT_NAMESPACE, "<channel>:<dedup key>").
EVENT_NAMESPACE = uuid.UUID("6b1f3c2e-2d55-4c3e-9a59-2f0b6f0d7c11")
_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes

T = TypeVar("T")


class ChannelError(Exception):
    """A webhook request we refuse. ``status`` is the HTTP answer, ``reason`` a small fixed metric
    label (bad_signature, missing_header, stale_timestamp, malformed, too_large, wrong_object, …),
    ``message`` one sentence saying what was wrong and what to do (never secrets or bodies)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def missing_header(name: str, channel: str) -> ChannelError:
    return ChannelError(
        401,
        "missing_header",
        f"{channel} webhook without the {name} header; configure the platform to sign requests",
    )


def bad_signature(what: str, channel: str, fix: str) -> ChannelError:
    return ChannelError(
        401, "bad_signature", f"{channel} webhook {what} does not match the body; {fix}"
    )


def malformed(channel: str, detail: str) -> ChannelError:
    return ChannelError(400, "malformed", f"{channel} webhook body is not valid: {detail}")


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A received HTTP request. ``headers`` keys are lower-case; ``body`` the raw bytes."""

    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What to answer once ``messages`` are durably stored."""

    messages: tuple[ChannelMessageReceived, ...] = ()
    body: bytes = b"OK"
    content_type: str = "text/plain"
    status: int = 200


@dataclass(frozen=True, slots=True)
class NormalisedMessage:
    """The channel-specific part of a ChannelMessageReceived."""

    channel: Channel
    account_id: str
    external_conversation_id: str
    external_user_id: str
    external_message_id: str
    dedup_key: str
    text: str
    sent_at: datetime
    attachments: tuple[Attachment, ...] = ()
    customer_display_name: str | None = None
    subject: str | None = None
    thread_refs: tuple[str, ...] = ()
    ticket_hint: str | None = None
    reply_context: dict[str, str] = field(default_factory=dict)
    reply_context_expires_at: datetime | None = None


def event_id_for(channel: Channel, dedup_key: str) -> str:
    """Deterministic event id: the same platform message always yields the same id.

    Exactly ``str(uuid.uuid5(EVENT_NAMESPACE, f"{channel}:{dedup_key}"))`` (RFC 4122 §4.3: SHA-1
    of namespace + name, version 5, variant RFC 4122), without building a UUID object — the
    gateway computes one per message (a quarter of the time, measured)."""
    name = f"{channel._value_}:{dedup_key}".encode()
    h = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def conversation_key(channel: Channel, account_id: str, conversation_id: str) -> str:
    return f"{channel._value_}:{account_id}:{conversation_id}"


def fast_constructor(cls: type[T]) -> Callable[..., T]:
    """A keyword-only constructor of a frozen, slotted dataclass that writes the slots directly
    (as ``schemas.convert``'s decoders do): the same object as ``cls(**fields)`` — defaults and
    default factories included — at about half the cost of the generated ``__init__``, which sets
    each field through ``object.__setattr__``. ``cls`` itself when it has a ``__post_init__``,
    a field outside ``__init__`` or no slots."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or not all(
        f.init and isinstance(cls.__dict__.get(f.name), types.MemberDescriptorType) for f in fields
    ):
        return cls
    names: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_MISSING": dataclasses.MISSING}
    params, lines = [], ["    o = _new(_cls)"]
    for i, f in enumerate(fields):
        names[f"_set{i}"] = cls.__dict__[f.name].__set__
        if f.default is not dataclasses.MISSING:
            names[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory{i}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            lines.append(f"    if {f.name} is _MISSING: {f.name} = _factory{i}()")
        else:
            params.append(f.name)
        lines.append(f"    _set{i}(o, {f.name})")
    source = f"def new(*, {', '.join(params)}):\n" + "\n".join(lines) + "\n    return o\n"
    exec(compile(source, f"<fast_constructor {cls.__name__}>", "exec"), names)
    made: Callable[..., T] = names["new"]
    return made


_new_event = fast_constructor(ChannelMessageReceived)
_new_envelope = fast_constructor(Envelope)
_new_actor = fast_constructor(Actor)


def to_event(
    m: NormalisedMessage, *, received_at: datetime, tenant_id: str
) -> ChannelMessageReceived:
    """Wrap a normalised message in its envelope (aggregate = the conversation, version 1)."""
    return message_event(
        channel=m.channel,
        account_id=m.account_id,
        external_conversation_id=m.external_conversation_id,
        external_user_id=m.external_user_id,
        external_message_id=m.external_message_id,
        dedup_key=m.dedup_key,
        text=m.text,
        sent_at=m.sent_at,
        attachments=m.attachments,
        customer_display_name=m.customer_display_name,
        subject=m.subject,
        thread_refs=m.thread_refs,
        ticket_hint=m.ticket_hint,
        reply_context=dict(m.reply_context),
        reply_context_expires_at=m.reply_context_expires_at,
        received_at=received_at,
        tenant_id=tenant_id,
    )


def message_event(
    *,
    channel: Channel,
    account_id: str,
    external_conversation_id: str,
    external_user_id: str,
    external_message_id: str,
    dedup_key: str,
    text: str,
    sent_at: datetime,
    attachments: tuple[Attachment, ...] = (),
    customer_display_name: str | None = None,
    subject: str | None = None,
    thread_refs: tuple[str, ...] = (),
    ticket_hint: str | None = None,
    reply_context: dict[str, str],
    reply_context_expires_at: datetime | None = None,
    received_at: datetime,
    tenant_id: str,
) -> ChannelMessageReceived:
    """``to_event(NormalisedMessage(...))`` without the intermediate object (the same event; a
    ``NormalisedMessage`` and the copy of its fields cost ~2 µs per message on the gateway's
    hot path, which LINE takes). ``reply_context`` is kept, not copied: pass a dict of your own."""
    # ``_value_``: the member's value as a plain attribute (``.value`` is a property, ~10x slower
    # on this per-message path).
    value: str = channel._value_
    key = f"{value}:{account_id}:{external_conversation_id}"  # conversation_key()
    event_id = event_id_for(channel, dedup_key)
    return _new_event(
        envelope=_new_envelope(
            event_id=event_id,
            occurred_at=sent_at,
            recorded_at=received_at,
            aggregate_id=key,
            aggregate_version=1,
            causation_id=f"{value}:{dedup_key}",
            correlation_id=event_id,
            actor=_new_actor(kind=ActorKind.CUSTOMER, id=f"{value}:{external_user_id}"),
            tenant_id=tenant_id,
        ),
        channel=channel,
        account_id=account_id,
        external_conversation_id=external_conversation_id,
        external_user_id=external_user_id,
        external_message_id=external_message_id,
        dedup_key=dedup_key,
        conversation_key=key,
        text=text,
        sent_at=sent_at,
        attachments=attachments,
        customer_display_name=customer_display_name,
        subject=subject,
        thread_refs=thread_refs,
        ticket_hint=ticket_hint,
        reply_context=reply_context,
        reply_context_expires_at=reply_context_expires_at,
    )


# ---------------------------------------------------------------- small parsing helpers
def parse_json(channel: str, body: bytes) -> Any:
    """The JSON document in ``body`` (orjson: a quarter of the stdlib's CPU per webhook).

    Refused (400 ``malformed``): invalid UTF-8, a lone surrogate escape, NaN/Infinity, nesting
    deeper than 1,024. A number beyond 64 bits comes back as a float, which every id and
    timestamp check then refuses (ids are exact integers or strings)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise malformed(channel, "not UTF-8 JSON") from None


def obj(value: Any, channel: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise malformed(channel, f"{what} must be an object")
    return value


def arr(value: Any, channel: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise malformed(channel, f"{what} must be an array")
    return value


def text_of(value: Any, channel: str, what: str, *, required: bool = True) -> str:
    """A string field; integers are accepted and kept exact (64-bit ids arrive as JSON numbers)."""
    if isinstance(value, bool):
        raise malformed(channel, f"{what} must be a string")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and (value or not required):
        return value
    if value is None and not required:
        return ""
    raise malformed(channel, f"{what} is missing or not a string")


def field_text(
    d: dict[str, Any], key: str, channel: str, where: str, *, path: str = "", required: bool = True
) -> str:
    """``text_of(d[key])`` whose error names ``{where}.{path}{key}``; that name is only built
    when the value is not already a non-empty string (the per-message hot path)."""
    value = d.get(key)
    if type(value) is str and value:
        return value
    return text_of(value, channel, f"{where}.{path}{key}", required=required)


def field_obj(d: dict[str, Any], key: str, channel: str, where: str) -> dict[str, Any]:
    """``obj(d[key])`` whose error names ``{where}.{key}`` (built only on error)."""
    value = d.get(key)
    if type(value) is dict:
        return value
    return obj(value, channel, f"{where}.{key}")


MAX_EPOCH_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


def from_epoch(value: Any, channel: str, what: str, *, millis: bool) -> datetime:
    """A UTC datetime from Unix seconds or milliseconds (int, or a string of digits)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise malformed(channel, f"{what} must be a non-negative Unix timestamp")
    seconds = value / 1000 if millis else value
    if seconds > MAX_EPOCH_SECONDS:
        raise malformed(channel, f"{what}={value} is beyond year 9999")
    # Exact milliseconds (Avro timestamp-millis): integer arithmetic, not float seconds (and
    # half the CPU of fromtimestamp(tz=UTC).replace(), which converts through the tzinfo).
    return _EPOCH + timedelta(milliseconds=value if millis else value * 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=64)
def _keyed_sha256(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256 of ``msg``. The keyed state (the key's inner and outer pads) is made once per
    key and copied per message: two-thirds of a one-shot ``hmac.digest``'s CPU, which sets the
    key up again every call (the gateway verifies every webhook with the same few secrets)."""
    mac = _keyed_sha256(key).copy()
    mac.update(msg)
    return mac.digest()


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time compare of two ASCII strings/bytes (False for non-ASCII input)."""
    try:
        ab = a.encode("ascii") if isinstance(a, str) else a
        bb = b.encode("ascii") if isinstance(b, str) else b
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(ab, bb)


def sub(d: dict[str, Any], key: str) -> dict[str, Any]:
    """``d[key]`` when it is an object, else an empty one (for optional nested objects)."""
    v = d.get(key)
    return v if isinstance(v, dict) else {}


def opt_str(d: dict[str, Any], key: str) -> str | None:
    v = d.get(key)
    return v if isinstance(v, str) else None
