"""Every simulated webhook is accepted by the gateway's own adapter for its channel (pure
functions, no I/O) and normalises to the simulated conversation, message and instant; a wrong
secret is refused. Also: the command API's event time for integrations (streams/web/parse)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.channels import api, dingtalk, line, meta, telegram, wechat
from connectors.channels.base import ChannelError, WebhookRequest, WebhookResult
from schemas.records import Channel
from streams.web.parse import CommandParseError, parse_issued_at
from ticketstream.simulate.webhooks import build, identity

SIM_AT = datetime(2026, 11, 16, 3, 4, 5, tzinfo=UTC)  # simulated: a week before the wall clock
WALL = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
SECRET = "s3cret"
CHANNELS = [c for c in Channel if c is not Channel.EMAIL]


def adapter(channel: Channel, req: WebhookRequest, secret: str) -> WebhookResult:
    if channel is Channel.LINE:
        return line.handle(req, secret=secret, received_at=WALL, tenant_id="t")
    if channel in (Channel.MESSENGER, Channel.INSTAGRAM, Channel.WHATSAPP):
        return meta.handle(
            req, channel=channel, app_secret=secret, verify_token="v", received_at=WALL,
            tenant_id="t",
        )  # fmt: skip
    if channel is Channel.TELEGRAM:
        return telegram.handle(
            req, secret_token=secret, bot_id="42", received_at=WALL, tenant_id="t"
        )
    if channel is Channel.DINGTALK:
        return dingtalk.handle(req, app_secret=secret, now=WALL, tenant_id="t")
    if channel is Channel.WECHAT:
        return wechat.handle(req, token=secret, received_at=WALL, tenant_id="t")
    return api.handle(req, channel=channel, secret=secret, now=WALL, tenant_id="t")


def request(channel: Channel, n: int, text: str) -> tuple[WebhookRequest, str, str]:
    who = identity(channel, "f4bcdd702cb21484", "Malee")
    hook = build(who, "f4bcdd702cb214841a2b", n, text, SIM_AT, SECRET, WALL)
    headers = {k.lower(): v for k, v in hook.headers.items()}
    return (
        WebhookRequest("POST", headers, hook.query, hook.body),
        who.conversation,
        hook.message_key,
    )


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
def test_gateway_adapter_accepts_the_simulated_webhook(channel: Channel) -> None:
    text = "พัสดุยังไม่ได้รับ 包裹 <&> #123"
    req, conversation, key = request(channel, 2, text)
    (msg,) = adapter(channel, req, SECRET).messages
    assert msg.channel is channel
    assert msg.external_conversation_id == conversation
    assert msg.dedup_key.rsplit(":", 1)[-1] == key
    assert msg.sent_at == SIM_AT  # the platform timestamp is simulated time
    assert msg.text == text


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
def test_a_wrong_secret_is_refused(channel: Channel) -> None:
    req, _, _ = request(channel, 1, "hi")
    with pytest.raises(ChannelError) as err:
        adapter(channel, req, "other-secret")
    assert err.value.status in (401, 403)


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
def test_message_ids_differ_per_message_of_a_conversation(channel: Channel) -> None:
    keys = {request(channel, n, "x")[2] for n in (1, 2, 3)}
    assert len(keys) == 3


def test_command_event_time_needs_a_zone() -> None:
    assert parse_issued_at("2026-11-16T10:00:00+07:00") == datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
    assert parse_issued_at("2026-11-16T03:00:00Z") - SIM_AT == timedelta(minutes=-4, seconds=-5)
    with pytest.raises(CommandParseError, match="time zone"):
        parse_issued_at("2026-11-16T10:00:00")
    with pytest.raises(CommandParseError, match="ISO-8601"):
        parse_issued_at("yesterday")
