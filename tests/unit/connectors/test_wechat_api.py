from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.channels import api, wechat
from connectors.channels.base import ChannelError, WebhookRequest
from schemas.records import Attachment, Channel

from .helpers import NOW, post

TOKEN = "wechat-token"
XML = """<xml>
  <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
  <FromUserName><![CDATA[oUser-OpenID]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[this is a test 你好]]></Content>
  <MsgId>1234567890123456789</MsgId>
</xml>""".encode()


def q(token: str = TOKEN, **extra: str) -> dict[str, str]:
    ts, nonce = "1348831860", "n0nce"
    return {
        "signature": wechat.signature(token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        **extra,
    }


def wc(req):
    return wechat.handle(req, token=TOKEN, received_at=NOW, tenant_id="t")


def test_wechat_get_verification_echoes_echostr():
    assert wc(WebhookRequest("GET", {}, q(echostr="abc123"), b"")).body == b"abc123"


def test_wechat_documented_text_message_and_success_reply():
    res = wc(post(XML, query=q()))
    assert res.body == b"success"
    (ev,) = res.messages
    assert ev.external_message_id == "1234567890123456789"
    assert ev.dedup_key == "gh_123456789abc:1234567890123456789"
    assert ev.conversation_key == "wechat:gh_123456789abc:oUser-OpenID"
    assert ev.text == "this is a test 你好"
    # 1348831860 s = 2012-09-28T11:31:00Z
    assert ev.sent_at == datetime(2012, 9, 28, 11, 31, tzinfo=UTC)


def test_wechat_subscribe_event_gives_success_without_message():
    xml = b"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>"
    res = wc(post(xml, query=q()))
    assert (res.messages, res.body) == ((), b"success")


def test_wechat_rejections():
    with pytest.raises(ChannelError) as err:
        wc(post(XML, query=q(token="other")))
    assert (err.value.status, err.value.reason) == (401, "bad_signature")
    with pytest.raises(ChannelError) as err:
        wc(post(XML, query={k: v for k, v in q().items() if k != "signature"}))
    assert err.value.reason == "missing_header"
    with pytest.raises(ChannelError) as err:
        wc(post(b"<xml><MsgId>1</MsgId>", query=q()))
    assert (err.value.status, err.value.reason) == (400, "malformed")
    with pytest.raises(ChannelError) as err:
        wc(post(b'<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>', query=q()))
    assert err.value.reason == "malformed"


SECRET = "api-secret"
MSG = {
    "account_id": "site-1",
    "external_conversation_id": "conv-9",
    "external_user_id": "visitor-3",
    "external_message_id": "client-msg-1",
    "text": "สวัสดี 👋",
    "sent_at": "2026-11-23T07:59:30.123456Z",
    "attachments": [{"kind": "image", "url": "https://files.example/1.png"}],
}


def api_req(doc: dict, at: datetime = NOW, secret: str = SECRET) -> WebhookRequest:
    raw = json.dumps(doc).encode()
    ts = str(int(at.timestamp()))
    return post(raw, {"X-Timestamp": ts, "X-Signature": api.sign(secret, ts, raw)})


def run_api(req):
    return api.handle(req, channel=Channel.WEBCHAT, secret=SECRET, now=NOW, tenant_id="t")


def test_api_message_is_accepted_with_202():
    res = run_api(api_req(MSG))
    assert res.status == 202
    (ev,) = res.messages
    assert ev.conversation_key == "webchat:site-1:conv-9"
    assert ev.dedup_key == "site-1:client-msg-1"
    assert ev.sent_at == datetime(2026, 11, 23, 7, 59, 30, 123000, tzinfo=UTC)
    assert ev.attachments == (Attachment(kind="image", url="https://files.example/1.png"),)


def test_api_rejections():
    with pytest.raises(ChannelError) as err:
        run_api(api_req(MSG, secret="nope"))
    assert err.value.reason == "bad_signature"
    with pytest.raises(ChannelError) as err:
        run_api(api_req(MSG, at=NOW - timedelta(minutes=6)))
    assert (err.value.status, err.value.reason) == (401, "stale_timestamp")
    with pytest.raises(ChannelError) as err:
        run_api(post(json.dumps(MSG).encode(), {"X-Timestamp": "1"}))
    assert err.value.reason == "missing_header"
    with pytest.raises(ChannelError) as err:
        run_api(api_req({**MSG, "external_message_id": None}))
    assert (err.value.status, err.value.reason) == (400, "malformed")
