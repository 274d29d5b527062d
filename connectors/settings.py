"""Connector settings: channel secrets, send-API base URLs, gateway limits, e-mail servers.

Environment variables ``TICKETSTREAM_<NAME>`` (or the settings file). Secrets are ``SecretStr``:
they print as ``**********`` and are never logged; an empty secret disables that channel's route
(requests get 503 with a sentence naming the variable to set).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from connectors.channels.crypto import CryptoError, aes_key
from ticketstream.settings import settings_config

EMPTY = SecretStr("")


class ConnectorSettings(BaseSettings):
    model_config = settings_config()

    # --- gateway
    gateway_host: str = Field("127.0.0.1", description="Address the gateway listens on")
    gateway_max_body_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Largest webhook body accepted (413 above)"
    )
    gateway_produce_timeout: float = Field(
        4.0, gt=0, description="Seconds to wait for Kafka's ack before answering 503"
    )
    gateway_dedup_ttl_seconds: float = Field(
        7 * 24 * 3600.0,
        gt=0,
        description="How long a dedup key is remembered (WhatsApp retries 7 days)",
    )
    gateway_linger_ms: int = Field(
        0, ge=0, le=100, description="Producer linger (ms): bigger batches, a little more latency"
    )
    gateway_dedup_max_keys: int = Field(2_000_000, ge=1000, description="Dedup cache size bound")

    # --- LINE
    line_channel_secret: SecretStr = Field(EMPTY, description="LINE channel secret (webhook HMAC)")
    line_channel_access_token: SecretStr = Field(EMPTY, description="LINE channel access token")
    line_api_base: str = Field("https://api.line.me", description="LINE Messaging API base URL")

    # --- Meta (Messenger, Instagram, WhatsApp)
    meta_app_secret: SecretStr = Field(EMPTY, description="Meta App Secret (X-Hub-Signature-256)")
    meta_verify_token: SecretStr = Field(
        EMPTY, description="Verify token typed in the App Dashboard"
    )
    meta_page_access_token: SecretStr = Field(
        EMPTY, description="Page token (Messenger/Instagram send)"
    )
    whatsapp_access_token: SecretStr = Field(EMPTY, description="WhatsApp Cloud API token")
    graph_api_base: str = Field(
        "https://graph.facebook.com/v24.0", description="Graph API base URL"
    )

    # --- Telegram
    telegram_secret_token: SecretStr = Field(EMPTY, description="setWebhook secret_token")
    telegram_bot_token: SecretStr = Field(EMPTY, description="Bot token (123456:ABC…)")
    telegram_api_base: str = Field("https://api.telegram.org", description="Bot API base URL")

    # --- DingTalk
    dingtalk_app_key: str = Field("", description="DingTalk robot appKey (robotCode)")
    dingtalk_app_secret: SecretStr = Field(EMPTY, description="DingTalk robot appSecret")
    dingtalk_api_base: str = Field(
        "https://api.dingtalk.com", description="DingTalk OpenAPI base URL"
    )
    dingtalk_callback_token: SecretStr = Field(
        EMPTY, description="DingTalk encrypted event callback token (msg_signature)"
    )
    dingtalk_callback_aes_key: SecretStr = Field(
        EMPTY, description="DingTalk event callback aes_key (43 characters)"
    )
    dingtalk_callback_owner_key: str = Field(
        "", description="Owner of the event callbacks: appKey, corpId or suiteKey"
    )

    # --- WeChat
    wechat_token: SecretStr = Field(EMPTY, description="WeChat server-config Token")
    wechat_app_id: str = Field("", description="WeChat Official Account AppID")
    wechat_encoding_aes_key: SecretStr = Field(
        EMPTY, description="WeChat EncodingAESKey (43 characters): safe mode; empty = plain mode"
    )
    wechat_app_secret: SecretStr = Field(EMPTY, description="WeChat AppSecret")
    wechat_api_base: str = Field("https://api.weixin.qq.com", description="WeChat API base URL")

    # --- generic API / web chat
    api_secret: SecretStr = Field(EMPTY, description="HMAC secret of the api/webchat channels")
    api_callback_url: str = Field(
        "", description="Where api/webchat agent replies are POSTed (signed)"
    )

    # --- e-mail
    imap_host: str = Field("127.0.0.1", description="IMAP server")
    imap_port: int = Field(993, ge=1, le=65535, description="IMAP port")
    imap_ssl: bool = Field(True, description="IMAP over TLS (port 993)")
    imap_user: str = Field("", description="IMAP login")
    imap_password: SecretStr = Field(EMPTY, description="IMAP password")
    imap_mailbox: str = Field("INBOX", description="Mailbox polled for customer mail")
    imap_poll_seconds: float = Field(10.0, gt=0, description="Seconds between IMAP polls")
    smtp_host: str = Field("127.0.0.1", description="SMTP server for agent replies")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port")
    smtp_starttls: bool = Field(True, description="Use STARTTLS")
    smtp_user: str = Field("", description="SMTP login (empty = no AUTH)")
    smtp_password: SecretStr = Field(EMPTY, description="SMTP password")
    email_address: str = Field("support@example.com", description="Support address (From)")
    email_domain: str = Field("example.com", description="Domain of generated Message-IDs")

    # --- outbound
    outbound_max_attempts: int = Field(5, ge=1, le=20, description="Send attempts per reply")
    outbound_backoff_seconds: float = Field(1.0, gt=0, description="First retry delay (doubles)")
    outbound_group_id: str = Field("ticketstream-outbound", description="Kafka consumer group")
    outbound_clock: Literal["wall", "event"] = Field(
        "wall",
        description="Time the platforms' windows are judged at (24-hour messaging windows, reply "
        "token and session webhook expiry): wall = the send time, as the platforms do; event = "
        "the reply's occurred_at, for replays and simulated time (the demo sets it)",
    )

    @field_validator("wechat_encoding_aes_key", "dingtalk_callback_aes_key")
    @classmethod
    def _a_43_character_key(cls, value: SecretStr) -> SecretStr:
        """A configured AES key must decode to 32 bytes (checked at start, not per request)."""
        if value.get_secret_value():
            try:
                aes_key(value.get_secret_value())
            except CryptoError as exc:
                raise ValueError(exc.message) from None
        return value
