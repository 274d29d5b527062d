"""HTTP senders: LINE, Meta (Messenger, Instagram, WhatsApp), Telegram, DingTalk, WeChat, API.

Base URLs and credentials come from ConnectorSettings; tokens travel in headers or query strings
and are never put in error messages or logs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta

import aiohttp

from connectors.outbound.base import SendError, Sent, call, retry_key
from connectors.settings import ConnectorSettings
from schemas.records import AgentReplied, Channel

MESSAGING_WINDOW = timedelta(hours=24)  # Meta: free-form replies within 24 h of the customer


def _within(reply: AgentReplied, now: datetime, window: timedelta) -> bool:
    last = reply.last_customer_message_at
    return last is not None and now - last <= window


class LineSender:
    """Reply with the event's token inside its minute, else push with ``X-Line-Retry-Key``."""

    def __init__(self, http: aiohttp.ClientSession, s: ConnectorSettings) -> None:
        self.http, self.base = http, s.line_api_base.rstrip("/")
        self.token = s.line_channel_access_token.get_secret_value()

    async def send(self, reply: AgentReplied, now: datetime) -> Sent:
        auth = {"Authorization": f"Bearer {self.token}"}
        messages = [{"type": "text", "text": reply.text[:5000]}]
        token = reply.reply_context.get("reply_token")
        expires = reply.reply_context_expires_at
        if token and expires is not None and now < expires:
            try:
                _, doc = await call(
                    self.http,
                    "POST",
                    f"{self.base}/v2/bot/message/reply",
                    "LINE reply",
                    json_body={"replyToken": token, "messages": messages},
                    headers=auth,
                )
                return Sent(_first_sent(doc), via="reply")
            except SendError as exc:
                if exc.retryable:
                    raise
                # 400: token spent or expired meanwhile — fall through to push.
        to = reply.reply_context.get("to") or reply.external_conversation_id
        headers = {**auth, "X-Line-Retry-Key": retry_key(reply.reply_id)}
        status, doc = await call(
            self.http,
            "POST",
            f"{self.base}/v2/bot/message/push",
            "LINE push",
            json_body={"to": to, "messages": messages},
            headers=headers,
            ok=(200, 409),
        )
        # 409 with our retry key = an earlier attempt was accepted: the reply is out.
        return Sent(_first_sent(doc) if status == 200 else None, via="push")


def _first_sent(doc: object) -> str | None:
    if isinstance(doc, dict) and isinstance(doc.get("sentMessages"), list) and doc["sentMessages"]:
        first = doc["sentMessages"][0]
        return str(first.get("id")) if isinstance(first, dict) else None
    return None


class MetaSender:
    """Graph API Send API: RESPONSE within 24 h, else the HUMAN_AGENT tag (Messenger/Instagram);
    WhatsApp free-form text only inside its 24-hour window."""

    def __init__(self, http: aiohttp.ClientSession, s: ConnectorSettings, channel: Channel) -> None:
        self.http, self.base, self.channel = http, s.graph_api_base.rstrip("/"), channel
        secret = (
            s.whatsapp_access_token if channel is Channel.WHATSAPP else s.meta_page_access_token
        )
        self.token = secret.get_secret_value()

    async def send(self, reply: AgentReplied, now: datetime) -> Sent:
        auth = {"Authorization": f"Bearer {self.token}"}
        url = f"{self.base}/{reply.account_id}/messages"
        inside = _within(reply, now, MESSAGING_WINDOW)
        if self.channel is Channel.WHATSAPP:
            if not inside:
                raise SendError(
                    "WhatsApp 24-hour window closed: send an approved template", retryable=False
                )
            body: dict[str, object] = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": reply.external_conversation_id,
                "type": "text",
                "text": {"body": reply.text},
                "biz_opaque_callback_data": reply.reply_id,
            }
            _, doc = await call(
                self.http, "POST", url, "WhatsApp send", json_body=body, headers=auth
            )
            msgs = doc.get("messages") if isinstance(doc, dict) else None
            mid = (
                msgs[0].get("id")
                if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict)
                else None
            )
            return Sent(str(mid) if mid else None, via="cloud_api")
        body = {"recipient": {"id": reply.external_user_id}, "message": {"text": reply.text}}
        if inside:
            body["messaging_type"] = "RESPONSE"
        else:
            body["messaging_type"] = "MESSAGE_TAG"
            body["tag"] = "HUMAN_AGENT"  # human replies up to 7 days after the customer's message
        _, doc = await call(
            self.http, "POST", url, f"{self.channel.value} send", json_body=body, headers=auth
        )
        mid = doc.get("message_id") if isinstance(doc, dict) else None
        return Sent(str(mid) if mid else None, via="response" if inside else "human_agent_tag")


class TelegramSender:
    def __init__(self, http: aiohttp.ClientSession, s: ConnectorSettings) -> None:
        self.http, self.base = http, s.telegram_api_base.rstrip("/")
        self.token = s.telegram_bot_token.get_secret_value()

    async def send(self, reply: AgentReplied, now: datetime) -> Sent:
        chat = reply.reply_context.get("chat_id") or reply.external_conversation_id
        body: dict[str, object] = {
            "chat_id": int(chat) if chat.lstrip("-").isdigit() else chat,
            "text": reply.text[:4096],
        }
        _, doc = await call(
            self.http,
            "POST",
            f"{self.base}/bot{self.token}/sendMessage",
            "Telegram sendMessage",
            json_body=body,
        )
        if not (isinstance(doc, dict) and doc.get("ok")):
            raise SendError("Telegram sendMessage answered ok=false", retryable=False)
        result = doc.get("result")
        mid = result.get("message_id") if isinstance(result, dict) else None
        return Sent(str(mid) if mid is not None else None, via="sendMessage")


class DingTalkSender:
    """Session webhook until it expires, else OpenAPI batch send (1:1) / group send."""

    def __init__(self, http: aiohttp.ClientSession, s: ConnectorSettings) -> None:
        self.http, self.base = http, s.dingtalk_api_base.rstrip("/")
        self.key, self.secret = s.dingtalk_app_key, s.dingtalk_app_secret.get_secret_value()
        self._token: tuple[str, float] | None = None

    async def _access_token(self) -> str:
        if self._token is not None and self._token[1] > time.monotonic():
            return self._token[0]
        _, doc = await call(
            self.http,
            "POST",
            f"{self.base}/v1.0/oauth2/accessToken",
            "DingTalk accessToken",
            json_body={"appKey": self.key, "appSecret": self.secret},
        )
        if not isinstance(doc, dict) or not isinstance(doc.get("accessToken"), str):
            raise SendError("DingTalk accessToken answer without accessToken", retryable=True)
        self._token = (doc["accessToken"], time.monotonic() + float(doc.get("expireIn", 7200)) - 60)
        return self._token[0]

    async def send(self, reply: AgentReplied, now: datetime) -> Sent:
        ctx = reply.reply_context
        hook, expires = ctx.get("session_webhook"), reply.reply_context_expires_at
        if hook and expires is not None and now < expires:
            _, doc = await call(
                self.http,
                "POST",
                hook,
                "DingTalk session webhook",
                json_body={"msgtype": "text", "text": {"content": reply.text}},
            )
            if isinstance(doc, dict) and doc.get("errcode", 0) != 0:
                raise SendError(
                    f"DingTalk session webhook errcode {doc.get('errcode')}", retryable=False
                )
            return Sent(None, via="session_webhook")
        headers = {"x-acs-dingtalk-access-token": await self._access_token()}
        robot = ctx.get("robot_code") or self.key
        param = json.dumps({"content": reply.text}, ensure_ascii=False)
        if ctx.get("conversation_type") == "2":
            body = {
                "robotCode": robot,
                "openConversationId": reply.external_conversation_id,
                "msgKey": "sampleText",
                "msgParam": param,
            }
            _, doc = await call(
                self.http,
                "POST",
                f"{self.base}/v1.0/robot/groupMessages/send",
                "DingTalk group send",
                json_body=body,
                headers=headers,
            )
            return Sent(
                str(doc.get("processQueryKey"))
                if isinstance(doc, dict) and doc.get("processQueryKey")
                else None,
                via="group_send",
            )
        user = ctx.get("staff_id") or reply.external_user_id
        body2 = {"robotCode": robot, "userIds": [user], "msgKey": "sampleText", "msgParam": param}
        _, doc = await call(
            self.http,
            "POST",
            f"{self.base}/v1.0/robot/oToMessages/batchSend",
            "DingTalk batchSend",
            json_body=body2,
            headers=headers,
        )
        return Sent(
            str(doc.get("processQueryKey"))
            if isinstance(doc, dict) and doc.get("processQueryKey")
            else None,
            via="batch_send",
        )


class WeChatSender:
    """Customer-service message API (48 h after the user's last interaction)."""

    TOKEN_EXPIRED = frozenset({40001, 40014, 42001})

    def __init__(self, http: aiohttp.ClientSession, s: ConnectorSettings) -> None:
        self.http, self.base = http, s.wechat_api_base.rstrip("/")
        self.app_id, self.secret = s.wechat_app_id, s.wechat_app_secret.get_secret_value()
        self._token: tuple[str, float] | None = None

    async def _access_token(self, *, fresh: bool = False) -> str:
        if not fresh and self._token is not None and self._token[1] > time.monotonic():
            return self._token[0]
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret}
        _, doc = await call(
            self.http, "GET", f"{self.base}/cgi-bin/token", "WeChat token", params=params
        )
        if not isinstance(doc, dict) or not isinstance(doc.get("access_token"), str):
            raise SendError(
                f"WeChat token errcode {doc.get('errcode') if isinstance(doc, dict) else '?'}",
                retryable=True,
            )
        self._token = (
            doc["access_token"],
            time.monotonic() + float(doc.get("expires_in", 7200)) - 60,
        )
        return self._token[0]

    async def send(self, reply: AgentReplied, now: datetime) -> Sent:
        body = {
            "touser": reply.reply_context.get("openid") or reply.external_user_id,
            "msgtype": "text",
            "text": {"content": reply.text},
        }
        for fresh in (False, True):
            token = await self._access_token(fresh=fresh)
            _, doc = await call(
                self.http,
                "POST",
                f"{self.base}/cgi-bin/message/custom/send",
                "WeChat custom send",
                json_body=body,
                params={"access_token": token},
            )
            code = doc.get("errcode", 0) if isinstance(doc, dict) else -1
            if code == 0:
                return Sent(None, via="custom_send")
            if code not in self.TOKEN_EXPIRED:
                break
        if code == 45015:
            raise SendError(
                "WeChat 48-hour customer-service window closed (errcode 45015)", retryable=False
            )
        raise SendError(f"WeChat custom send errcode {code}", retryable=code == -1)


class ApiCallbackSender:
    """Signed callback to the API/web-chat client: ``X-Signature: sha256=hex(HMAC(secret,
    f"{ts}.{body}"))``, ``X-Timestamp``, ``X-Delivery-Id`` (stable across retries)."""

    def __init__(self, http: aiohttp.ClientSession, s: ConnectorSettings, url: str) -> None:
        self.http, self.url, self.secret = http, url, s.api_secret.get_secret_value()

    async def send(self, reply: AgentReplied, now: datetime) -> Sent:
        raw = json.dumps(
            {
                "reply_id": reply.reply_id,
                "account_id": reply.account_id,
                "external_conversation_id": reply.external_conversation_id,
                "external_user_id": reply.external_user_id,
                "text": reply.text,
            },
            ensure_ascii=False,
        ).encode()
        ts = str(int(now.timestamp()))
        sig = (
            "sha256="
            + hmac.new(self.secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        )
        headers = {
            "Content-Type": "application/json",
            "X-Timestamp": ts,
            "X-Signature": sig,
            "X-Delivery-Id": retry_key(reply.reply_id),
        }
        try:
            async with self.http.post(self.url, data=raw, headers=headers) as r:
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"API callback: {type(exc).__name__}", retryable=True) from None
        if 200 <= status < 300:
            return Sent(None, via="callback")
        raise SendError(f"API callback answered {status}", retryable=status == 429 or status >= 500)
