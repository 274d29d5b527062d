"""HTTP API on the worker's web port (Faust web views; no agent here).

- ``POST /api/v1/commands``: a JSON command → ``202 {"command_id", "topic"}`` once produced, or a
  4xx saying what is wrong (400 malformed JSON, 401 missing/wrong bearer token, 403 role without
  the right, 413 body too large, 422 unknown type / invalid field).
- ``GET /api/v1/tickets/{ticket_id}``: the ticket's state and history (partition owner).
- ``GET /api/v1/queue?group=&status=&assignee=``: open tickets ordered by priority, then time to
  SLA breach, then waiting time — served by the router's owner (one global view). Each row says
  which SLA timer is due next (``sla_next``: metric, instance, due time, breached or not).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import asdict, replace
from datetime import datetime
from enum import Enum
from typing import Any, cast

import aiohttp.web
import faust
from faust.web import Request, Response, View

from schemas import codec
from schemas import topics as names
from schemas.records import Actor, ActorKind, CommandHeader
from streams import app as appmod
from streams import metrics
from streams.agents.handle_ticket_commands import ticket_history, ticket_value, tickets
from streams.agents.route_tickets import ROUTING_KEY, router_state, routing
from streams.app import app, settings, streams_settings
from streams.domain.permissions import Role, may_send, parse_tokens, roles_allowed
from streams.domain.routing import SlaClocks
from streams.history import summaries
from streams.runtime import now
from streams.web.parse import CommandParseError, parse_command, parse_issued_at

log = logging.getLogger(__name__)

_file_text = ""
if streams_settings.streams_api_tokens_file is not None:
    _file_text = streams_settings.streams_api_tokens_file.read_text()
TOKENS = parse_tokens(streams_settings.streams_api_tokens, _file_text)

TOPICS: dict[str, faust.TopicT] = {
    names.TICKET_COMMANDS: appmod.ticket_commands_topic,
    names.CUSTOMER_COMMANDS: appmod.customer_commands_topic,
    names.AGENT_COMMANDS: appmod.agent_commands_topic,
    names.SLA_COMMANDS: appmod.sla_commands_topic,
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _problem(view: View, status: int, message: str) -> Response:
    metrics.HTTP_COMMANDS.labels(str(status)).inc()
    return view.json({"error": message}, status=status)


def _caller(request: Request) -> tuple[Role, str] | str:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return "missing bearer token: send 'Authorization: Bearer <token>'"
    found = TOKENS.get(auth[len("Bearer ") :].strip())
    if found is None:
        return "unknown or revoked token: ask an admin for a valid API token"
    return found


@app.page("/api/v1/commands")
class Commands(View):
    async def post(self, request: Request) -> Response:
        caller = _caller(request)
        if isinstance(caller, str):
            return _problem(self, 401, caller)
        role, actor_id = caller
        limit = streams_settings.streams_max_body_bytes
        http = cast(aiohttp.web.Request, request)  # Faust's aiohttp driver passes aiohttp's
        if (http.content_length or 0) > limit:
            return _problem(self, 413, f"body is {http.content_length} bytes; the limit is {limit}")
        raw = await http.content.read(limit + 1)
        if len(raw) > limit:
            return _problem(self, 413, f"body is over {limit} bytes; the limit is {limit}")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return _problem(self, 400, f"body is not valid JSON: {exc}")
        if not isinstance(body, dict):
            return _problem(self, 400, "body must be a JSON object with a 'type' field")
        kind = str(body.get("type"))
        # Event time and acting agent: trusted callers only (replays, backfills, simulations).
        if "issued_at" in body and role not in (Role.INTEGRATION, Role.ADMIN):
            return _problem(
                self, 403, f"role {role.value} may not set issued_at; integration and admin may"
            )
        if "on_behalf_of" in body and role is not Role.ADMIN:
            return _problem(self, 403, f"role {role.value} may not set on_behalf_of; admin may")
        actor = Actor(
            ActorKind.INTEGRATION if role is Role.INTEGRATION else ActorKind.AGENT, actor_id
        )
        try:
            if body.get("on_behalf_of") is not None:
                agent = body["on_behalf_of"]
                if not isinstance(agent, str) or not agent.strip():
                    raise CommandParseError("on_behalf_of: give the agent id as a string")
                actor = Actor(ActorKind.AGENT, agent)
            issued_at = (
                now() if body.get("issued_at") is None else parse_issued_at(body["issued_at"])
            )
            header = CommandHeader(
                command_id=str(body.get("command_id") or uuid.uuid4()),
                issued_at=issued_at,
                aggregate_id="",
                correlation_id=str(body.get("correlation_id") or body.get("command_id") or ""),
                actor=actor,
                tenant_id=settings.tenant_id,
                brand_id=body.get("brand_id"),
                expected_version=_version(body.get("expected_version")),
            )
            command = parse_command(body, header)
        except CommandParseError as exc:
            return _problem(self, 422, str(exc))
        if not may_send(role, kind):
            return _problem(
                self,
                403,
                f"role {role.value} may not send {kind}; allowed: {', '.join(roles_allowed(kind))}",
            )
        route = names.route_of(type(command))
        key = names.key_of(command) or ""
        command = replace(
            command,
            command=replace(
                header,
                aggregate_id=key,
                correlation_id=header.correlation_id or header.command_id,
            ),
        )
        await TOPICS[route.topic].send(key=key.encode(), value=codec.encode(command))
        metrics.HTTP_COMMANDS.labels("202").inc()
        return self.json(
            {"command_id": command.command.command_id, "topic": route.topic, "key": key},
            status=202,
        )


def _version(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CommandParseError(f"expected_version must be a whole number ≥ 0, got {value!r}")
    return value


@app.page("/api/v1/tickets/{ticket_id}")
@app.table_route(table=tickets, match_info="ticket_id")
async def get_ticket(web: View, request: Request, ticket_id: str) -> Response:
    caller = _caller(request)
    if isinstance(caller, str):
        return web.json({"error": caller}, status=401)
    raw = tickets.get(ticket_id.encode())
    if raw is None:
        return web.json({"error": f"ticket {ticket_id} not found; check the id"}, status=404)
    state, lines = ticket_value(raw, lambda: ticket_history.get(ticket_id.encode()))
    history = summaries(lines)
    data = asdict(state)
    for k in ("recent_commands", "recent_messages"):
        data.pop(k)
    return web.json({"ticket": _jsonable(data), "history": history})


@app.page("/api/v1/queue")
@app.table_route(table=routing, exact_key=ROUTING_KEY)
async def get_queue(web: View, request: Request) -> Response:
    caller = _caller(request)
    if isinstance(caller, str):
        return web.json({"error": caller}, status=401)
    q = request.query
    rows = []
    state = router_state()
    for t in state.open_tickets():
        assignee = t.assignee
        if "group" in q and t.group != q["group"]:
            continue
        if "status" in q and t.status.value != q["status"]:
            continue
        if "assignee" in q and assignee != (q["assignee"] or None):
            continue
        rows.append(
            {
                "ticket_id": t.ticket_id,
                "priority": t.priority.value,
                "status": t.status.value,
                "group": t.group,
                "channel": t.channel.value,
                "assignee": assignee,
                "sla_due_at": t.sla_due_at.isoformat() if t.sla_due_at else None,
                "sla_next": _next_timer(state.sla.get(t.ticket_id)),
                "waiting_since": t.since.isoformat() if t.since else None,
            }
        )
    return web.json({"tickets": rows, "count": len(rows)})


def _next_timer(clocks: SlaClocks | None) -> dict[str, Any] | None:
    """The timer behind a queue row's ``sla_due_at``: which metric (and instance) is due next,
    and whether it already breached; None when no timer runs."""
    timer = clocks.next_timer() if clocks is not None else None
    if timer is None or timer.effective is None:
        return None
    return {
        "metric": timer.metric.value,
        "instance": timer.instance,
        "due_at": timer.effective.isoformat(),
        "breached": timer.breached_at is not None,
    }
