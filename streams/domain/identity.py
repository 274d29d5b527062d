"""Identity: every channel identity belongs to a customer; linking two customers merges them,
unlinking an identity gives it back to the customer it came from (reversible).

Replies do not depend on this: a ticket replies to the conversation (and identity) it came from,
whatever customer that identity belongs to later (see ``tickets.decide._reply``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from schemas.records import (
    CommandHeader,
    CustomerIdentified,
    CustomerIdentityLinked,
    CustomerIdentityUnlinked,
    Envelope,
    IdentityRef,
    LinkCustomerIdentity,
    UnlinkCustomerIdentity,
)
from streams.domain.envelopes import EnvelopeFactory
from streams.domain.ids import derive_id, short_id


class CustomerCommandError(Exception):
    """A link/unlink the customers' state forbids; ``reason_code`` + an actionable sentence."""

    def __init__(self, reason_code: str, message: str) -> None:
        self.reason_code = reason_code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class CustomerState:
    customer_id: str
    version: int = 0
    identities: tuple[IdentityRef, ...] = ()
    merged_into: str | None = None  # set on a customer whose identities were linked away


def home_customer_id(identity: IdentityRef) -> str:
    """The customer an identity belongs to before any link (deterministic)."""
    return short_id("C", identity.channel, identity.account_id, identity.external_user_id)


def identify(
    state: CustomerState, identity: IdentityRef, cause_id: str, env: Envelope
) -> list[CustomerIdentified]:
    """``CustomerIdentified`` the first time ``identity`` is seen for this customer."""
    if identity in state.identities or state.merged_into is not None:
        return []
    return [CustomerIdentified(env, state.customer_id, identity)]


def decide_link(
    target: CustomerState, other: CustomerState, command: LinkCustomerIdentity, now: datetime
) -> list[CustomerIdentityLinked]:
    """Merge ``other`` into ``target``: every identity of ``other`` now belongs to ``target``."""
    if target.customer_id == other.customer_id:
        raise CustomerCommandError(
            "link_to_itself", f"Cannot link customer {target.customer_id} to itself"
        )
    if other.merged_into is not None:
        if other.merged_into == target.customer_id:
            return []
        raise CustomerCommandError(
            "already_linked",
            f"Customer {other.customer_id} is already linked to {other.merged_into}; "
            "unlink its identities there first",
        )
    if target.merged_into is not None:
        raise CustomerCommandError(
            "already_linked",
            f"Customer {target.customer_id} is linked to {target.merged_into}; "
            f"link to {target.merged_into} instead",
        )
    env = EnvelopeFactory(command.command, target.customer_id, target.version, now)
    return [
        CustomerIdentityLinked(
            env.next("linked"), target.customer_id, other.customer_id, other.identities
        )
    ]


def decide_unlink(
    state: CustomerState, command: UnlinkCustomerIdentity, now: datetime
) -> list[CustomerIdentityUnlinked]:
    """Give ``command.identity`` back to its home customer."""
    identity = command.identity
    if identity not in state.identities:
        raise CustomerCommandError(
            "identity_not_linked",
            f"Identity {identity.channel}:{identity.account_id}:{identity.external_user_id} "
            f"does not belong to customer {state.customer_id}; nothing to unlink",
        )
    home = home_customer_id(identity)
    if home == state.customer_id:
        raise CustomerCommandError(
            "own_identity",
            f"Identity {identity.channel}:{identity.external_user_id} is customer "
            f"{state.customer_id}'s own; unlink the other customer's identities instead",
        )
    env = EnvelopeFactory(command.command, state.customer_id, state.version, now)
    return [CustomerIdentityUnlinked(env.next("unlinked"), state.customer_id, home, identity)]


def evolve_customer(state: CustomerState, event: object) -> CustomerState:
    """The customer after ``event`` (events about this customer, or about one merged into it /
    restored from it: the caller applies each event to both customers it names)."""
    if isinstance(event, CustomerIdentified) and event.customer_id == state.customer_id:
        return replace(
            state, version=state.version + 1, identities=(*state.identities, event.identity)
        )
    if isinstance(event, CustomerIdentityLinked):
        if event.customer_id == state.customer_id:
            new = tuple(i for i in event.identities if i not in state.identities)
            return replace(state, version=state.version + 1, identities=state.identities + new)
        if event.merged_customer_id == state.customer_id:
            return replace(
                state, version=state.version + 1, identities=(), merged_into=event.customer_id
            )
    if isinstance(event, CustomerIdentityUnlinked):
        if event.customer_id == state.customer_id:
            kept = tuple(i for i in state.identities if i != event.identity)
            return replace(state, version=state.version + 1, identities=kept)
        if event.restored_customer_id == state.customer_id:
            return replace(
                state,
                version=state.version + 1,
                identities=(*state.identities, event.identity),
                merged_into=None,
            )
    return state


def resolve(identity: IdentityRef, owner_of: dict[IdentityRef, str]) -> str:
    """The customer ``identity`` belongs to now: its owner after links, else its home."""
    return owner_of.get(identity, home_customer_id(identity))


def identified_header(identity: IdentityRef, header: CommandHeader) -> CommandHeader:
    """A header whose id derives from the identity (first sighting is recognisably unique)."""
    cid = derive_id("identified", identity.channel, identity.account_id, identity.external_user_id)
    return replace(header, command_id=cid)
