"""The Faust codec ``"avro"``: record dataclasses ↔ Avro bytes through ``schemas.codec``.

Importing this module registers it, so ``app.topic(..., value_serializer="avro")`` works. Use it
without a ``value_type`` (the codec already returns the record dataclass). Faust does not tell a
codec the topic/partition/offset, so a ``SchemaDecodeError`` raised here carries none; agents that
dead-letter should consume raw bytes and call ``schemas.codec.decode`` with the event's position.
"""

from __future__ import annotations

from typing import Any

from faust.serializers import codecs

from schemas import codec

CODEC_NAME = "avro"


class AvroCodec(codecs.Codec):
    """Faust codec over the process-wide ``schemas.codec`` codec."""

    def _dumps(self, obj: Any) -> bytes:
        if isinstance(obj, bytes):  # already encoded (e.g. a forwarded raw value)
            return obj
        return codec.encode(obj)

    def _loads(self, s: bytes) -> Any:
        return codec.decode(s)


def register() -> None:
    """Register (again) the ``"avro"`` codec with Faust; importing this module does it once."""
    codecs.register(CODEC_NAME, AvroCodec())


register()
