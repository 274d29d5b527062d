"""``ticketstream gateway serve|outbound|email-poll``."""

from __future__ import annotations

import argparse
import asyncio
import logging

from ticketstream.settings import load_settings


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
    from connectors.settings import ConnectorSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    core = load_settings()
    settings = ConnectorSettings()  # type: ignore[call-arg]  # (no pydantic mypy plugin)
    asyncio.run(serve(core, settings, args.port or core.gateway_port))
    return 0


def _setup() -> tuple[object, object]:
    from connectors.settings import ConnectorSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return load_settings(), ConnectorSettings()  # type: ignore[call-arg]


def cmd_outbound(args: argparse.Namespace) -> int:
    from connectors.service import run_outbound

    core, settings = _setup()
    asyncio.run(run_outbound(core, settings))  # type: ignore[arg-type]
    return 0


def cmd_email_poll(args: argparse.Namespace) -> int:
    from pathlib import Path

    from connectors.service import run_email_poll

    core, settings = _setup()
    asyncio.run(run_email_poll(core, settings, Path(args.state)))  # type: ignore[arg-type]
    return 0
