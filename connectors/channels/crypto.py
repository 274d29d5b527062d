"""The message encryption shared by WeChat Official Account "safe mode" (安全模式) and DingTalk's
encrypted event callbacks (channels.md §4, §5; WeCom document 90968, DingTalk's
DingCallbackCrypto): both use the same construction.

- ``AESKey = Base64_Decode(EncodingAESKey + "=")``: a 43-character key gives 32 bytes (AES-256).
- AES-256-CBC, IV = the first 16 bytes of the key, PKCS#7 padding to a multiple of **32** bytes
  (pad value 1…32).
- plaintext = 16 random bytes + 4-byte big-endian length of ``msg`` + ``msg`` + ``receive_id``
  (WeChat OA: the AppID; DingTalk: the appKey, corpId or suiteKey that owns the callback).
- ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt]))).hexdigest()``
  (the four **values** sorted as strings), where ``encrypt`` is the Base64 ciphertext as sent.

Every failure raises :class:`CryptoError` with a reason label and a sentence that names no secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # PKCS#7 block of the platforms' reference code (not AES's 16)
KEY_CHARS = 43


class CryptoError(Exception):
    """``reason``: ``bad_key`` (our configured key), ``bad_ciphertext`` (not decryptable with our
    key), ``wrong_receiver`` (decrypts, but for another AppID / owner key)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey (raises CryptoError ``bad_key``)."""
    if len(encoding_aes_key) != KEY_CHARS or not encoding_aes_key.isascii():
        raise CryptoError("bad_key", f"the EncodingAESKey must be {KEY_CHARS} ASCII characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise CryptoError("bad_key", "the EncodingAESKey is not Base64") from None
    if len(key) != 32:  # pragma: no cover - 43 valid Base64 chars + "=" always give 32 bytes
        raise CryptoError("bad_key", "the EncodingAESKey does not give a 32-byte key")
    return key


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """sha1 hex of the sorted, concatenated ``[token, timestamp, nonce, encrypt]``."""
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def signature_matches(expected: str, got: str) -> bool:
    """Constant-time compare of two hex signatures (False for non-ASCII input)."""
    try:
        return hmac.compare_digest(expected.encode("ascii"), got.encode("ascii"))
    except UnicodeEncodeError:
        return False


def pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def unpad(data: bytes) -> bytes:
    """Strict PKCS#7 (block 32): the last byte n is 1…32 and the last n bytes all equal n."""
    n = data[-1] if data else 0
    if not 1 <= n <= BLOCK or n > len(data) or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad_ciphertext", "the decrypted message has no valid PKCS#7 padding")
    return data[:-n]


def encrypt(key: bytes, msg: bytes, receive_id: str, random16: bytes | None = None) -> str:
    """Base64 ciphertext of ``msg`` for ``receive_id`` (``random16`` fixed only in tests)."""
    rnd = os.urandom(16) if random16 is None else random16
    if len(rnd) != 16:
        raise ValueError("random16 must be 16 bytes")
    plain = pad(rnd + len(msg).to_bytes(4, "big") + msg + receive_id.encode("utf-8"))
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")


def decrypt(key: bytes, encrypted: str, receive_id: str) -> bytes:
    """The message inside ``encrypted`` (Base64), checked to be addressed to ``receive_id``.

    Raises CryptoError ``bad_ciphertext`` (not Base64, not whole AES blocks, bad padding, a
    length field pointing outside the plaintext) or ``wrong_receiver``."""
    try:
        raw = base64.b64decode(encrypted.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CryptoError("bad_ciphertext", "the encrypted message is not Base64") from None
    if not raw or len(raw) % 16:
        raise CryptoError("bad_ciphertext", "the encrypted message is not whole AES blocks")
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = unpad(dec.update(raw) + dec.finalize())
    if len(plain) < 20:
        raise CryptoError("bad_ciphertext", "the decrypted message is shorter than its header")
    length = int.from_bytes(plain[16:20], "big")
    if 20 + length > len(plain):
        raise CryptoError("bad_ciphertext", "the decrypted message's length field is too large")
    msg, owner = plain[20 : 20 + length], plain[20 + length :]
    if not hmac.compare_digest(owner, receive_id.encode("utf-8")):
        raise CryptoError(
            "wrong_receiver",
            "the message is addressed to another AppID / owner key than the one configured",
        )
    return msg
