"""Fuzzing every route (hypothesis): no 500, no crash, no event from an unverified request."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from connectors.channels import api, crypto, dingtalk, line, meta, wechat
from connectors.gateway import ROUTES
from tests.property.connectors.shapes import WEBHOOK_KEYS

from .harness import create_topic, gateway
from .payloads import (
    API_SECRET,
    DT_CB_AES,
    DT_CB_OWNER,
    DT_CB_TOKEN,
    DT_SECRET,
    LINE_SECRET,
    META_SECRET,
    TG_SECRET,
    WC_AES,
    WC_APP_ID,
    WC_TOKEN,
    safe_mode_settings,
    settings,
)

PATHS = sorted(ROUTES)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
# Shapes close to the real ones, so the parsers behind the signature checks get exercised.
shaped = st.recursive(
    json_values,
    lambda children: (
        st.dictionaries(st.sampled_from(WEBHOOK_KEYS), children, max_size=6)
        | st.lists(children, max_size=3)
    ),
    max_leaves=30,
)
bodies = st.one_of(
    st.binary(max_size=300),
    shaped.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=200).map(
        lambda t: (
            f"<xml><MsgId>{t}</MsgId><Content>{t}</Content></xml>".encode("utf-8", "surrogatepass")
            if t.isprintable()
            else b"<xml/>"
        )
    ),
)
header_names = st.sampled_from(
    [
        "x-line-signature",
        "X-Hub-Signature-256",
        "X-Telegram-Bot-Api-Secret-Token",
        "timestamp",
        "sign",
        "X-Timestamp",
        "X-Signature",
        "Content-Type",
    ]
)
headers = st.dictionaries(
    header_names,
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    max_size=4,
)
queries = st.dictionaries(
    st.sampled_from(
        [
            "signature",
            "timestamp",
            "nonce",
            "echostr",
            "hub.mode",
            "hub.verify_token",
            "hub.challenge",
            "msg_signature",
            "encrypt_type",
            "timeStamp",
        ]
    ),
    st.text(max_size=20),
    max_size=4,
)


def signed_headers(path: str, body: bytes, now: datetime) -> tuple[dict[str, str], dict[str, str]]:
    """Correct signatures for ``body`` on ``path`` (verified garbage reaches the parsers).
    The encrypted DingTalk route signs the body's ``encrypt`` value (none: the empty string)."""
    ms, s = str(int(now.timestamp() * 1000)), str(int(now.timestamp()))
    if path == "/webhooks/line":
        return {"x-line-signature": line.sign(LINE_SECRET, body)}, {}
    if path in ("/webhooks/messenger", "/webhooks/instagram", "/webhooks/whatsapp"):
        return {"X-Hub-Signature-256": meta.sign(META_SECRET, body)}, {}
    if path == "/webhooks/telegram":
        return {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}, {}
    if path == "/webhooks/dingtalk":
        return {"timestamp": ms, "sign": dingtalk.sign(DT_SECRET, ms)}, {}
    if path == "/webhooks/dingtalk/events":
        try:
            enc = json.loads(body)["encrypt"]
        except (ValueError, TypeError, KeyError, IndexError):
            enc = ""
        enc = enc if isinstance(enc, str) else ""
        sig = crypto.msg_signature(DT_CB_TOKEN, ms, "n", enc)
        return {}, {"msg_signature": sig, "timestamp": ms, "nonce": "n"}
    if path == "/webhooks/wechat":
        return {}, {"signature": wechat.signature(WC_TOKEN, s, "n"), "timestamp": s, "nonce": "n"}
    return {"X-Timestamp": s, "X-Signature": api.sign(API_SECRET, s, body)}, {}


def signed_request(
    path: str, inner: bytes, now: datetime, *, safe_mode: bool = False
) -> tuple[bytes, dict[str, str], dict[str, str]]:
    """(body, headers, query) of a verified request carrying ``inner``: on the encrypted routes
    ``inner`` is encrypted (for our receiver) and signed, so it reaches the parsers too."""
    if path == "/webhooks/dingtalk/events":
        enc = crypto.encrypt(crypto.aes_key(DT_CB_AES), inner, DT_CB_OWNER)
        body = json.dumps({"encrypt": enc}).encode()
        return (body, *signed_headers(path, body, now))
    if path == "/webhooks/wechat" and safe_mode:
        enc = crypto.encrypt(crypto.aes_key(WC_AES), inner, WC_APP_ID)
        headers, query = signed_headers(path, b"", now)
        query |= {
            "encrypt_type": "aes",
            "msg_signature": crypto.msg_signature(WC_TOKEN, query["timestamp"], "n", enc),
        }
        return f"<xml><Encrypt>{enc}</Encrypt></xml>".encode(), headers, query
    return (inner, *signed_headers(path, inner, now))


def fuzz(stack, topic: str, gateway_settings, paths: list[str], examples: int, safe: bool) -> None:
    loop = asyncio.new_event_loop()
    cm = gateway(stack.settings, gateway_settings, topic)
    h = loop.run_until_complete(cm.__aenter__())
    seen: list[int] = []
    try:

        @hsettings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            path=st.sampled_from(paths),
            method=st.sampled_from(["POST", "GET", "PUT"]),
            body=bodies,
            hdrs=headers,
            query=queries,
        )
        def unverified(
            path: str, method: str, body: bytes, hdrs: dict[str, str], query: dict[str, str]
        ) -> None:
            async def go() -> int:
                async with h.http.request(
                    method,
                    f"http://127.0.0.1:{h.port}{path}",
                    data=body,
                    headers=hdrs,
                    params=query,
                ) as r:
                    await r.read()
                    return r.status

            status = loop.run_until_complete(go())
            seen.append(status)
            assert status < 500, (path, method, status)
            if 200 <= status < 300:  # only the GET handshakes may succeed, and only when correct
                raise AssertionError(f"unverified {method} {path} answered {status}")

        unverified()
        assert loop.run_until_complete(h.events()) == []

        @hsettings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
        @given(path=st.sampled_from(paths), inner=bodies)
        def verified_garbage(path: str, inner: bytes) -> None:
            body, hdrs, query = signed_request(path, inner, datetime.now(UTC), safe_mode=safe)

            async def go() -> int:
                async with h.http.post(
                    f"http://127.0.0.1:{h.port}{path}", data=body, headers=hdrs, params=query
                ) as r:
                    await r.read()
                    return r.status

            status = loop.run_until_complete(go())
            assert status < 500, (path, status, inner[:200])

        verified_garbage()
    finally:
        loop.run_until_complete(cm.__aexit__(None, None, None))
        loop.close()
    assert seen and all(s < 500 for s in seen)


def test_fuzzed_requests_never_500_and_unverified_ones_produce_nothing(stack, unique_name):
    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    fuzz(stack, topic, settings(), PATHS, 300, safe=False)


def test_fuzzed_safe_mode_wechat_requests_never_500_and_unverified_ones_produce_nothing(
    stack, unique_name
):
    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    fuzz(stack, topic, safe_mode_settings(), ["/webhooks/wechat"], 150, safe=True)
