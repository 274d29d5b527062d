"""One local aiohttp server implementing each platform's documented send contract (channels.md)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

LINE_TOKEN, PAGE_TOKEN, WA_TOKEN, TG_TOKEN = "line-at", "page-at", "wa-at", "123:tg"
DT_KEY, DT_SECRET, WC_APPID, WC_SECRET = "dingkey", "dingsecret", "wxapp", "wxsecret"


@dataclass
class Platforms:
    calls: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    reply_tokens: set[str] = field(default_factory=lambda: {"valid-token"})
    retry_keys: set[str] = field(default_factory=set)
    fail_next: dict[str, int] = field(default_factory=dict)  # path -> how many 5xx/429 first
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.calls]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.calls.append((path, dict(request.headers), body))
        if self.fail_next.get(path, 0) > 0:
            self.fail_next[path] -= 1
            if path.endswith("/sendMessage"):
                return web.json_response(
                    {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}, status=429
                )
            return web.json_response({"message": "temporarily unavailable"}, status=500)
        auth = request.headers.get("Authorization", "")
        if path == "/v2/bot/message/reply":
            if auth != f"Bearer {LINE_TOKEN}":
                return web.json_response({"message": "Authentication failed"}, status=401)
            if body["replyToken"] not in self.reply_tokens:
                return web.json_response({"message": "Invalid reply token"}, status=400)
            self.reply_tokens.discard(body["replyToken"])  # single use
            return web.json_response({"sentMessages": [{"id": "L-reply-1", "quoteToken": "q"}]})
        if path == "/v2/bot/message/push":
            key = request.headers.get("X-Line-Retry-Key")
            if auth != f"Bearer {LINE_TOKEN}" or not key:
                return web.json_response({"message": "bad request"}, status=400)
            if key in self.retry_keys:  # accepted before: retries get 409
                return web.json_response(
                    {"message": "The retry key is already accepted"}, status=409
                )
            self.retry_keys.add(key)
            return web.json_response({"sentMessages": [{"id": "L-push-1", "quoteToken": "q"}]})
        if path.endswith("/messages") and path.count("/") == 2:  # Graph /{id}/messages
            if body.get("messaging_product") == "whatsapp":
                if auth != f"Bearer {WA_TOKEN}":
                    return web.json_response({"error": {"code": 190}}, status=401)
                return web.json_response(
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                        "messages": [{"id": "wamid.OUT1"}],
                    }
                )
            if auth != f"Bearer {PAGE_TOKEN}":
                return web.json_response({"error": {"code": 190}}, status=401)
            if body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") != "HUMAN_AGENT":
                return web.json_response(
                    {"error": {"code": 10, "message": "outside window"}}, status=400
                )
            return web.json_response(
                {"recipient_id": body["recipient"]["id"], "message_id": "m_OUT1"}
            )
        if path == f"/bot{TG_TOKEN}/sendMessage":
            return web.json_response(
                {
                    "ok": True,
                    "result": {
                        "message_id": 42,
                        "chat": {"id": body["chat_id"]},
                        "text": body["text"],
                    },
                }
            )
        if path == "/robot/sendBySession":
            return web.json_response({"errcode": 0, "errmsg": "ok"})
        if path == "/v1.0/oauth2/accessToken":
            ok = body == {"appKey": DT_KEY, "appSecret": DT_SECRET}
            return web.json_response(
                {"accessToken": "dt-at", "expireIn": 7200} if ok else {"code": "invalidClient"},
                status=200 if ok else 400,
            )
        if path in ("/v1.0/robot/oToMessages/batchSend", "/v1.0/robot/groupMessages/send"):
            if request.headers.get("x-acs-dingtalk-access-token") != "dt-at":
                return web.json_response({"code": "InvalidAuthentication"}, status=401)
            return web.json_response({"processQueryKey": "pq-1"})
        if path == "/cgi-bin/token":
            q = request.query
            if (q.get("grant_type"), q.get("appid"), q.get("secret")) != (
                "client_credential",
                WC_APPID,
                WC_SECRET,
            ):
                return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
            return web.json_response({"access_token": "wc-at", "expires_in": 7200})
        if path == "/cgi-bin/message/custom/send":
            if request.query.get("access_token") != "wc-at":
                return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
            if body["touser"] == "o-expired":
                return web.json_response({"errcode": 45015, "errmsg": "response out of time limit"})
            return web.json_response({"errcode": 0, "errmsg": "ok"})
        return web.json_response({"message": "not found"}, status=404)


@asynccontextmanager
async def platforms() -> AsyncIterator[Platforms]:
    p = Platforms()
    runner = web.AppRunner(p.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    p.port = int(runner.addresses[0][1])
    try:
        yield p
    finally:
        await runner.cleanup()
