"""Identity: every channel identity belongs to a customer; linking two customers merges them,
unlinking an identity gives it back to the customer it came from (reversible).

A customer's state lives in the partition of its id, and a link or unlink names two customers,
so ``handle_customer`` works in steps, each on one customer, forwarding what the other must
see (keyed by that customer, on the customer commands topic):

- sighting: a ``ChannelMessageReceived`` keyed by its identity's home customer →
  ``CustomerIdentified`` the first time that identity is seen;
- ``LinkCustomerIdentity(A, other=B)`` keyed A: A is checked (known, not itself linked away),
  then the command is forwarded keyed B; keyed B: B decides ``CustomerIdentityLinked(A, B,
  B's identities)`` (its envelope names B, whose identities move), applies it, and forwards it
  keyed A, where A applies it;
- ``UnlinkCustomerIdentity(A, identity)`` keyed A: A decides ``CustomerIdentityUnlinked(A,
  home, identity)``, applies it, and forwards it keyed by the home customer, which applies it.

Forwarded events apply once (a customer remembers the ids of its last events), so a replayed
step changes nothing. Between the steps another command may slip in; the second check (at B)
keeps the one invariant that matters — a customer is linked into at most one other.

Replies do not depend on this: a ticket replies to the identity its conversation came from,
whatever customer that identity belongs to later (see ``tickets.decide._reply``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from schemas.records import (
    Actor,
    ActorKind,
    ChannelMessageReceived,
    CommandHeader,
    CustomerIdentified,
    CustomerIdentityLinked,
    CustomerIdentityUnlinked,
    IdentityRef,
    LinkCustomerIdentity,
    TicketCommandRejected,
    UnlinkCustomerIdentity,
)
from streams.domain.envelopes import EnvelopeFactory
from streams.domain.ids import derive_id, short_id

RECENT_EVENTS = 64  # event ids remembered per customer (a forwarded event applies once)
SYSTEM = Actor(ActorKind.SYSTEM, "identity")
CustomerEvent = CustomerIdentified | CustomerIdentityLinked | CustomerIdentityUnlinked


class CustomerCommandError(Exception):
    """A link/unlink the customers' state forbids; ``reason_code`` + an actionable sentence."""

    def __init__(self, reason_code: str, message: str) -> None:
        self.reason_code = reason_code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class CustomerState:
    customer_id: str
    version: int = 0  # events applied that name this customer
    identities: tuple[IdentityRef, ...] = ()
    merged_into: str | None = None  # set on a customer whose identities were linked away
    recent_events: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.version > 0


@dataclass(frozen=True, slots=True)
class CustomerOutcome:
    """``events`` to publish (customer events topic, keyed by their ``customer_id``);
    ``forwards`` (key, record) for the customer commands topic; ``rejection`` when refused."""

    state: CustomerState
    events: tuple[CustomerEvent, ...] = ()
    forwards: tuple[tuple[str, Any], ...] = ()
    rejection: TicketCommandRejected | None = None


def home_customer_id(identity: IdentityRef) -> str:
    """The customer an identity belongs to before any link (deterministic; the same id
    threading gives a conversation's first ticket)."""
    return short_id("C", identity.channel, identity.account_id, identity.external_user_id)


def identity_of(message: ChannelMessageReceived) -> IdentityRef:
    return IdentityRef(message.channel, message.account_id, message.external_user_id)


def label(identity: IdentityRef) -> str:
    return f"{identity.channel}:{identity.account_id}:{identity.external_user_id}"


def decide_identified(
    state: CustomerState, message: ChannelMessageReceived, now: datetime
) -> list[CustomerIdentified]:
    """``CustomerIdentified`` the first time the sender's identity is seen for its home
    customer (none once that customer's identities were linked to another customer)."""
    identity = identity_of(message)
    if identity in state.identities or state.merged_into is not None:
        return []
    env = message.envelope
    header = CommandHeader(
        derive_id("identified", label(identity)),
        message.sent_at,
        state.customer_id,
        env.correlation_id,
        SYSTEM,
        env.tenant_id,
        env.brand_id,
    )
    factory = EnvelopeFactory(header, state.customer_id, state.version, now)
    return [
        CustomerIdentified(
            factory.next("identified"), state.customer_id, identity, message.customer_display_name
        )
    ]


def check_link_target(target: CustomerState, command: LinkCustomerIdentity) -> None:
    """First step of a link, on the customer that keeps the identities. Raises
    ``CustomerCommandError`` when it cannot take another customer's identities."""
    if command.customer_id == command.other_customer_id:
        raise CustomerCommandError(
            "link_to_itself", f"Cannot link customer {target.customer_id} to itself"
        )
    if not target.known:
        raise CustomerCommandError(
            "unknown_customer",
            f"Customer {target.customer_id} is unknown (no identity of it was seen); check the id",
        )
    if target.merged_into is not None:
        raise CustomerCommandError(
            "already_linked",
            f"Customer {target.customer_id} is linked to {target.merged_into}; "
            f"link to {target.merged_into} instead",
        )


def decide_link(
    other: CustomerState, command: LinkCustomerIdentity, now: datetime
) -> list[CustomerIdentityLinked]:
    """Second step of a link, on the customer whose identities move to ``command.customer_id``.
    Empty when it already happened; raises ``CustomerCommandError`` when ``other`` is unknown
    or linked to a third customer."""
    target = command.customer_id
    if not other.known:
        raise CustomerCommandError(
            "unknown_customer",
            f"Customer {other.customer_id} is unknown (no identity of it was seen); check the id",
        )
    if other.merged_into is not None:
        if other.merged_into == target:
            return []
        raise CustomerCommandError(
            "already_linked",
            f"Customer {other.customer_id} is already linked to {other.merged_into}; "
            "unlink its identities there first",
        )
    env = EnvelopeFactory(command.command, other.customer_id, other.version, now)
    return [CustomerIdentityLinked(env.next("linked"), target, other.customer_id, other.identities)]


def decide_unlink(
    state: CustomerState, command: UnlinkCustomerIdentity, now: datetime
) -> list[CustomerIdentityUnlinked]:
    """Give ``command.identity`` back to its home customer."""
    identity = command.identity
    if identity not in state.identities:
        raise CustomerCommandError(
            "identity_not_linked",
            f"Identity {label(identity)} does not belong to customer {state.customer_id}; "
            "nothing to unlink",
        )
    home = home_customer_id(identity)
    if home == state.customer_id:
        raise CustomerCommandError(
            "own_identity",
            f"Identity {label(identity)} is customer {state.customer_id}'s own; unlink the "
            "other customer's identities instead",
        )
    env = EnvelopeFactory(command.command, state.customer_id, state.version, now)
    return [CustomerIdentityUnlinked(env.next("unlinked"), state.customer_id, home, identity)]


def evolve_customer(state: CustomerState, event: object) -> CustomerState:
    """The customer after ``event`` — an event about it, or one that merges it into / restores
    it from another customer (each event is applied to both customers it names). An event
    already applied (same id) changes nothing."""
    if not isinstance(
        event, CustomerIdentified | CustomerIdentityLinked | CustomerIdentityUnlinked
    ) or (event.envelope.event_id in state.recent_events):
        return state
    new = _evolve(state, event)
    if new is state:
        return state
    recent = (*state.recent_events, event.envelope.event_id)[-RECENT_EVENTS:]
    return replace(new, version=state.version + 1, recent_events=recent)


def _evolve(state: CustomerState, event: CustomerEvent) -> CustomerState:
    me = state.customer_id
    if isinstance(event, CustomerIdentified) and event.customer_id == me:
        if event.identity in state.identities:
            return state
        return replace(state, identities=(*state.identities, event.identity))
    if isinstance(event, CustomerIdentityLinked):
        if event.customer_id == me:
            new = tuple(i for i in event.identities if i not in state.identities)
            return replace(state, identities=state.identities + new)
        if event.merged_customer_id == me:
            return replace(state, identities=(), merged_into=event.customer_id)
    if isinstance(event, CustomerIdentityUnlinked):
        if event.customer_id == me:
            return replace(
                state, identities=tuple(i for i in state.identities if i != event.identity)
            )
        if event.restored_customer_id == me:
            kept = tuple(i for i in state.identities if i != event.identity)
            return replace(state, identities=(*kept, event.identity), merged_into=None)
    return state


def handle_customer(state: CustomerState, record: Any, now: datetime) -> CustomerOutcome:
    """One step on customer ``state`` (the record's key): a sighting, a link or unlink command
    (whichever step this key is), or an event forwarded by the other customer's step.
    Never raises ``CustomerCommandError``: a refusal is the outcome's ``rejection``. Raises
    ``ValueError`` for a record that is not the customers' or is keyed by a customer it does
    not concern (dead-lettered by the agent)."""
    _check_key(state.customer_id, record)
    try:
        if isinstance(record, ChannelMessageReceived):
            return _applied(state, decide_identified(state, record, now))
        if isinstance(record, CustomerIdentityLinked | CustomerIdentityUnlinked):
            return CustomerOutcome(evolve_customer(state, record))
        if isinstance(record, LinkCustomerIdentity):
            if state.customer_id == record.customer_id:
                check_link_target(state, record)
                return CustomerOutcome(state, forwards=((record.other_customer_id, record),))
            linked = decide_link(state, record, now)
            return _applied(state, linked, tuple((e.customer_id, e) for e in linked))
        if isinstance(record, UnlinkCustomerIdentity):
            unlinked = decide_unlink(state, record, now)
            return _applied(state, unlinked, tuple((e.restored_customer_id, e) for e in unlinked))
    except CustomerCommandError as err:
        return CustomerOutcome(state, rejection=customer_rejection(state, record, err, now))
    raise AssertionError("unreachable: _check_key knows every record type")


def _check_key(key: str, record: Any) -> None:
    """Raises ``ValueError`` for a record keyed by a customer it does not concern (a producer's
    bug: deciding it there would change the wrong customer)."""
    if isinstance(record, ChannelMessageReceived):
        allowed: tuple[str, ...] = (home_customer_id(identity_of(record)),)
    elif isinstance(record, LinkCustomerIdentity):
        allowed = (record.customer_id, record.other_customer_id)
    elif isinstance(record, UnlinkCustomerIdentity):
        allowed = (record.customer_id,)
    elif isinstance(record, CustomerIdentityLinked):
        allowed = (record.customer_id, record.merged_customer_id)
    elif isinstance(record, CustomerIdentityUnlinked):
        allowed = (record.customer_id, record.restored_customer_id)
    else:
        raise ValueError(f"{type(record).__name__} is not a customer command, sighting or event")
    if key not in allowed:
        raise ValueError(
            f"{type(record).__name__} keyed {key!r} concerns {' / '.join(allowed)}; "
            "produce it keyed by its customer_id"
        )


def _applied(
    state: CustomerState, events: list[Any], forwards: tuple[tuple[str, Any], ...] = ()
) -> CustomerOutcome:
    for e in events:
        state = evolve_customer(state, e)
    return CustomerOutcome(state, tuple(events), forwards)


def customer_rejection(
    state: CustomerState, command: Any, err: CustomerCommandError, now: datetime
) -> TicketCommandRejected:
    """The rejection of a customer command (its ``ticket_id`` field names the customer the
    command targeted, as the record allows), published on the customer events topic."""
    target = command.customer_id
    env = EnvelopeFactory(command.command, target, state.version, now)
    return TicketCommandRejected(
        env.same(f"rejected-{err.reason_code}"),
        target,
        command.command.command_id,
        type(command).__name__,
        err.reason_code,
        err.message,
    )


def resolve(identity: IdentityRef, owner_of: dict[IdentityRef, str]) -> str:
    """The customer ``identity`` belongs to now: its owner after links, else its home."""
    return owner_of.get(identity, home_customer_id(identity))


def owner_changes(event: object) -> tuple[tuple[IdentityRef, str | None], ...]:
    """Who owns which identity after ``event``: (identity, owner customer id), owner None when
    the identity is back with its home customer. A link moves every identity the merged
    customer held (its own and any linked into it before) to the customer that keeps them; an
    unlink gives one identity back to its home. Other events change no owner."""
    if isinstance(event, CustomerIdentityLinked):
        target = event.customer_id
        return tuple(
            (i, None if home_customer_id(i) == target else target) for i in event.identities
        )
    if isinstance(event, CustomerIdentityUnlinked):
        return ((event.identity, None),)
    return ()


def customer_for(identity: IdentityRef, owners: dict[str, str]) -> str:
    """The customer a new ticket from ``identity`` belongs to: the customer its identity was
    linked to (``owners``: identity label → owner, as ``owner_changes`` leave it), else its
    home customer."""
    return owners.get(label(identity)) or home_customer_id(identity)
