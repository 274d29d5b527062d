"""The messaging platforms' send APIs, as the demo's customers see them: one local HTTP server
that accepts every agent reply the outbound worker delivers (LINE, Graph for Messenger /
Instagram / WhatsApp, Telegram, DingTalk, WeChat, the API/web-chat callback) and counts them.

It answers each platform's success shape (the union of the documented success bodies, see
docs/channels.md), so the outbound worker records a delivery instead of retrying.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SUCCESS: dict[str, Any] = {
    # Telegram
    "ok": True,
    "result": {"message_id": 1, "chat": {"id": 0}, "text": ""},
    # LINE reply/push
    "sentMessages": [{"id": "demo-1", "quoteToken": "demo"}],
    # WhatsApp Cloud API, Messenger/Instagram send API
    "messaging_product": "whatsapp",
    "contacts": [],
    "messages": [{"id": "wamid.demo"}],
    "recipient_id": "demo",
    "message_id": "m_demo",
    # WeChat (token and custom message) and DingTalk (token and robot send)
    "errcode": 0,
    "errmsg": "ok",
    "access_token": "demo-token",
    "expires_in": 7200,
    "accessToken": "demo-token",
    "expireIn": 7200,
    "processQueryKey": "demo",
}


class Platforms:
    """``with Platforms() as p:`` serves on ``p.base_url`` until the block ends."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        platforms = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                with platforms._lock:
                    platforms.calls[path.rsplit("/", 1)[-1] or path] += 1
                body = json.dumps(SUCCESS).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per delivered reply would drown the demo's output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def deliveries(self) -> int:
        """Send calls received (token requests excluded)."""
        with self._lock:
            return sum(n for k, n in self.calls.items() if k not in ("token", "accessToken"))

    def __enter__(self) -> Platforms:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
