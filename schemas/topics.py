"""Kafka topics (persistent API: renaming one is a migration) and what each carries."""

from __future__ import annotations

from dataclasses import dataclass

CHANNEL_MESSAGES = "support.channel.messages.v1"  # ChannelMessageReceived, key conversation_key
CHANNEL_DELIVERIES = "support.channel.deliveries.v1"  # MessageDeliveryUpdated, key ticket_id
TICKET_COMMANDS = "support.tickets.commands.v1"  # ticket commands, key ticket_id
TICKET_EVENTS = "support.tickets.events.v1"  # ticket events, key ticket_id
CUSTOMER_EVENTS = "support.customers.events.v1"  # identity events, key customer_id
AGENT_COMMANDS = "support.agents.commands.v1"  # SetAgent*, key agent_id
AGENT_EVENTS = "support.agents.events.v1"  # Agent*Changed, key agent_id
SLA_EVENTS = "support.sla.events.v1"  # Sla* events, key ticket_id
SLA_TICKS = "support.sla.ticks.v1"  # SlaTick, one per partition per tick
DEAD_LETTER = "support.deadletter.v1"  # undecodable records with topic/partition/offset

EVENT_TOPICS = (
    CHANNEL_MESSAGES, CHANNEL_DELIVERIES, TICKET_EVENTS, CUSTOMER_EVENTS, AGENT_EVENTS, SLA_EVENTS,
)  # fmt: skip

# Proposed by the schemas engineer for the catalogue; owners of the consumers confirm them.
CUSTOMER_COMMANDS = "support.customers.commands.v1"  # Link/UnlinkCustomerIdentity, key customer_id
SLA_COMMANDS = "support.sla.commands.v1"  # UpdateSlaPolicies, key "sla-policies"
# compacted, one partition, not Avro: key an identity's label, value its owner customer id (UTF-8;
# empty once back home) — streams/agents/identity_owners.py
IDENTITY_OWNERS = "support.customers.identity-owners.v1"

SLA_POLICIES_KEY = "sla-policies"  # the one key of the SLA policy set (commands and events)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a record type is produced: its topic and what its key is."""

    topic: str
    key_field: str | None  # attribute of the record holding the key (None: see key_doc)
    key_doc: str


def _routes() -> dict[str, Route]:
    ticket_commands = (
        "OpenTicket", "AppendCustomerMessage", "ReplyPublicly", "AddInternalNote",
        "AssignTicket", "UnassignTicket", "ChangeTicketStatus", "ChangeTicketPriority",
        "SetTicketGroup", "SetTicketTags", "EscalateTicket", "MergeTickets", "RecordCsat",
    )  # fmt: skip
    ticket_events = (
        "TicketOpened", "CustomerMessageAppended", "AgentReplied", "InternalNoteAdded",
        "TicketAssigned", "TicketUnassigned", "TicketStatusChanged", "TicketPriorityChanged",
        "TicketGroupChanged", "TicketTagsChanged", "TicketEscalated", "TicketMerged",
        "TicketReopened", "FollowUpTicketOpened", "TicketCommandRejected", "CsatReceived",
    )  # fmt: skip
    sla_events = (
        "SlaPolicyApplied", "SlaTimerStarted", "SlaTimerPaused", "SlaTimerResumed",
        "SlaWarning", "SlaBreached", "SlaTimerFulfilled",
    )  # fmt: skip
    routes: dict[str, Route] = {
        "ChannelMessageReceived": Route(CHANNEL_MESSAGES, "conversation_key", "conversation_key"),
        "MessageDeliveryUpdated": Route(CHANNEL_DELIVERIES, "ticket_id", "ticket_id"),
        "LinkCustomerIdentity": Route(CUSTOMER_COMMANDS, "customer_id", "customer_id"),
        "UnlinkCustomerIdentity": Route(CUSTOMER_COMMANDS, "customer_id", "customer_id"),
        "UpdateSlaPolicies": Route(SLA_COMMANDS, None, f'the constant "{SLA_POLICIES_KEY}"'),
        "SlaPoliciesUpdated": Route(SLA_EVENTS, None, f'the constant "{SLA_POLICIES_KEY}"'),
        "SlaTick": Route(SLA_TICKS, None, "none; produced to an explicit partition"),
        "DeadLetter": Route(DEAD_LETTER, None, "the source record's key, unchanged (bytes)"),
    }
    for name in ("CustomerIdentified", "CustomerIdentityLinked", "CustomerIdentityUnlinked"):
        routes[name] = Route(CUSTOMER_EVENTS, "customer_id", "customer_id")
    for name in ("SetAgentPresence", "SetAgentCapacity", "SetAgentSkills"):
        routes[name] = Route(AGENT_COMMANDS, "agent_id", "agent_id")
    for name in ("AgentPresenceChanged", "AgentCapacityChanged", "AgentSkillsChanged"):
        routes[name] = Route(AGENT_EVENTS, "agent_id", "agent_id")
    routes.update({n: Route(TICKET_COMMANDS, "ticket_id", "ticket_id") for n in ticket_commands})
    routes.update({n: Route(TICKET_EVENTS, "ticket_id", "ticket_id") for n in ticket_events})
    routes.update({n: Route(SLA_EVENTS, "ticket_id", "ticket_id") for n in sla_events})
    return routes


ROUTES: dict[str, Route] = _routes()  # record name → Route; shared types have none


def route_of(record_type: type) -> Route:
    """The topic and key of a record class; KeyError for shared types (Envelope, Actor …)."""
    return ROUTES[record_type.__name__]


def key_of(record: object) -> str | None:
    """The Kafka key of a record (str), or None when the record's route has no key field."""
    route = ROUTES[type(record).__name__]
    if route.key_field is None:
        return SLA_POLICIES_KEY if route.topic in (SLA_COMMANDS, SLA_EVENTS) else None
    return str(getattr(record, route.key_field))
