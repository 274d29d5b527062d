"""WeChat Official Account callbacks, plain mode and "safe mode" (安全模式) (channels.md §5).

Every request carries ``signature, timestamp, nonce`` in the query: sha1 of the sorted, concatenated
``[token, timestamp, nonce]``. GET with ``echostr`` = server verification (answer echostr). POST
bodies are XML. Answer within 5 s with ``success`` (then WeChat does not retry and the agent's
reply goes out via the customer-service API). Dedup key: ``<ToUserName>:<MsgId>`` (64-bit MsgId
kept as a string); events (subscribe, …) yield no customer message.

Safe mode (``encrypt_type=aes`` in the query, an EncodingAESKey configured): the body is
``<xml><ToUserName/><Encrypt/></xml>``; ``msg_signature`` = sha1(sorted(token, timestamp, nonce,
Encrypt)) covers the ciphertext, which decrypts (``crypto``) to the plain-mode XML addressed to
our AppID. With a key configured, plain-mode POSTs are refused: the plain signature does not
cover the body, so a captured query string would otherwise authenticate any body.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from connectors.channels import crypto
from connectors.channels.base import (
    ChannelError,
    NormalisedMessage,
    WebhookRequest,
    WebhookResult,
    bad_signature,
    from_epoch,
    malformed,
    missing_header,
    same,
    to_event,
)
from schemas.records import Attachment, Channel

NAME = "WeChat"
PASSIVE_REPLY_SECONDS = 5.0  # WeChat drops the connection and retries after 5 s
CUSTOMER_SERVICE_WINDOW = timedelta(hours=48)
MAX_XML_BYTES = 64 * 1024


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()


def verify(token: str, req: WebhookRequest) -> None:
    for name in ("signature", "timestamp", "nonce"):
        if name not in req.query:
            raise missing_header(f"{name} query parameter", NAME)
    expected = signature(token, req.query["timestamp"], req.query["nonce"])
    if not same(expected, req.query["signature"]):
        raise bad_signature("signature", NAME, "check TICKETSTREAM_WECHAT_TOKEN (服务器配置 Token)")


def open_safe_mode(
    token: str, key: bytes, app_id: str, req: WebhookRequest, outer: dict[str, str]
) -> bytes:
    """The decrypted inner XML of a safe-mode POST whose outer XML fields are ``outer``.

    Raises ChannelError: 401 ``missing_header`` (no ``msg_signature``), 400 ``malformed`` (no
    ``<Encrypt>``), 401 ``bad_signature`` (msg_signature does not cover this ciphertext), 401
    ``bad_ciphertext`` (not decryptable with our EncodingAESKey), 401 ``wrong_receiver`` (for
    another AppID)."""
    got = req.query.get("msg_signature")
    if got is None:
        raise missing_header("msg_signature query parameter", NAME)
    encrypted = outer.get("Encrypt", "").strip()
    if not encrypted:
        raise malformed(NAME, "<Encrypt> is missing (safe mode)")
    expected = crypto.msg_signature(token, req.query["timestamp"], req.query["nonce"], encrypted)
    if not crypto.signature_matches(expected, got):
        raise bad_signature(
            "msg_signature", NAME, "check TICKETSTREAM_WECHAT_TOKEN (服务器配置 Token)"
        )
    try:
        return crypto.decrypt(key, encrypted, app_id)
    except crypto.CryptoError as exc:
        fix = (
            "check TICKETSTREAM_WECHAT_APP_ID"
            if exc.reason == "wrong_receiver"
            else "check TICKETSTREAM_WECHAT_ENCODING_AES_KEY (服务器配置 EncodingAESKey)"
        )
        raise ChannelError(
            401, exc.reason, f"{NAME} safe-mode message: {exc.message}; {fix}"
        ) from None


def handle(
    req: WebhookRequest,
    *,
    token: str,
    received_at: datetime,
    tenant_id: str,
    aes_key: bytes | None = None,
    app_id: str = "",
) -> WebhookResult:
    """Verify and normalise one WeChat request; GET = server verification. With ``aes_key``
    (from the EncodingAESKey) POSTs must be safe-mode messages for ``app_id``."""
    if req.method not in ("GET", "POST"):
        raise ChannelError(405, "method", "WeChat callbacks are GET or POST")
    verify(token, req)
    if req.method == "GET":
        echostr = req.query.get("echostr")
        if echostr is None:
            raise missing_header("echostr query parameter", NAME)
        return WebhookResult(body=echostr.encode("utf-8"))
    encrypted = req.query.get("encrypt_type", "raw") == "aes"
    if aes_key is not None and not encrypted:
        raise ChannelError(
            401,
            "not_encrypted",
            f"{NAME} POST without encrypt_type=aes while safe mode is configured; set the "
            "account's 消息加解密方式 to 安全模式, or unset TICKETSTREAM_WECHAT_ENCODING_AES_KEY",
        )
    if encrypted and aes_key is None:
        raise ChannelError(
            503,
            "not_configured",
            f"{NAME} safe-mode message but no EncodingAESKey: set "
            "TICKETSTREAM_WECHAT_ENCODING_AES_KEY and TICKETSTREAM_WECHAT_APP_ID",
        )
    fields = _parse(req.body)
    if aes_key is not None:
        fields = _parse(open_safe_mode(token, aes_key, app_id, req, fields))
    success = WebhookResult(body=b"success")
    if fields.get("MsgType") == "event" or "MsgId" not in fields:
        return success  # subscribe/unsubscribe/menu events: not customer messages
    to_user = _required(fields, "ToUserName")
    from_user = _required(fields, "FromUserName")
    msg_id = _required(fields, "MsgId")
    if not (msg_id.isascii() and msg_id.isdigit()):
        raise malformed(NAME, "MsgId must be a 64-bit integer")
    ts = _required(fields, "CreateTime")
    sent_at = from_epoch(ts, NAME, "CreateTime", millis=False)
    mtype = fields.get("MsgType", "")
    text = ""
    atts: list[Attachment] = []
    if mtype == "text":
        text = fields.get("Content", "")
    elif mtype == "image":
        atts.append(
            Attachment(kind="image", url=fields.get("PicUrl"), external_id=fields.get("MediaId"))
        )
    elif mtype in ("voice", "video", "shortvideo"):
        kind = "audio" if mtype == "voice" else "video"
        atts.append(Attachment(kind=kind, external_id=fields.get("MediaId")))
        text = fields.get("Recognition", "")
    elif mtype == "location":
        text = fields.get("Label", "")
        atts.append(
            Attachment(
                kind="location", url=f"geo:{fields.get('Location_X')},{fields.get('Location_Y')}"
            )
        )
    elif mtype == "link":
        text = fields.get("Title", "")
        atts.append(Attachment(kind="share", url=fields.get("Url")))
    else:
        atts.append(Attachment(kind="other", external_id=msg_id))
    m = NormalisedMessage(
        channel=Channel.WECHAT,
        account_id=to_user,
        external_conversation_id=from_user,
        external_user_id=from_user,
        external_message_id=msg_id,
        dedup_key=f"{to_user}:{msg_id}",
        text=text,
        sent_at=sent_at,
        attachments=tuple(atts),
        reply_context={"openid": from_user},
        reply_context_expires_at=sent_at + CUSTOMER_SERVICE_WINDOW,
    )
    return WebhookResult(
        (to_event(m, received_at=received_at, tenant_id=tenant_id),), body=b"success"
    )


def _parse(body: bytes) -> dict[str, str]:
    if len(body) > MAX_XML_BYTES:
        raise ChannelError(413, "too_large", f"{NAME} XML body over {MAX_XML_BYTES} bytes")
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise malformed(NAME, "DTDs and entities are not accepted")
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, ValueError) as exc:
        raise malformed(NAME, f"not well-formed XML ({str(exc)[:80]})") from None
    if root.tag != "xml":
        raise malformed(NAME, "the root element must be <xml>")
    return {child.tag: (child.text or "") for child in root if isinstance(child.tag, str)}


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise malformed(NAME, f"<{name}> is missing")
    return value
