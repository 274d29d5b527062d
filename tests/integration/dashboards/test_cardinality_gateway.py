"""Cardinality through a real service: 10,000 tickets' worth of webhooks (distinct
conversations, customers and message ids; every tenth one badly signed) through the real
gateway in front of the real Kafka create no per-ticket, per-customer or per-message series."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from kafka.admin import KafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from connectors.channels import api
from connectors.service import running_gateway
from connectors.settings import ConnectorSettings
from ticketstream.observability.cardinality import id_leaks, label_sets, widest_labels

TICKETS = 10_000
SECRET = "cardinality-secret"


def body(i: int) -> bytes:
    return json.dumps(
        {
            "account_id": "site-1",
            "external_conversation_id": f"conv-{i:06d}",
            "external_user_id": f"cust-{i:06d}",
            "external_message_id": f"msg-{i:06d}",
            "text": f"order {i} is late",
            "sent_at": "2026-11-23T07:59:30Z",
        }
    ).encode()


async def send_all(core, topic: str, first: int, last: int) -> list[int]:
    settings = ConnectorSettings(api_secret=SECRET, gateway_produce_timeout=10.0)  # type: ignore[call-arg]
    statuses: list[int] = []
    async with (
        running_gateway(core, settings, host="127.0.0.1", port=0, topic=topic, warm=False) as (
            _,
            port,
        ),
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
    ):
        url = f"http://127.0.0.1:{port}/webhooks/api"

        async def one(i: int) -> int:
            raw = body(i)
            ts = str(int(time.time()))
            secret = SECRET if i % 10 else "wrong-secret"  # every tenth request is rejected
            headers = {"X-Timestamp": ts, "X-Signature": api.sign(secret, ts, raw)}
            async with http.post(url, data=raw, headers=headers) as r:
                await r.read()
                return r.status

        for start in range(first, last, 200):
            statuses += await asyncio.gather(
                *(one(i) for i in range(start, min(start + 200, last)))
            )
    return statuses


def test_ten_thousand_tickets_through_the_gateway_create_no_per_ticket_series(
    stack, unique_name
) -> None:
    topic = f"support.channel.messages.card.{unique_name}"
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        admin.close()
    statuses = asyncio.run(send_all(stack.settings, topic, 0, 1_000))
    after_first_thousand = label_sets(REGISTRY).series
    statuses += asyncio.run(send_all(stack.settings, topic, 1_000, TICKETS))
    assert statuses.count(401) + statuses.count(403) == TICKETS // 10, set(statuses)
    assert len([s for s in statuses if s < 300]) == TICKETS - TICKETS // 10
    sets = label_sets(REGISTRY)
    used = [f"{p}-{i:06d}" for i in range(TICKETS) for p in ("conv", "cust", "msg")]
    assert id_leaks(sets, used) == []
    assert widest_labels(sets, limit=50) == []
    # The next 9,000 tickets add no series at all: nothing grows with tickets.
    assert sets.series == after_first_thousand
