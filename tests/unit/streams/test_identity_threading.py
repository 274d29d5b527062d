"""Linked identities in threading, as a decider: given these link/unlink decisions (the owner
changes they make), when a message opens a new conversation, then its ticket belongs to this
customer — worked out by hand. A (LINE identity's home), B (e-mail's home), W (WhatsApp's home).

The agent keeps the owner changes in a view every worker follows (``identity_owners``) and
passes the owner to ``thread``; here the view is a dict folded by hand."""

from __future__ import annotations

from schemas.records import AppendCustomerMessage, OpenTicket, UnlinkCustomerIdentity
from streams.domain.identity import (
    customer_for,
    decide_link,
    decide_unlink,
    evolve_customer,
    label,
    owner_changes,
)
from streams.domain.threading import ConversationState, thread
from tests.unit.streams.test_identity import (
    LINE,
    MAIL,
    NOW,
    WA,
    A,
    B,
    W,
    hdr,
    link,
    message,
    seen,
)


def fold(owners: dict[str, str], *events: object) -> dict[str, str]:
    """The view after ``events``: identity label → owner, only identities linked away."""
    out = dict(owners)
    for e in events:
        for identity, owner in owner_changes(e):
            if owner is None:
                out.pop(label(identity), None)
            else:
                out[label(identity)] = owner
    return out


def opened_for(owners: dict[str, str], identity, conversation: str) -> OpenTicket:  # type: ignore[no-untyped-def]
    msg = message(identity, conversation)
    _, commands = thread(ConversationState(msg.conversation_key), msg, owners.get(label(identity)))
    opens = [c for c in commands if isinstance(c, OpenTicket)]
    assert len(opens) == 1
    return opens[0]


def test_link_moves_the_merged_customers_identity_to_the_customer_that_keeps_it() -> None:
    (linked,) = decide_link(seen(MAIL), link(A, B), NOW)
    assert owner_changes(linked) == ((MAIL, A),)
    owners = fold({}, linked)
    assert owners == {label(MAIL): A}
    assert customer_for(MAIL, owners) == A and customer_for(LINE, owners) == A
    assert customer_for(WA, owners) == W  # never linked: its home


def test_new_ticket_from_a_linked_identity_carries_the_merged_customer() -> None:
    assert opened_for({}, MAIL, "c1").customer_id == B  # before the link: its home
    (linked,) = decide_link(seen(MAIL), link(A, B), NOW)
    owners = fold({}, linked)
    ticket = opened_for(owners, MAIL, "c2")
    assert ticket.customer_id == A
    assert opened_for(owners, LINE, "c3").customer_id == A  # A's own identity: A


def test_unlink_gives_new_tickets_back_to_the_home_customer() -> None:
    b = seen(MAIL)
    (linked,) = decide_link(b, link(A, B), NOW)
    a = evolve_customer(seen(LINE), linked)
    unlink = UnlinkCustomerIdentity(hdr("c-unlink", A), A, MAIL)
    (unlinked,) = decide_unlink(a, unlink, NOW)
    assert owner_changes(unlinked) == ((MAIL, None),)
    owners = fold({}, linked, unlinked)
    assert owners == {}
    assert opened_for(owners, MAIL, "c4").customer_id == B


def test_a_customer_linked_in_twice_takes_every_identity_it_held() -> None:
    # W's WhatsApp identity was linked into B; then B is linked into A: both go to A
    (w_into_b,) = decide_link(seen(WA), link(B, W, "c-link-w"), NOW)
    b = evolve_customer(seen(MAIL), w_into_b)
    assert b.identities == (MAIL, WA)
    (b_into_a,) = decide_link(b, link(A, B), NOW)
    assert owner_changes(b_into_a) == ((MAIL, A), (WA, A))
    owners = fold({}, w_into_b, b_into_a)
    assert opened_for(owners, WA, "c5").customer_id == A
    assert opened_for(owners, MAIL, "c6").customer_id == A


def test_replies_still_go_to_the_identity_the_conversation_came_from() -> None:
    (linked,) = decide_link(seen(MAIL), link(A, B), NOW)
    msg = message(MAIL, "c7")
    _, commands = thread(ConversationState(msg.conversation_key), msg, A)
    (append,) = [c for c in commands if isinstance(c, AppendCustomerMessage)]
    # the ticket is A's, the reply target stays the e-mail sender's identity
    assert dict(append.reply_context)["external_user_id"] == MAIL.external_user_id
    assert append.channel == MAIL.channel
    assert fold({}, linked)[label(MAIL)] == A
