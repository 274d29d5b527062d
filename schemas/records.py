"""Python mirrors of the Avro records in ``schemas/avsc/`` (namespace ``support.v1``).

Frozen, slotted dataclasses; class name == Avro record name; field names == Avro field names.
Datetimes are tz-aware UTC (Avro ``timestamp-millis``); sequences are tuples; Avro maps are
``dict[str, str]`` / ``dict[str, int]``. Conversion to and from Avro lives only in
``schemas.codec``. Every event carries an ``envelope``; every command a ``command`` header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


# ---------------------------------------------------------------- enums (closed sets)
class Channel(StrEnum):
    LINE = "line"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    DINGTALK = "dingtalk"
    WECHAT = "wechat"
    EMAIL = "email"
    WEBCHAT = "webchat"
    API = "api"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ActorKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"  # a human agent
    BOT = "bot"  # automated replies; never fulfil reply SLAs
    SYSTEM = "system"  # Ticketstream itself (threading, routing, timers)
    INTEGRATION = "integration"


class SlaMetric(StrEnum):
    FIRST_REPLY_TIME = "first_reply_time"
    NEXT_REPLY_TIME = "next_reply_time"
    PERIODIC_UPDATE_TIME = "periodic_update_time"
    PAUSABLE_UPDATE_TIME = "pausable_update_time"
    REQUESTER_WAIT_TIME = "requester_wait_time"
    AGENT_WORK_TIME = "agent_work_time"
    TOTAL_RESOLUTION_TIME = "total_resolution_time"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class AgentPresence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class AssignmentReason(StrEnum):
    MANUAL = "manual"
    ROUTING = "routing"
    REASSIGNED_PRESENCE = "reassigned_presence"  # previous assignee went offline/away
    ESCALATION = "escalation"


# ---------------------------------------------------------------- shared records
@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str


@dataclass(frozen=True, slots=True)
class Envelope:
    """Header of every event. ``event_id`` is derived from the cause wherever a retry could
    re-create the event (so a re-emitted event is recognisably the same)."""

    event_id: str
    occurred_at: datetime  # when it happened (event time; drives SLAs)
    recorded_at: datetime  # when Ticketstream wrote it
    aggregate_id: str  # ticket id, customer id, agent id or conversation key
    aggregate_version: int  # version of the aggregate after this event (1-based)
    causation_id: str  # id of the command/event/message that caused it
    correlation_id: str  # id of the first cause in the chain
    actor: Actor
    tenant_id: str
    brand_id: str | None = None


@dataclass(frozen=True, slots=True)
class CommandHeader:
    """Header of every command. Commands are idempotent by ``command_id``."""

    command_id: str
    issued_at: datetime
    aggregate_id: str  # ticket id / customer id / agent id the command targets
    correlation_id: str
    actor: Actor
    tenant_id: str
    brand_id: str | None = None
    expected_version: int | None = None  # optimistic concurrency; None = don't check


@dataclass(frozen=True, slots=True)
class Attachment:
    """A reference to content held by the platform or our blob store; never the bytes."""

    kind: str  # image, video, audio, file, sticker, location, share, other
    url: str | None = None
    external_id: str | None = None
    mime_type: str | None = None
    file_name: str | None = None
    size_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class IdentityRef:
    """A customer's identity on one channel account."""

    channel: Channel
    account_id: str
    external_user_id: str


# ---------------------------------------------------------------- channel
@dataclass(frozen=True, slots=True)
class ChannelMessageReceived:
    """A customer message received on a channel, normalised. Topic support.channel.messages.v1,
    key = conversation_key. envelope.aggregate_id = conversation_key."""

    envelope: Envelope
    channel: Channel
    account_id: str
    external_conversation_id: str
    external_user_id: str
    external_message_id: str
    dedup_key: str  # stable across platform redeliveries
    conversation_key: str  # f"{channel}:{account_id}:{external_conversation_id}"
    text: str
    sent_at: datetime  # the platform's timestamp
    attachments: tuple[Attachment, ...] = ()
    language: str | None = None
    customer_display_name: str | None = None
    subject: str | None = None  # e-mail
    thread_refs: tuple[str, ...] = ()  # e-mail In-Reply-To + References Message-IDs
    ticket_hint: str | None = None  # ticket token from a plus-address or subject tag
    reply_context: dict[str, str] = field(default_factory=dict)  # reply token, session webhook…
    reply_context_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessageDeliveryUpdated:
    """Outbound delivery progress of an agent reply. Topic support.channel.deliveries.v1."""

    envelope: Envelope
    ticket_id: str
    reply_id: str
    channel: Channel
    status: DeliveryStatus
    attempt: int = 1
    external_message_id: str | None = None
    reason: str | None = None


# ---------------------------------------------------------------- identity (customer aggregate)
@dataclass(frozen=True, slots=True)
class CustomerIdentified:
    envelope: Envelope
    customer_id: str
    identity: IdentityRef
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerIdentityLinked:
    """``merged_customer_id``'s identities now belong to ``customer_id`` (reversible)."""

    envelope: Envelope
    customer_id: str
    merged_customer_id: str
    identities: tuple[IdentityRef, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerIdentityUnlinked:
    """``identity`` leaves ``customer_id`` and returns to ``restored_customer_id``."""

    envelope: Envelope
    customer_id: str
    restored_customer_id: str
    identity: IdentityRef


# ---------------------------------------------------------------- commands
@dataclass(frozen=True, slots=True)
class OpenTicket:
    command: CommandHeader
    ticket_id: str
    customer_id: str
    channel: Channel
    conversation_key: str
    subject: str | None = None
    text: str | None = None  # first customer message, or an agent's internal note
    by_customer: bool = True  # False: opened by an agent (first reply waits for the customer)
    priority: Priority = Priority.NORMAL
    group: str | None = None
    tags: tuple[str, ...] = ()
    customer_tier: str | None = None
    language: str | None = None
    follow_up_of: str | None = None
    message_id: str | None = None  # dedup key of the first customer message


@dataclass(frozen=True, slots=True)
class AppendCustomerMessage:
    command: CommandHeader
    ticket_id: str
    message_id: str  # dedup key of the channel message
    channel: Channel
    text: str
    sent_at: datetime
    attachments: tuple[Attachment, ...] = ()
    reply_context: dict[str, str] = field(default_factory=dict)
    reply_context_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReplyPublicly:
    command: CommandHeader
    ticket_id: str
    text: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class AddInternalNote:
    command: CommandHeader
    ticket_id: str
    text: str


@dataclass(frozen=True, slots=True)
class AssignTicket:
    command: CommandHeader
    ticket_id: str
    agent_id: str
    reason: AssignmentReason = AssignmentReason.MANUAL


@dataclass(frozen=True, slots=True)
class UnassignTicket:
    command: CommandHeader
    ticket_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeTicketStatus:
    command: CommandHeader
    ticket_id: str
    status: TicketStatus


@dataclass(frozen=True, slots=True)
class ChangeTicketPriority:
    command: CommandHeader
    ticket_id: str
    priority: Priority


@dataclass(frozen=True, slots=True)
class SetTicketGroup:
    command: CommandHeader
    ticket_id: str
    group: str


@dataclass(frozen=True, slots=True)
class SetTicketTags:
    command: CommandHeader
    ticket_id: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EscalateTicket:
    """Tier-1 customer service → tier-2 customer support (or higher)."""

    command: CommandHeader
    ticket_id: str
    to_tier: int
    to_group: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MergeTickets:
    """Merge ``source_ticket_id`` into ``ticket_id``; the source is closed."""

    command: CommandHeader
    ticket_id: str
    source_ticket_id: str


@dataclass(frozen=True, slots=True)
class LinkCustomerIdentity:
    command: CommandHeader
    customer_id: str
    other_customer_id: str


@dataclass(frozen=True, slots=True)
class UnlinkCustomerIdentity:
    command: CommandHeader
    customer_id: str
    identity: IdentityRef


@dataclass(frozen=True, slots=True)
class SetAgentPresence:
    command: CommandHeader
    agent_id: str
    presence: AgentPresence


@dataclass(frozen=True, slots=True)
class SetAgentCapacity:
    command: CommandHeader
    agent_id: str
    capacity: dict[str, int]  # channel value -> max concurrent open tickets


@dataclass(frozen=True, slots=True)
class SetAgentSkills:
    command: CommandHeader
    agent_id: str
    languages: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    tier: int = 1
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordCsat:
    command: CommandHeader
    ticket_id: str
    score: int  # 1..5
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateSlaPolicies:
    command: CommandHeader
    version: int
    policies_yaml: str


# ---------------------------------------------------------------- ticket events
@dataclass(frozen=True, slots=True)
class TicketOpened:
    envelope: Envelope
    ticket_id: str
    customer_id: str
    channel: Channel
    conversation_key: str
    priority: Priority
    by_customer: bool
    subject: str | None = None
    group: str | None = None
    tags: tuple[str, ...] = ()
    customer_tier: str | None = None
    language: str | None = None
    follow_up_of: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerMessageAppended:
    envelope: Envelope
    ticket_id: str
    message_id: str
    channel: Channel
    text: str
    sent_at: datetime
    attachments: tuple[Attachment, ...] = ()
    external_user_id: str | None = None  # the sender's identity on the channel (replies go there)
    reply_context: dict[str, str] = field(default_factory=dict)  # reply token, chat id, sender…
    reply_context_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AgentReplied:
    """A public reply. ``actor.kind`` AGENT = human (counts for SLAs), BOT = automated.
    Carries what the outbound connector needs to deliver it."""

    envelope: Envelope
    ticket_id: str
    reply_id: str
    author_id: str
    channel: Channel
    conversation_key: str
    account_id: str
    external_conversation_id: str
    external_user_id: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    reply_context: dict[str, str] = field(default_factory=dict)
    reply_context_expires_at: datetime | None = None
    last_customer_message_at: datetime | None = None  # for 24 h messaging windows


@dataclass(frozen=True, slots=True)
class InternalNoteAdded:
    envelope: Envelope
    ticket_id: str
    note_id: str
    author_id: str
    text: str


@dataclass(frozen=True, slots=True)
class TicketAssigned:
    envelope: Envelope
    ticket_id: str
    agent_id: str
    reason: AssignmentReason
    previous_agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class TicketUnassigned:
    envelope: Envelope
    ticket_id: str
    previous_agent_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TicketStatusChanged:
    envelope: Envelope
    ticket_id: str
    from_status: TicketStatus
    to_status: TicketStatus


@dataclass(frozen=True, slots=True)
class TicketPriorityChanged:
    envelope: Envelope
    ticket_id: str
    from_priority: Priority
    to_priority: Priority


@dataclass(frozen=True, slots=True)
class TicketGroupChanged:
    envelope: Envelope
    ticket_id: str
    to_group: str
    from_group: str | None = None


@dataclass(frozen=True, slots=True)
class TicketTagsChanged:
    envelope: Envelope
    ticket_id: str
    tags: tuple[str, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TicketEscalated:
    envelope: Envelope
    ticket_id: str
    from_tier: int
    to_tier: int
    to_group: str
    from_group: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TicketMerged:
    """Written on the source ticket: it was merged into ``into_ticket_id`` (and closed)."""

    envelope: Envelope
    ticket_id: str
    into_ticket_id: str


@dataclass(frozen=True, slots=True)
class TicketReopened:
    envelope: Envelope
    ticket_id: str
    from_status: TicketStatus


@dataclass(frozen=True, slots=True)
class FollowUpTicketOpened:
    """Written on the new ticket after TicketOpened: it follows up the closed ``follow_up_of``."""

    envelope: Envelope
    ticket_id: str
    follow_up_of: str


@dataclass(frozen=True, slots=True)
class TicketCommandRejected:
    envelope: Envelope
    ticket_id: str  # or the aggregate the command targeted
    command_id: str
    command_type: str
    reason_code: str  # small fixed set, e.g. no_assignee, ticket_closed, unknown_ticket
    message: str  # a sentence a person can act on


@dataclass(frozen=True, slots=True)
class CsatReceived:
    envelope: Envelope
    ticket_id: str
    score: int
    comment: str | None = None


# ---------------------------------------------------------------- agent events
@dataclass(frozen=True, slots=True)
class AgentPresenceChanged:
    envelope: Envelope
    agent_id: str
    presence: AgentPresence
    previous_presence: AgentPresence | None = None


@dataclass(frozen=True, slots=True)
class AgentCapacityChanged:
    envelope: Envelope
    agent_id: str
    capacity: dict[str, int]


@dataclass(frozen=True, slots=True)
class AgentSkillsChanged:
    envelope: Envelope
    agent_id: str
    languages: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    tier: int = 1
    groups: tuple[str, ...] = ()


# ---------------------------------------------------------------- SLA events (key = ticket id)
@dataclass(frozen=True, slots=True)
class SlaPoliciesUpdated:
    envelope: Envelope
    version: int
    policies_yaml: str


@dataclass(frozen=True, slots=True)
class SlaPolicyApplied:
    envelope: Envelope
    ticket_id: str
    policy_id: str
    policy_version: int
    schedule_id: str
    priority: Priority
    previous_policy_id: str | None = None


@dataclass(frozen=True, slots=True)
class SlaTimerStarted:
    envelope: Envelope
    ticket_id: str
    metric: SlaMetric
    instance: int  # 1-based; reply metrics start a new instance per exchange
    policy_id: str
    priority: Priority
    target_seconds: int
    business_hours: bool
    due_at: datetime


@dataclass(frozen=True, slots=True)
class SlaTimerPaused:
    envelope: Envelope
    ticket_id: str
    metric: SlaMetric
    instance: int
    business_elapsed_seconds: int
    calendar_elapsed_seconds: int


@dataclass(frozen=True, slots=True)
class SlaTimerResumed:
    envelope: Envelope
    ticket_id: str
    metric: SlaMetric
    instance: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class SlaWarning:
    envelope: Envelope
    ticket_id: str
    metric: SlaMetric
    instance: int
    policy_id: str
    priority: Priority
    threshold_percent: int
    due_at: datetime
    assignee_id: str | None = None  # None = unassigned (alerting cares)


@dataclass(frozen=True, slots=True)
class SlaBreached:
    envelope: Envelope
    ticket_id: str
    metric: SlaMetric
    instance: int
    policy_id: str
    priority: Priority
    target_seconds: int
    due_at: datetime
    business_elapsed_seconds: int
    calendar_elapsed_seconds: int


@dataclass(frozen=True, slots=True)
class SlaTimerFulfilled:
    envelope: Envelope
    ticket_id: str
    metric: SlaMetric
    instance: int
    policy_id: str
    priority: Priority
    target_seconds: int
    business_elapsed_seconds: int
    calendar_elapsed_seconds: int
    breached: bool


@dataclass(frozen=True, slots=True)
class SlaTick:
    """Clock tick for one partition of the SLA timer index (topic support.sla.ticks.v1)."""

    partition: int
    now: datetime


# ---------------------------------------------------------------- dead letters
# Added by the schemas engineer (additive): the one shape of support.deadletter.v1, so every
# consumer parks undecodable or unprocessable records the same way.
@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record a consumer gave up on, with where it came from. Topic support.deadletter.v1."""

    source_topic: str
    source_partition: int
    source_offset: int
    error_type: str  # exception class name, e.g. SchemaDecodeError
    error: str  # the error message: what failed and why (never a message body or secret)
    consumer: str  # app id / consumer group that gave up on it
    dead_lettered_at: datetime
    key: bytes | None = None  # the source record's key, unchanged
    value: bytes | None = None  # the source record's value, unchanged
    source_timestamp: datetime | None = None  # the source record's Kafka timestamp


COMMAND_TYPES: tuple[type, ...] = (
    OpenTicket, AppendCustomerMessage, ReplyPublicly, AddInternalNote, AssignTicket,
    UnassignTicket, ChangeTicketStatus, ChangeTicketPriority, SetTicketGroup, SetTicketTags,
    EscalateTicket, MergeTickets, LinkCustomerIdentity, UnlinkCustomerIdentity,
    SetAgentPresence, SetAgentCapacity, SetAgentSkills, RecordCsat, UpdateSlaPolicies,
)  # fmt: skip

EVENT_TYPES: tuple[type, ...] = (
    ChannelMessageReceived, MessageDeliveryUpdated,
    CustomerIdentified, CustomerIdentityLinked, CustomerIdentityUnlinked,
    TicketOpened, CustomerMessageAppended, AgentReplied, InternalNoteAdded, TicketAssigned,
    TicketUnassigned, TicketStatusChanged, TicketPriorityChanged, TicketGroupChanged,
    TicketTagsChanged, TicketEscalated, TicketMerged, TicketReopened, FollowUpTicketOpened,
    TicketCommandRejected, CsatReceived,
    AgentPresenceChanged, AgentCapacityChanged, AgentSkillsChanged,
    SlaPoliciesUpdated, SlaPolicyApplied, SlaTimerStarted, SlaTimerPaused, SlaTimerResumed,
    SlaWarning, SlaBreached, SlaTimerFulfilled,
)  # fmt: skip
