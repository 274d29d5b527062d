"""HTTP command bodies → commands, roles and tokens (no server)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.records import Actor, ActorKind, AssignTicket, Channel, CommandHeader, SetAgentSkills
from streams.domain.permissions import Role, may_send, parse_tokens, roles_allowed
from streams.web.parse import CommandParseError, parse_command

H = CommandHeader(
    "c1", datetime(2026, 11, 23, tzinfo=UTC), "", "c1", Actor(ActorKind.AGENT, "a"), "t"
)


def test_body_becomes_the_command() -> None:
    cmd = parse_command({"type": "AssignTicket", "ticket_id": "T-1", "agent_id": "ann"}, H)
    assert cmd == AssignTicket(H, "T-1", "ann")
    skills = parse_command(
        {"type": "SetAgentSkills", "agent_id": "ann", "channels": ["line"], "tier": 2}, H
    )
    assert skills == SetAgentSkills(H, "ann", channels=(Channel.LINE,), tier=2)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"type": "Nope"}, "unknown command type 'Nope'"),
        ({"type": "AssignTicket", "ticket_id": "T-1"}, "missing required field 'agent_id'"),
        (
            {"type": "AssignTicket", "ticket_id": 5, "agent_id": "a"},
            "AssignTicket.ticket_id: expected a string",
        ),
        ({"type": "AssignTicket", "ticket_id": "T", "agent_id": "a", "x": 1}, "unknown field(s) x"),
        ({"type": "RecordCsat", "ticket_id": "T", "score": "5"}, "expected an integer"),
        (
            {"type": "ChangeTicketStatus", "ticket_id": "T", "status": "done"},
            "'done' is not one of",
        ),
    ],
)
def test_bad_bodies_name_the_field(body: dict[str, object], says: str) -> None:
    with pytest.raises(CommandParseError) as err:
        parse_command(body, H)
    assert says in str(err.value)


def test_roles() -> None:
    assert may_send(Role.AGENT, "AssignTicket") and not may_send(Role.AGENT, "MergeTickets")
    assert may_send(Role.SUPERVISOR, "MergeTickets") and may_send(Role.ADMIN, "UpdateSlaPolicies")
    assert not may_send(Role.INTEGRATION, "AssignTicket")
    assert roles_allowed("AppendCustomerMessage") == ["admin", "integration"]


def test_tokens_from_setting_and_file() -> None:
    tokens = parse_tokens("t1:agent:ann,t2:admin", "# comment\nt3 integration bot-1\n")
    assert tokens == {
        "t1": (Role.AGENT, "ann"),
        "t2": (Role.ADMIN, "admin-2"),
        "t3": (Role.INTEGRATION, "bot-1"),
    }
    with pytest.raises(ValueError, match="entry 1 is not") as err:
        parse_tokens("secret:root")
    assert "secret" not in str(err.value)
