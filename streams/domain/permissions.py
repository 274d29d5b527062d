"""Who may send which command: roles and their rights (checked at the HTTP edge)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    INTEGRATION = "integration"


AGENT_RIGHTS = frozenset(
    {
        "OpenTicket", "ReplyPublicly", "AddInternalNote", "AssignTicket", "UnassignTicket",
        "ChangeTicketStatus", "ChangeTicketPriority", "SetTicketTags", "SetAgentPresence",
        "RecordCsat",
    }
)  # fmt: skip
SUPERVISOR_RIGHTS = AGENT_RIGHTS | {
    "SetTicketGroup", "EscalateTicket", "MergeTickets", "SetAgentCapacity", "SetAgentSkills",
    "LinkCustomerIdentity", "UnlinkCustomerIdentity",
}  # fmt: skip
INTEGRATION_RIGHTS = frozenset(
    {"OpenTicket", "AppendCustomerMessage", "ReplyPublicly", "AddInternalNote", "RecordCsat",
     "SetTicketTags"}
)  # fmt: skip
ADMIN_RIGHTS = SUPERVISOR_RIGHTS | INTEGRATION_RIGHTS | {"UpdateSlaPolicies"}

RIGHTS: dict[Role, frozenset[str]] = {
    Role.AGENT: AGENT_RIGHTS,
    Role.SUPERVISOR: SUPERVISOR_RIGHTS,
    Role.ADMIN: ADMIN_RIGHTS,
    Role.INTEGRATION: INTEGRATION_RIGHTS,
}


def may_send(role: Role, command_type: str) -> bool:
    """True when ``role`` may send a command of type ``command_type``."""
    return command_type in RIGHTS[role]


def roles_allowed(command_type: str) -> list[str]:
    """The roles that may send ``command_type`` (for error messages)."""
    return [r.value for r in Role if command_type in RIGHTS[r]]


def parse_tokens(spec: str, file_text: str = "") -> dict[str, tuple[Role, str]]:
    """Tokens → (role, actor id). ``spec``: ``token:role[:actor],…``; ``file_text``: lines
    ``token role [actor]`` (# comments). Raises ``ValueError`` naming a bad entry (not the token)."""
    entries = [e.strip().split(":") for e in spec.split(",") if e.strip()]
    for line in file_text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            entries.append(line.split())
    out: dict[str, tuple[Role, str]] = {}
    for n, parts in enumerate(entries, 1):
        if len(parts) not in (2, 3) or parts[1] not in {r.value for r in Role}:
            raise ValueError(
                f"API token entry {n} is not 'token role [actor]' with role one of "
                f"{', '.join(r.value for r in Role)}"
            )
        role = Role(parts[1])
        out[parts[0]] = (role, parts[2] if len(parts) == 3 else f"{role.value}-{n}")
    return out
