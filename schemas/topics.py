"""Kafka topics (persistent API: renaming one is a migration) and what each carries."""

from __future__ import annotations

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
