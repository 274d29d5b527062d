"""Agent: customers — identity sightings, LinkCustomerIdentity and UnlinkCustomerIdentity.

Reads support.customers.commands.v1 (keyed by customer id): link/unlink commands from the HTTP
API or producers, sightings forwarded by ``identify_customers`` and the steps a link/unlink
forwards to the other customer it names (see ``streams.domain.identity``). Table ``customers``
(customer id → CustomerState) is co-partitioned with it. Events go to
support.customers.events.v1 keyed by customer id; a refused command becomes a
``TicketCommandRejected`` naming the customer, on the same topic.

Order: events and forwards are sent before the state is saved, so a crash in between replays
the record, which re-decides the same events (same ids); forwarded events apply once. The
owner changes a decided link or unlink makes go to the identity owners topic (see
``identity_owners``), which every worker follows for threading.
"""

from __future__ import annotations

from typing import Any

from schemas import codec
from schemas.records import (
    ChannelMessageReceived,
    CustomerIdentityLinked,
    CustomerIdentityUnlinked,
    LinkCustomerIdentity,
    UnlinkCustomerIdentity,
)
from streams import metrics
from streams.agents.identity_owners import publish
from streams.app import app, customer_commands_topic, customer_events_topic
from streams.domain.identity import CustomerState, handle_customer
from streams.runtime import decode_or_park, each_event, load, now, store, table

customers = table("customers", "customer id → CustomerState (identities, linked into)")
ACCEPTED = (
    ChannelMessageReceived,
    LinkCustomerIdentity,
    UnlinkCustomerIdentity,
    CustomerIdentityLinked,
    CustomerIdentityUnlinked,
)


@app.agent(customer_commands_topic, concurrency=1)
async def handle_customer_commands(stream: Any) -> None:
    await each_event(stream, _handle)


async def _handle(event: Any) -> None:
    record = await decode_or_park(event, ACCEPTED)
    if record is None:
        return
    key = event.message.key
    if not isinstance(key, bytes) or not key:
        raise ValueError("a customer record needs its customer id as the key")
    customer_id = key.decode()
    state = load(customers, customer_id, CustomerState(customer_id))
    outcome = handle_customer(state, record, now())
    for ev in outcome.events:
        await customer_events_topic.send(key=ev.customer_id.encode(), value=codec.encode(ev))
    # where a link/unlink is decided (once), before the other customer's step is forwarded
    await publish(outcome.events)
    for to, forwarded in outcome.forwards:
        await customer_commands_topic.send(key=to.encode(), value=codec.encode(forwarded))
    if outcome.rejection is not None:
        rejected = outcome.rejection
        metrics.COMMANDS_REJECTED.labels(rejected.command_type, rejected.reason_code).inc()
        await customer_events_topic.send(
            key=rejected.ticket_id.encode(), value=codec.encode(rejected)
        )
    elif isinstance(record, LinkCustomerIdentity | UnlinkCustomerIdentity) and outcome.events:
        metrics.COMMANDS_ACCEPTED.labels(type(record).__name__).inc()
    if outcome.state != state:
        store(customers, customer_id, outcome.state)
