"""Properties of the pure adapters: any change to a signed body fails verification, and any
correctly signed body either normalises or raises ChannelError with a 4xx (never anything else)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.channels import api, crypto, dingtalk, line, meta, telegram, wechat
from connectors.channels.base import (
    EVENT_NAMESPACE,
    ChannelError,
    WebhookRequest,
    event_id_for,
    from_epoch,
)
from schemas.records import Channel

from .shapes import WEBHOOK_KEYS

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
AES = crypto.aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
docs = st.recursive(
    scalars,
    lambda c: (
        st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(WEBHOOK_KEYS), c, max_size=6)
    ),
    max_leaves=40,
)


def run_all(body: bytes) -> None:
    ms, s = str(int(NOW.timestamp() * 1000)), str(int(NOW.timestamp()))
    # The encrypted routes: ``body`` is what the platform encrypted, so after the signature and
    # the decryption it reaches the same parsers as the plain routes' bodies.
    wx = crypto.encrypt(AES, body, "wxapp")
    wx_query = {
        "signature": wechat.signature("k", s, "n"),
        "timestamp": s,
        "nonce": "n",
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature("k", s, "n", wx),
    }
    dt = crypto.encrypt(AES, body, "owner")
    dt_query = {
        "msg_signature": crypto.msg_signature("k", ms, "n", dt),
        "timestamp": ms,
        "nonce": "n",
    }
    calls = [
        lambda: wechat.handle(
            WebhookRequest("POST", {}, wx_query, f"<xml><Encrypt>{wx}</Encrypt></xml>".encode()),
            token="k",
            received_at=NOW,
            tenant_id="t",
            aes_key=AES,
            app_id="wxapp",
        ),
        lambda: dingtalk.handle_event(
            WebhookRequest("POST", {}, dt_query, json.dumps({"encrypt": dt}).encode()),
            token="k",
            aes_key=AES,
            owner_key="owner",
            now=NOW,
            tenant_id="t",
        ),
        lambda: line.handle(
            WebhookRequest("POST", {"x-line-signature": line.sign("k", body)}, {}, body),
            secret="k",
            received_at=NOW,
            tenant_id="t",
        ),
        *[
            (
                lambda ch=ch: meta.handle(
                    WebhookRequest("POST", {"x-hub-signature-256": meta.sign("k", body)}, {}, body),
                    channel=ch,
                    app_secret="k",
                    verify_token="v",
                    received_at=NOW,
                    tenant_id="t",
                )
            )
            for ch in (Channel.MESSENGER, Channel.INSTAGRAM, Channel.WHATSAPP)
        ],
        lambda: telegram.handle(
            WebhookRequest("POST", {"x-telegram-bot-api-secret-token": "k"}, {}, body),
            secret_token="k",
            bot_id="1",
            received_at=NOW,
            tenant_id="t",
        ),
        lambda: dingtalk.handle(
            WebhookRequest("POST", {"timestamp": ms, "sign": dingtalk.sign("k", ms)}, {}, body),
            app_secret="k",
            now=NOW,
            tenant_id="t",
        ),
        lambda: wechat.handle(
            WebhookRequest(
                "POST",
                {},
                {"signature": wechat.signature("k", s, "n"), "timestamp": s, "nonce": "n"},
                body,
            ),
            token="k",
            received_at=NOW,
            tenant_id="t",
        ),
        lambda: api.handle(
            WebhookRequest(
                "POST", {"x-timestamp": s, "x-signature": api.sign("k", s, body)}, {}, body
            ),
            channel=Channel.API,
            secret="k",
            now=NOW,
            tenant_id="t",
        ),
    ]
    for call in calls:
        try:
            call()
        except ChannelError as exc:
            assert 400 <= exc.status < 500 and exc.reason and exc.message


@settings(max_examples=400, deadline=None)
@given(docs)
def test_signed_json_of_any_shape_normalises_or_is_a_4xx(doc):
    run_all(json.dumps(doc).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_signed_bytes_normalise_or_are_a_4xx(raw):
    run_all(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.data())
def test_any_change_to_a_signed_body_fails_verification(body, data):
    i = data.draw(st.integers(0, len(body) - 1))
    changed = body[:i] + bytes([body[i] ^ data.draw(st.integers(1, 255))]) + body[i + 1 :]
    for verify, header, sig in (
        (line.verify, "x-line-signature", line.sign("k", body)),
        (
            lambda k, r: meta.verify(k, r, Channel.MESSENGER),
            "x-hub-signature-256",
            meta.sign("k", body),
        ),
    ):
        try:
            verify("k", WebhookRequest("POST", {header: sig}, {}, changed))
        except ChannelError as exc:
            assert exc.reason == "bad_signature"
        else:
            raise AssertionError("a changed body verified")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.text(max_size=40))
def test_encryption_round_trips_and_names_its_receiver(msg, receiver):
    enc = crypto.encrypt(AES, msg, receiver)
    assert len(base64.b64decode(enc)) % 32 == 0  # PKCS#7 to 32-byte blocks
    assert crypto.decrypt(AES, enc, receiver) == msg
    try:
        crypto.decrypt(AES, enc, receiver + "x")
    except crypto.CryptoError as exc:
        assert exc.reason == "wrong_receiver"
    else:
        raise AssertionError("decrypted for another receiver")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_decrypting_any_text_is_a_message_or_a_crypto_error(text):
    try:
        crypto.decrypt(AES, text, "r")
    except crypto.CryptoError as exc:
        assert exc.reason in ("bad_ciphertext", "wrong_receiver")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100), st.data())
def test_any_change_to_a_ciphertext_fails_its_msg_signature(msg, data):
    # CBC alone is malleable: the signature over the ciphertext is what authenticates it.
    enc = crypto.encrypt(AES, msg, "r")
    sig = crypto.msg_signature("tok", "1", "n", enc)
    i = data.draw(st.integers(0, len(enc) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    swap = alphabet[(alphabet.index(enc[i]) + data.draw(st.integers(1, 64))) % 65]
    changed = enc[:i] + swap + enc[i + 1 :]
    assert not crypto.signature_matches(crypto.msg_signature("tok", "1", "n", changed), sig)


@given(st.integers(0, 253_402_300_799_000))  # up to 9999-12-31T23:59:59Z
def test_epoch_millis_keep_exact_milliseconds(ms):
    dt = from_epoch(ms, "x", "t", millis=True)
    assert dt.microsecond % 1000 == 0
    assert (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1) == ms


@given(st.sampled_from(list(Channel)), st.text())
def test_event_ids_are_the_rfc_4122_uuid5_of_channel_and_dedup_key(channel, key):
    name = f"{channel.value}:{key}"
    if max(name, default="") >= "\ud800" and any("\ud800" <= c <= "\udfff" for c in name):
        return  # lone surrogates are not UTF-8: no platform id contains one
    assert event_id_for(channel, key) == str(uuid.uuid5(EVENT_NAMESPACE, name))
