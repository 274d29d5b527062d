"""WeChat safe mode (安全模式) and DingTalk encrypted event callbacks, through their adapters."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.channels import crypto, dingtalk, wechat
from connectors.channels.base import ChannelError, WebhookResult

from .helpers import NOW, post
from .test_crypto import DT_ENCRYPT, DT_KEY, DT_OWNER, DT_TOKEN, WX_ENCRYPT, WX_ID, WX_KEY, WX_TOKEN

# ------------------------------------------------------------------ WeChat safe mode
APP_ID = "wx1234567890abcdef"
TOKEN = "wechat-token"
ENCODING_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
KEY = crypto.aes_key(ENCODING_KEY)
INNER = """<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
<FromUserName><![CDATA[oUser-OpenID]]></FromUserName><CreateTime>1348831860</CreateTime>
<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ขอบคุณ 谢谢 🙏]]></Content>
<MsgId>1234567890123456789</MsgId></xml>""".encode()


def safe(
    inner: bytes = INNER,
    *,
    token: str = TOKEN,
    app_id: str = APP_ID,
    key: bytes = KEY,
    encrypted: str | None = None,
    drop: str = "",
):
    """A safe-mode POST as WeChat sends it: outer XML with <Encrypt>, both signatures."""
    enc = crypto.encrypt(key, inner, app_id) if encrypted is None else encrypted
    body = f"<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    ts, nonce = "1348831860", "n0nce"
    query = {
        "signature": wechat.signature(token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature(token, ts, nonce, enc),
        "openid": "oUser-OpenID",
    }
    query.pop(drop, None)
    return post(body.encode(), {"Content-Type": "text/xml"}, query)


def wc(req, *, key: bytes | None = KEY, token: str = TOKEN, app_id: str = APP_ID) -> WebhookResult:
    return wechat.handle(
        req, token=token, received_at=NOW, tenant_id="t", aes_key=key, app_id=app_id
    )


def refused(req, **kw) -> tuple[int, str]:
    with pytest.raises(ChannelError) as err:
        wc(req, **kw)
    return err.value.status, err.value.reason


def test_safe_mode_text_message_is_decrypted_and_normalised():
    res = wc(safe())
    assert res.body == b"success"  # stored: no retry, no passive reply (agent answers later)
    (ev,) = res.messages
    assert ev.text == "ขอบคุณ 谢谢 🙏"
    assert ev.dedup_key == "gh_123456789abc:1234567890123456789"
    assert ev.conversation_key == "wechat:gh_123456789abc:oUser-OpenID"
    assert ev.sent_at == datetime(2012, 9, 28, 11, 31, tzinfo=UTC)


def test_safe_mode_redelivery_has_the_same_dedup_key_and_event_id():
    # WeChat re-encrypts a retry with new random bytes: the ciphertext differs, the message not.
    a, b = wc(safe()).messages[0], wc(safe()).messages[0]
    assert a.dedup_key == b.dedup_key and a.envelope.event_id == b.envelope.event_id


def test_tencent_sample_message_goes_through_the_adapter():
    query = {
        "signature": wechat.signature(WX_TOKEN, "1409659813", "1372623149"),
        "timestamp": "1409659813",
        "nonce": "1372623149",
        "encrypt_type": "aes",
        "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    }
    body = f"<xml><ToUserName><![CDATA[{WX_ID}]]></ToUserName><Encrypt><![CDATA[{WX_ENCRYPT}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    res = wc(
        post(body.encode(), {}, query), key=crypto.aes_key(WX_KEY), token=WX_TOKEN, app_id=WX_ID
    )
    (ev,) = res.messages
    assert (ev.text, ev.external_user_id, ev.external_message_id) == (
        "hello",
        "mycreate",
        "4561255354251345929",
    )


def test_safe_mode_event_gives_success_without_message():
    inner = b"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>"
    assert wc(safe(inner)).messages == ()


def test_safe_mode_get_verification_still_echoes_echostr():
    ts, nonce = "1", "n"
    q = {"signature": wechat.signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    from connectors.channels.base import WebhookRequest

    assert wc(WebhookRequest("GET", {}, {**q, "echostr": "e1"}, b"")).body == b"e1"


def test_safe_mode_rejections():
    # the ciphertext signed with another token
    assert refused(safe(token="other")) == (401, "bad_signature")
    assert refused(safe(), token="other") == (401, "bad_signature")
    # a ciphertext swapped after signing: msg_signature covers it
    req = safe()
    swapped = post(
        req.body.replace(b"<![CDATA[", b"<![CDATA[A", 2).replace(b"<![CDATA[A", b"<![CDATA[", 1),
        {},
        dict(req.query),
    )
    assert refused(swapped) == (401, "bad_signature")
    assert refused(safe(drop="msg_signature")) == (401, "missing_header")
    assert refused(safe(drop="signature")) == (401, "missing_header")
    # correctly signed, but not decryptable with our key / for another AppID
    other_key = crypto.aes_key("Z" * 43)
    assert refused(safe(key=other_key)) == (401, "bad_ciphertext")
    assert refused(safe(app_id="wxSOMEONEELSE")) == (401, "wrong_receiver")
    assert refused(safe(encrypted="!!notbase64!!")) == (401, "bad_ciphertext")
    # signed, decrypted, but the inside is not acceptable XML
    assert refused(safe(b"<xml><MsgId>1</MsgId>")) == (400, "malformed")
    assert refused(safe(b'<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>')) == (400, "malformed")
    # outer XML without <Encrypt>, or not XML
    ts, nonce = "1", "n"
    q = {
        "signature": wechat.signature(TOKEN, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature(TOKEN, ts, nonce, ""),
    }
    assert refused(post(b"<xml><ToUserName>gh</ToUserName></xml>", {}, q)) == (400, "malformed")
    assert refused(post(b"<xml", {}, q)) == (400, "malformed")


def test_plain_post_is_refused_once_safe_mode_is_configured():
    ts, nonce = "1348831860", "n0nce"
    q = {"signature": wechat.signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    assert refused(post(INNER, {}, q)) == (401, "not_encrypted")
    assert len(wc(post(INNER, {}, q), key=None).messages) == 1  # plain mode still works


def test_safe_mode_message_without_a_configured_key_is_503_so_wechat_retries():
    assert refused(safe(), key=None) == (503, "not_configured")


# ------------------------------------------------------------------ DingTalk event callbacks
DT_CB_TOKEN = "dt-callback-token"
DT_CB_KEY = crypto.aes_key("0123456789abcdefghijklmnopqrstuvwxyzABCDEFG")
OWNER = "dingappkey123"
ROBOT_MSG = {
    "conversationId": "cidENC",
    "chatbotUserId": "$:LWCP_v1:$Cenc",
    "msgId": "msgENC1",
    "senderNick": "王xx",
    "senderStaffId": "user9",
    "createAt": 1613630252678,
    "conversationType": "1",
    "senderId": "$:LWCP_v1:$Fenc",
    "text": {"content": " 发票在哪里？ 🧾"},
    "msgtype": "text",
}


def event(
    doc: object,
    *,
    token: str = DT_CB_TOKEN,
    key: bytes = DT_CB_KEY,
    owner: str = OWNER,
    names: tuple[str, str] = ("msg_signature", "timestamp"),
    drop: str = "",
    raw: bytes | None = None,
):
    plain = raw if raw is not None else json.dumps(doc, ensure_ascii=False).encode()
    enc = crypto.encrypt(key, plain, owner)
    ts, nonce = "1613630252999", "nOnCe42"
    query = {
        names[0]: crypto.msg_signature(token, ts, nonce, enc),
        names[1]: ts,
        "nonce": nonce,
    }
    query.pop(drop, None)
    return post({"encrypt": enc}, {"Content-Type": "application/json"}, query)


def dte(req) -> WebhookResult:
    return dingtalk.handle_event(
        req, token=DT_CB_TOKEN, aes_key=DT_CB_KEY, owner_key=OWNER, now=NOW, tenant_id="t"
    )


def dt_refused(req) -> tuple[int, str]:
    with pytest.raises(ChannelError) as err:
        dte(req)
    return err.value.status, err.value.reason


def reply_says_success(res: WebhookResult, token: str = DT_CB_TOKEN) -> bool:
    """The answer DingTalk expects: msg_signature over it, ``success`` encrypted for the owner."""
    doc = json.loads(res.body)
    sig = crypto.msg_signature(token, doc["timeStamp"], doc["nonce"], doc["encrypt"])
    return (
        res.content_type == "application/json"
        and doc["msg_signature"] == sig
        and crypto.decrypt(DT_CB_KEY, doc["encrypt"], OWNER) == b"success"
    )


def test_check_url_is_answered_with_encrypted_success_and_no_message():
    res = dte(event({"EventType": "check_url"}))
    assert res.messages == () and reply_says_success(res)


def test_dingtalk_sample_check_url_goes_through_the_adapter():
    q = {"signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb", "timeStamp": "1608001896814"}
    req = post({"encrypt": DT_ENCRYPT}, {}, {**q, "nonce": "WL4PK6yA"})
    key = crypto.aes_key(DT_KEY)
    res = dingtalk.handle_event(
        req, token=DT_TOKEN, aes_key=key, owner_key=DT_OWNER, now=NOW, tenant_id="t"
    )
    assert res.messages == ()
    doc = json.loads(res.body)
    assert crypto.decrypt(key, doc["encrypt"], DT_OWNER) == b"success"


def test_encrypted_robot_message_is_normalised_like_the_plain_callback():
    for names in (("msg_signature", "timestamp"), ("signature", "timeStamp")):
        res = dte(event(ROBOT_MSG, names=names))
        (ev,) = res.messages
        assert ev.text == "发票在哪里？ 🧾"
        assert ev.dedup_key == "$:LWCP_v1:$Cenc:msgENC1"
        assert ev.conversation_key == "dingtalk:$:LWCP_v1:$Cenc:cidENC"
        assert ev.external_user_id == "user9"
        assert reply_says_success(res)


def test_org_events_are_acknowledged_without_a_message():
    res = dte(event({"EventType": "user_add_org", "UserId": ["u1"], "CorpId": "ding1"}))
    assert res.messages == () and reply_says_success(res)


def test_dingtalk_event_rejections():
    assert dt_refused(event(ROBOT_MSG, token="other")) == (401, "bad_signature")
    assert dt_refused(event(ROBOT_MSG, drop="msg_signature")) == (401, "missing_header")
    assert dt_refused(event(ROBOT_MSG, drop="timestamp")) == (401, "missing_header")
    assert dt_refused(event(ROBOT_MSG, drop="nonce")) == (401, "missing_header")
    assert dt_refused(event(ROBOT_MSG, owner="ding-other")) == (401, "wrong_receiver")
    assert dt_refused(event(ROBOT_MSG, key=crypto.aes_key("Z" * 43))) == (401, "bad_ciphertext")
    # signed and decrypted, but the inside is not a JSON object / lacks robot fields
    assert dt_refused(event(None, raw=b"\xff{")) == (400, "malformed")
    assert dt_refused(event([1, 2])) == (400, "malformed")
    assert dt_refused(event({"msgId": "m1", "msgtype": "text"})) == (400, "malformed")
    # the outer body
    q = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}
    assert dt_refused(post(b'{"encrypt": ', {}, q)) == (400, "malformed")
    assert dt_refused(post({"encrypt": 5}, {}, q)) == (400, "malformed")
    assert dt_refused(post({"other": "x"}, {}, q)) == (400, "malformed")
    with pytest.raises(ChannelError) as err:
        dingtalk.handle_event(
            post(b"", {}, {}),
            token=DT_CB_TOKEN,
            aes_key=DT_CB_KEY,
            owner_key=OWNER,
            now=NOW,
            tenant_id="t",
        )
    assert err.value.status == 401
