"""The demo's stand-in for the platforms' send APIs: every outbound sender (the real ones, with
the settings the demo gives the outbound worker) delivers an agent reply to it as sent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from connectors.outbound.deliver import deliver
from connectors.outbound.worker import senders
from connectors.settings import ConnectorSettings
from schemas.records import Actor, ActorKind, AgentReplied, Channel, DeliveryStatus, Envelope
from ticketstream.demo.platforms import Platforms
from ticketstream.demo.run import Secrets
from ticketstream.settings import ENV_PREFIX

NOW = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)


def reply(channel: Channel) -> AgentReplied:
    return AgentReplied(
        envelope=Envelope(
            f"ev-{channel.value}", NOW, NOW, "T-1", 4, "cmd-1", "corr-1",
            Actor(ActorKind.AGENT, "a1"), "demo",
        ),
        ticket_id="T-1",
        reply_id=f"r-{channel.value}",
        author_id="a1",
        channel=channel,
        conversation_key=f"{channel.value}:acct:conv",
        account_id="acct",
        external_conversation_id="conv",
        external_user_id="user",
        text="ขอบคุณค่ะ 谢谢 🙏",
        # the customer wrote a minute ago: inside every platform's reply window
        last_customer_message_at=NOW - timedelta(minutes=1),
    )  # fmt: skip


async def no_sleep(_: float) -> None:
    return None


@pytest.mark.parametrize(
    "channel", [c for c in Channel if c is not Channel.EMAIL], ids=lambda c: c.value
)
def test_every_sender_delivers_to_the_stand_in(channel: Channel) -> None:
    async def main() -> tuple[object, int]:
        with Platforms() as p:
            env = Secrets.generate().env(p.base_url)
            settings = ConnectorSettings.model_validate(
                {k[len(ENV_PREFIX) :].lower(): v for k, v in env.items()}
            )
            async with aiohttp.ClientSession() as http:
                table = senders(http, settings)
                result = await deliver(
                    table[channel], reply(channel), max_attempts=2, backoff=0.01,
                    clock=lambda: NOW, sleep=no_sleep,
                )  # fmt: skip
            return result, p.deliveries

    result, deliveries = asyncio.run(main())
    assert result.status is DeliveryStatus.SENT, result  # type: ignore[attr-defined]
    assert deliveries == 1
