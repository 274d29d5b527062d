"""Prometheus metrics of the Faust worker (default registry, served on the worker's /metrics).

Labels come from small fixed sets: command type, reason code, channel, group, priority,
topic, HTTP status class. Never a ticket, customer or agent id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# first: its flush is registered before the metrics below (runtime.count tallies them)
import ticketstream.observability.tally  # noqa: F401

COMMANDS_ACCEPTED = Counter(
    "ticketstream_ticket_commands_accepted_total",
    "Ticket commands that produced events (or changed nothing), by command type",
    ["command_type"],
)
COMMANDS_REJECTED = Counter(
    "ticketstream_ticket_commands_rejected_total",
    "Ticket commands refused by the ticket's state (TicketCommandRejected), by type and reason",
    ["command_type", "reason"],
)
COMMANDS_DUPLICATE = Counter(
    "ticketstream_ticket_commands_duplicate_total",
    "Ticket commands dropped because their command id was already handled",
    ["command_type"],
)
TICKETS_OPENED = Counter(
    "ticketstream_tickets_opened_total", "Tickets opened, by channel", ["channel"]
)
MESSAGES_THREADED = Counter(
    "ticketstream_channel_messages_threaded_total",
    "Channel messages threaded into tickets (redeliveries excluded), by channel",
    ["channel"],
)
QUEUE_LENGTH = Gauge(
    "ticketstream_ticket_queue_length",
    "Tickets waiting for an agent, by group and priority (set by the router)",
    ["group", "priority"],
)
ASSIGNMENT_LATENCY = Histogram(
    "ticketstream_ticket_assignment_latency_seconds",
    "Seconds from a ticket starting to wait (event time) to the router assigning it",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400, 86400),
)
DEAD_LETTERS = Counter(
    "ticketstream_streams_dead_letters_total",
    "Records the worker could not decode or handle, sent to support.deadletter.v1, by source",
    ["topic"],
)
HTTP_COMMANDS = Counter(
    "ticketstream_api_commands_total",
    "Commands posted to the worker's HTTP API, by HTTP status code",
    ["status"],
)
