"""Identity as a decider: given these customer events, when this sighting / link / unlink
step, then these events (or this rejection). Plus the whole multi-step flow, with forwarded
records delivered by hand as the agent would (keyed by the customer they name)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.records import (
    Actor,
    ActorKind,
    Channel,
    ChannelMessageReceived,
    CommandHeader,
    CustomerIdentified,
    CustomerIdentityLinked,
    CustomerIdentityUnlinked,
    Envelope,
    IdentityRef,
    LinkCustomerIdentity,
    UnlinkCustomerIdentity,
)
from streams.domain.identity import (
    CustomerCommandError,
    CustomerState,
    check_link_target,
    decide_identified,
    decide_link,
    decide_unlink,
    evolve_customer,
    handle_customer,
    home_customer_id,
)
from streams.domain.threading import customer_id_of

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LINE = IdentityRef(Channel.LINE, "acct1", "U1")
MAIL = IdentityRef(Channel.EMAIL, "support@x", "ann@example.com")
WA = IdentityRef(Channel.WHATSAPP, "wa1", "+66811111111")
A, B, W = home_customer_id(LINE), home_customer_id(MAIL), home_customer_id(WA)


def hdr(cid: str, agg: str) -> CommandHeader:
    return CommandHeader(cid, AT, agg, cid, Actor(ActorKind.AGENT, "sup-1"), "tenant-a")


def message(identity: IdentityRef, conversation: str = "c1", n: int = 1) -> ChannelMessageReceived:
    key = f"{identity.channel}:{identity.account_id}:{conversation}"
    dedup = f"{key}/{n}"
    env = Envelope(dedup, AT, AT, key, 1, dedup, "corr-1", Actor(ActorKind.CUSTOMER, "x"), "t-a")
    return ChannelMessageReceived(
        env, identity.channel, identity.account_id, conversation, identity.external_user_id,
        f"x{n}", dedup, key, "hello", AT, customer_display_name="Ann",
    )  # fmt: skip


def seen(identity: IdentityRef) -> CustomerState:
    """A customer after the first sighting of its own identity."""
    cid = home_customer_id(identity)
    state = CustomerState(cid)
    for e in decide_identified(state, message(identity), NOW):
        state = evolve_customer(state, e)
    return state


def link(target: str, other: str, cid: str = "c-link") -> LinkCustomerIdentity:
    return LinkCustomerIdentity(hdr(cid, target), target, other)


def test_home_customer_is_the_one_threading_gives_the_ticket() -> None:
    assert home_customer_id(LINE) == customer_id_of(message(LINE))


def test_first_sighting_identifies_and_later_ones_change_nothing() -> None:
    state = CustomerState(A)
    (e,) = decide_identified(state, message(LINE), NOW)
    assert isinstance(e, CustomerIdentified)
    assert (e.customer_id, e.identity, e.display_name) == (A, LINE, "Ann")
    assert (e.envelope.aggregate_id, e.envelope.aggregate_version) == (A, 1)
    assert e.envelope.occurred_at == AT and e.envelope.recorded_at == NOW
    state = evolve_customer(state, e)
    assert (state.version, state.identities) == (1, (LINE,))
    assert decide_identified(state, message(LINE, "c2", 7), NOW) == []
    # the same identity seen again in another conversation before the first was applied:
    # recognisably the same event (id derives from the identity)
    (again,) = decide_identified(CustomerState(A), message(LINE, "c3", 9), NOW)
    assert again.envelope.event_id == e.envelope.event_id
    assert evolve_customer(state, again) is state


def test_link_merges_the_other_customers_identities() -> None:
    a, b = seen(LINE), seen(MAIL)
    cmd = link(A, B)
    check_link_target(a, cmd)  # the first step (on A) passes
    (linked,) = decide_link(b, cmd, NOW)  # the second step, on B
    assert (linked.customer_id, linked.merged_customer_id, linked.identities) == (A, B, (MAIL,))
    assert (linked.envelope.aggregate_id, linked.envelope.aggregate_version) == (B, 2)
    a2, b2 = evolve_customer(a, linked), evolve_customer(b, linked)
    assert (a2.identities, a2.version, a2.merged_into) == ((LINE, MAIL), 2, None)
    assert (b2.identities, b2.version, b2.merged_into) == ((), 2, A)
    assert evolve_customer(a2, linked) is a2  # a forwarded event applies once
    assert decide_link(b2, link(A, B, "c-link-2"), NOW) == []  # already linked to A: no-op


def test_link_refusals() -> None:
    a, b = seen(LINE), seen(MAIL)
    b_into_a = evolve_customer(b, decide_link(b, link(A, B), NOW)[0])
    cases: list[tuple[Any, str]] = [
        (lambda: check_link_target(a, link(A, A)), "link_to_itself"),
        (lambda: check_link_target(CustomerState("C-nobody"), link("C-nobody", B)),
         "unknown_customer"),
        (lambda: decide_link(CustomerState("C-nobody"), link(A, "C-nobody"), NOW),
         "unknown_customer"),
        (lambda: decide_link(b_into_a, link(W, B), NOW), "already_linked"),
        (lambda: check_link_target(b_into_a, link(B, W)), "already_linked"),
    ]  # fmt: skip
    for call, code in cases:
        with pytest.raises(CustomerCommandError) as err:
            call()
        assert err.value.reason_code == code
    with pytest.raises(CustomerCommandError) as err:
        check_link_target(b_into_a, link(B, W))
    assert err.value.message == (f"Customer {B} is linked to {A}; link to {A} instead")


def test_unlink_reverses_a_link() -> None:
    a, b = seen(LINE), seen(MAIL)
    linked = decide_link(b, link(A, B), NOW)[0]
    a2, b2 = evolve_customer(a, linked), evolve_customer(b, linked)
    (unlinked,) = decide_unlink(a2, UnlinkCustomerIdentity(hdr("c-u", A), A, MAIL), NOW)
    assert (unlinked.customer_id, unlinked.restored_customer_id, unlinked.identity) == (A, B, MAIL)
    assert (unlinked.envelope.aggregate_id, unlinked.envelope.aggregate_version) == (A, 3)
    a3, b3 = evolve_customer(a2, unlinked), evolve_customer(b2, unlinked)
    assert (a3.identities, b3.identities, b3.merged_into) == ((LINE,), (MAIL,), None)
    assert (a3.version, b3.version) == (3, 3)


def test_unlink_refusals() -> None:
    a = seen(LINE)
    with pytest.raises(CustomerCommandError) as err:
        decide_unlink(a, UnlinkCustomerIdentity(hdr("c-u", A), A, MAIL), NOW)
    assert err.value.reason_code == "identity_not_linked"
    assert err.value.message == (
        f"Identity email:support@x:ann@example.com does not belong to customer {A}; "
        "nothing to unlink"
    )
    with pytest.raises(CustomerCommandError) as err:
        decide_unlink(a, UnlinkCustomerIdentity(hdr("c-u", A), A, LINE), NOW)
    assert err.value.reason_code == "own_identity"


class Customers:
    """The customers' partitions in one dict: delivers each forward to the customer it names,
    in order, as the agent does through the commands topic."""

    def __init__(self) -> None:
        self.states: dict[str, CustomerState] = {}
        self.events: list[Any] = []
        self.rejections: list[Any] = []

    def send(self, key: str, record: Any) -> None:
        pending = [(key, record)]
        while pending:
            key, record = pending.pop(0)
            out = handle_customer(self.states.get(key, CustomerState(key)), record, NOW)
            self.states[key] = out.state
            self.events += out.events
            self.rejections += [out.rejection] if out.rejection else []
            pending += out.forwards


def test_link_then_unlink_through_the_steps_each_customer_takes() -> None:
    c = Customers()
    for identity in (LINE, MAIL, WA):
        c.send(home_customer_id(identity), message(identity))
    c.send(home_customer_id(MAIL), message(MAIL, "c9", 2))  # a second sighting: nothing new
    assert [type(e).__name__ for e in c.events] == ["CustomerIdentified"] * 3
    c.send(A, link(A, B))
    c.send(A, link(A, W, "c-link-w"))
    assert (c.states[A].identities, c.states[B].merged_into) == ((LINE, MAIL, WA), A)
    c.send(A, link(A, B))  # replayed: the merged customer knows it already
    c.send(W, link(W, B, "c-steal"))  # B is A's: refused at B, the rejection names W
    (rej,) = c.rejections
    assert (rej.ticket_id, rej.command_id, rej.reason_code) == (W, "c-steal", "already_linked")
    c.send(A, UnlinkCustomerIdentity(hdr("c-u", A), A, MAIL))
    assert c.states[A].identities == (LINE, WA)
    assert (c.states[B].identities, c.states[B].merged_into) == ((MAIL,), None)
    assert [type(e).__name__ for e in c.events[3:]] == [
        "CustomerIdentityLinked", "CustomerIdentityLinked", "CustomerIdentityUnlinked",
    ]  # fmt: skip
    # a forwarded event delivered twice (a replay) applies once
    before = c.states[B]
    c.send(B, c.events[-1])
    assert c.states[B] is before


def test_a_non_customer_or_misrouted_record_is_an_error_not_a_decision() -> None:
    with pytest.raises(ValueError, match="not a customer command"):
        handle_customer(CustomerState(A), object(), NOW)
    # keyed by a customer it does not concern: deciding it there would change the wrong one
    with pytest.raises(ValueError, match=f"LinkCustomerIdentity keyed 'C-x' concerns {A} / {B}"):
        handle_customer(CustomerState("C-x", 1, (WA,)), link(A, B), NOW)
    with pytest.raises(ValueError, match="ChannelMessageReceived keyed"):
        handle_customer(seen(MAIL), message(LINE), NOW)
    with pytest.raises(ValueError, match="UnlinkCustomerIdentity keyed"):
        handle_customer(seen(MAIL), UnlinkCustomerIdentity(hdr("c-u", A), A, MAIL), NOW)


def test_events_name_both_customers_and_apply_to_each() -> None:
    linked = CustomerIdentityLinked(
        Envelope("e1", AT, AT, B, 2, "c", "c", Actor(ActorKind.AGENT, "s"), "t"), A, B, (MAIL,)
    )
    unlinked = CustomerIdentityUnlinked(
        Envelope("e2", AT, AT, A, 3, "c", "c", Actor(ActorKind.AGENT, "s"), "t"), A, B, MAIL
    )
    stranger = evolve_customer(CustomerState("C-x", 1, (WA,)), linked)
    assert stranger == CustomerState("C-x", 1, (WA,))  # names neither: unchanged
    b = evolve_customer(evolve_customer(seen(MAIL), linked), unlinked)
    assert (b.identities, b.merged_into, b.recent_events[-2:]) == ((MAIL,), None, ("e1", "e2"))
