"""Identity: link merges customers, unlink gives an identity back to its home customer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.records import (
    Actor,
    ActorKind,
    Channel,
    CommandHeader,
    IdentityRef,
    LinkCustomerIdentity,
    UnlinkCustomerIdentity,
)
from streams.domain.identity import (
    CustomerCommandError,
    CustomerState,
    decide_link,
    decide_unlink,
    evolve_customer,
    home_customer_id,
)

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LINE = IdentityRef(Channel.LINE, "acct1", "U1")
MAIL = IdentityRef(Channel.EMAIL, "support@x", "ann@example.com")
A = home_customer_id(LINE)
B = home_customer_id(MAIL)


def hdr(cid: str, agg: str) -> CommandHeader:
    return CommandHeader(cid, AT, agg, cid, Actor(ActorKind.AGENT, "sup-1"), "tenant-a")


def customers() -> tuple[CustomerState, CustomerState]:
    return CustomerState(A, 1, (LINE,)), CustomerState(B, 1, (MAIL,))


def test_link_merges_the_other_customers_identities() -> None:
    a, b = customers()
    (linked,) = decide_link(a, b, LinkCustomerIdentity(hdr("c-l", A), A, B), AT)
    assert (linked.customer_id, linked.merged_customer_id, linked.identities) == (A, B, (MAIL,))
    assert linked.envelope.aggregate_version == 2
    a2, b2 = evolve_customer(a, linked), evolve_customer(b, linked)
    assert a2.identities == (LINE, MAIL)
    assert (b2.identities, b2.merged_into) == ((), A)
    # linking again is a no-op; linking the merged customer elsewhere is refused
    assert decide_link(a2, b2, LinkCustomerIdentity(hdr("c-l2", A), A, B), AT) == []
    c = CustomerState("C-3", 1, ())
    with pytest.raises(CustomerCommandError) as err:
        decide_link(c, b2, LinkCustomerIdentity(hdr("c-l3", "C-3"), "C-3", B), AT)
    assert err.value.reason_code == "already_linked"


def test_unlink_reverses_a_link() -> None:
    a, b = customers()
    linked = decide_link(a, b, LinkCustomerIdentity(hdr("c-l", A), A, B), AT)[0]
    a2, b2 = evolve_customer(a, linked), evolve_customer(b, linked)
    (unlinked,) = decide_unlink(a2, UnlinkCustomerIdentity(hdr("c-u", A), A, MAIL), AT)
    assert (unlinked.customer_id, unlinked.restored_customer_id, unlinked.identity) == (A, B, MAIL)
    a3, b3 = evolve_customer(a2, unlinked), evolve_customer(b2, unlinked)
    assert (a3.identities, b3.identities, b3.merged_into) == ((LINE,), (MAIL,), None)


def test_unlink_refusals() -> None:
    a, _ = customers()
    with pytest.raises(CustomerCommandError) as err:
        decide_unlink(a, UnlinkCustomerIdentity(hdr("c-u", A), A, MAIL), AT)
    assert err.value.reason_code == "identity_not_linked"
    with pytest.raises(CustomerCommandError) as err:
        decide_unlink(a, UnlinkCustomerIdentity(hdr("c-u", A), A, LINE), AT)
    assert err.value.reason_code == "own_identity"
    with pytest.raises(CustomerCommandError) as err:
        decide_link(a, a, LinkCustomerIdentity(hdr("c-l", A), A, A), AT)
    assert err.value.reason_code == "link_to_itself"
