"""Prometheus metrics of the gateway and the outbound senders (labels: channel, reason, outcome).

The gateway's per-request updates go through tallies (``counted`` / ``timed``,
``ticketstream/observability/tally.py``): the same exposition at a fraction of the CPU.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# first: its flush is registered before the metrics below (the registry collects in order)
from ticketstream.observability.tally import CountTally, TimeTally, counted, flush, timed

__all__ = ["CountTally", "TimeTally", "counted", "flush", "timed"]

REQUESTS = Counter(
    "ticketstream_gateway_requests_total", "Webhook requests received, per channel", ["channel"]
)
REJECTED = Counter(
    "ticketstream_gateway_rejected_total",
    "Webhook requests refused (4xx/5xx), per channel and reason",
    ["channel", "reason"],
)
REQUEST_SECONDS = Histogram(
    "ticketstream_gateway_request_duration_seconds",
    "Time from request received to answer, per channel",
    ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PRODUCE_SECONDS = Histogram(
    "ticketstream_gateway_produce_latency_seconds",
    "Time to produce a request's messages and get Kafka's acks (acks=all)",
    ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MESSAGES = Counter(
    "ticketstream_gateway_messages_total", "Customer messages produced, per channel", ["channel"]
)
REDELIVERIES_DROPPED = Counter(
    "ticketstream_gateway_redeliveries_dropped_total",
    "Messages not produced again because their dedup key was already stored",
    ["channel"],
)
OUTBOUND = Counter(
    "ticketstream_outbound_messages_total",
    "Agent replies delivered through a channel's send API (outcome sent|failed|retried)",
    ["channel", "outcome"],
)
EMAIL_FETCHED = Counter(
    "ticketstream_email_messages_total",
    "Mails fetched by IMAP polling (outcome produced|duplicate)",
    ["outcome"],
)
