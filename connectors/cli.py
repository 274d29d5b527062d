"""``ticketstream gateway serve|outbound|email-poll``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import TYPE_CHECKING

from ticketstream.settings import SettingsError, describe_validation_error, load_settings

if TYPE_CHECKING:
    from connectors.settings import ConnectorSettings
    from ticketstream.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("gateway", help="channel gateway (webhooks in, replies out)")
    sub = p.add_subparsers(dest="gateway_command", metavar="ACTION")
    serve = sub.add_parser("serve", help="serve the channel webhooks (and /metrics)")
    serve.add_argument("--port", type=int, default=None, help="default TICKETSTREAM_GATEWAY_PORT")
    serve.set_defaults(func=cmd_serve)
    out = sub.add_parser("outbound", help="deliver agent replies through each channel's send API")
    out.set_defaults(func=cmd_outbound)
    mail = sub.add_parser("email-poll", help="poll the IMAP mailbox into the messages topic")
    mail.add_argument("--state", default="var/email/imap-state.json", help="UID state file")
    mail.set_defaults(func=cmd_email_poll)

    def usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=usage)


def cmd_serve(args: argparse.Namespace) -> int:
    from connectors.service import serve

    core, settings = _setup()
    asyncio.run(serve(core, settings, args.port or core.gateway_port))
    return 0


def _setup() -> tuple[Settings, ConnectorSettings]:
    """Core and connector settings, validated; a bad value raises SettingsError naming it."""
    from pydantic import ValidationError

    from connectors.settings import ConnectorSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    core = load_settings()
    try:
        return core, ConnectorSettings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def cmd_outbound(args: argparse.Namespace) -> int:
    from connectors.service import run_outbound

    core, settings = _setup()
    asyncio.run(run_outbound(core, settings))
    return 0


def cmd_email_poll(args: argparse.Namespace) -> int:
    from pathlib import Path

    from connectors.service import run_email_poll

    core, settings = _setup()
    asyncio.run(run_email_poll(core, settings, Path(args.state)))
    return 0
