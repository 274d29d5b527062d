"""Agent: ``UpdateSlaPolicies`` (support.sla.commands.v1) → validated → ``SlaPoliciesUpdated``
on support.sla.events.v1 and the global table ``sla_policies`` every worker reads. An invalid
file is rejected as a whole (logged with line and reason, dead-lettered); tickets pick up the new
policies at their next SLA-affecting update."""

from __future__ import annotations

import logging
from typing import Any

from schemas.records import Envelope, SlaPoliciesUpdated, UpdateSlaPolicies
from schemas.topics import SLA_POLICIES_KEY
from streams.app import app, sla_commands_topic, sla_events_topic, streams_settings
from streams.domain.ids import derive_id
from streams.domain.sla.policy import PolicyError, parse_policies
from streams.runtime import decode_or_park, now, park, send
from streams.sla import policies

log = logging.getLogger(__name__)

sla_policies = app.GlobalTable(
    "sla_policies",
    help="'sla-policies' → (version, policy YAML) in force",
    key_type=bytes,
    value_type=bytes,
    partitions=streams_settings.streams_topic_partitions,
)


@app.agent(sla_commands_topic, concurrency=1)
async def update_sla_policies(stream: Any) -> None:
    async for event in stream.events():
        command = await decode_or_park(event, UpdateSlaPolicies)
        if command is None:
            continue
        try:
            parse_policies(
                command.policies_yaml, version=command.version, source="UpdateSlaPolicies"
            )
        except PolicyError as exc:
            log.warning("rejected SLA policies v%s: %s", command.version, exc)
            await park(event, exc)
            continue
        sla_policies[policies.KEY] = policies.encode(command.version, command.policies_yaml)
        h = command.command
        updated = SlaPoliciesUpdated(
            Envelope(
                derive_id(h.command_id, "sla-policies-updated"),
                h.issued_at,
                now(),
                SLA_POLICIES_KEY,
                command.version,
                h.command_id,
                h.correlation_id,
                h.actor,
                h.tenant_id,
                h.brand_id,
            ),
            command.version,
            command.policies_yaml,
        )
        await send(sla_events_topic, SLA_POLICIES_KEY, updated)
