"""The WeChat safe-mode / DingTalk callback encryption (connectors/channels/crypto.py).

Two kinds of vector: the platforms' own published samples (Tencent's WXBizMsgCrypt sample
message, DingTalk's DingCallbackCrypto3.py sample), and vectors built here step by step from the
documented algorithm with the AES primitive alone, so the module is checked against the
description, not against itself."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors.channels import crypto

# Tencent's sample (WXBizMsgCrypt, WeCom document 90968): token, EncodingAESKey, receive id.
WX_TOKEN, WX_KEY, WX_ID = (
    "QDG6eK",
    "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "wx5823bf96d3bd56c7",
)
WX_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj"
    "911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06D"
    "OdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH"
    "03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6"
    "BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN"
    "+E7Q=="
)
# DingTalk's sample (open-dingtalk/DingTalk-Callback-Crypto, DingCallbackCrypto3.py __main__).
DT_TOKEN, DT_KEY, DT_OWNER = (
    "mryue",
    "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
    "ding6ccabc44d2c8d38b",
)
DT_ENCRYPT = (
    "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+"
    "HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3"
)

KEY_43 = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def test_tencent_sample_message_verifies_and_decrypts_to_its_xml():
    assert (
        crypto.msg_signature(WX_TOKEN, "1409659813", "1372623149", WX_ENCRYPT)
        == "477715d11cdb4164915debcba66cb864d751f3e6"
    )
    xml = crypto.decrypt(crypto.aes_key(WX_KEY), WX_ENCRYPT, WX_ID).decode()
    assert xml.startswith("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>")
    assert "<Content><![CDATA[hello]]></Content>" in xml
    assert "<MsgId>4561255354251345929</MsgId>" in xml


def test_dingtalk_sample_verifies_and_decrypts_to_check_url():
    assert (
        crypto.msg_signature(DT_TOKEN, "1608001896814", "WL4PK6yA", DT_ENCRYPT)
        == "03044561471240d4a14bb09372dfcfd4fd0e40cb"
    )
    assert crypto.decrypt(crypto.aes_key(DT_KEY), DT_ENCRYPT, DT_OWNER) == (
        b'{"EventType":"check_url"}'
    )


def by_the_book(encoding_aes_key: str, msg: bytes, receive_id: bytes, rnd: bytes) -> str:
    """The documented construction, step by step, with the AES primitive only."""
    key = base64.b64decode(encoding_aes_key + "=")
    assert len(key) == 32
    plain = rnd + len(msg).to_bytes(4, "big") + msg + receive_id
    n = 32 - len(plain) % 32  # PKCS#7 to a multiple of 32 bytes: 1…32 bytes of value n
    plain += bytes([n]) * n
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


@pytest.mark.parametrize(
    "msg",
    [
        b"",
        "<xml><Content><![CDATA[สวัสดี 你好 🙂]]></Content></xml>".encode(),
        b"x" * 6,  # 16 + 4 + 6 + 18 = 44 bytes: pads 20
        b"y" * 26,  # 16 + 4 + 26 + 18 = 64 bytes: a whole extra block of 32 × 0x20
    ],
)
def test_encrypt_equals_the_documented_construction_and_decrypts(msg):
    rnd = bytes(range(16))
    want = by_the_book(KEY_43, msg, WX_ID.encode(), rnd)
    key = crypto.aes_key(KEY_43)
    assert crypto.encrypt(key, msg, WX_ID, random16=rnd) == want
    assert crypto.decrypt(key, want, WX_ID) == msg


def test_full_padding_block_is_32_bytes_of_0x20():
    key = crypto.aes_key(KEY_43)
    raw = base64.b64decode(crypto.encrypt(key, b"y" * 26, WX_ID, random16=b"r" * 16))
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(raw) + dec.finalize()
    assert len(plain) == 96 and plain[-32:] == b"\x20" * 32


def test_msg_signature_sorts_the_four_values():
    want = hashlib.sha1(b"".join(sorted([b"tok", b"123", b"nonce", b"ENC"]))).hexdigest()
    assert crypto.msg_signature("tok", "123", "nonce", "ENC") == want
    assert crypto.signature_matches(want, want)
    assert not crypto.signature_matches(want, want[:-1] + "0")
    assert not crypto.signature_matches(want, "é" * 40)


@pytest.mark.parametrize("bad", ["", "short", KEY_43 + "A", "!" * 43, "é" * 43])
def test_a_key_that_is_not_43_base64_characters_is_refused(bad):
    with pytest.raises(crypto.CryptoError) as err:
        crypto.aes_key(bad)
    assert err.value.reason == "bad_key"


def encrypted_plain(plain: bytes) -> str:
    """Encrypt an arbitrary (already padded) plaintext with KEY_43, bypassing the module."""
    key = base64.b64decode(KEY_43 + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


@pytest.mark.parametrize(
    ("encrypted", "reason"),
    [
        ("not base64 !!", "bad_ciphertext"),
        ("", "bad_ciphertext"),
        (base64.b64encode(b"x" * 20).decode(), "bad_ciphertext"),  # not whole AES blocks
        ("é", "bad_ciphertext"),
        # pad byte 0, pad byte 33, inconsistent pad bytes
        (encrypted_plain(b"r" * 16 + b"\x00\x00\x00\x01m" + b"w" * 10 + b"\x00"), "bad_ciphertext"),
        (encrypted_plain(b"r" * 31 + b"\x21"), "bad_ciphertext"),
        (encrypted_plain(b"r" * 29 + b"\x01\x03\x03"), "bad_ciphertext"),
        # length field pointing past the end; plaintext shorter than its 20-byte header
        (encrypted_plain(b"r" * 16 + b"\x00\x00\x10\x00" + b"m" * 11 + b"\x01"), "bad_ciphertext"),
        (encrypted_plain(b"r" * 16 + b"\x10" * 16), "bad_ciphertext"),
        # decrypts, but for another receiver
        (by_the_book(KEY_43, b"<xml/>", b"wxOTHER", b"r" * 16), "wrong_receiver"),
        (by_the_book(KEY_43, b"<xml/>", b"", b"r" * 16), "wrong_receiver"),
    ],
)
def test_rejections_name_their_reason(encrypted, reason):
    with pytest.raises(crypto.CryptoError) as err:
        crypto.decrypt(crypto.aes_key(KEY_43), encrypted, WX_ID)
    assert err.value.reason == reason
    assert KEY_43 not in err.value.message


def test_another_key_does_not_decrypt():
    other = crypto.aes_key("Z" * 43)
    encrypted = crypto.encrypt(crypto.aes_key(KEY_43), b"<xml/>", WX_ID)
    with pytest.raises(crypto.CryptoError):  # padding or receiver check fails
        crypto.decrypt(other, encrypted, WX_ID)
