"""kafka-python (de)serializers over ``schemas.codec``.

    KafkaProducer(value_serializer=value_serializer, key_serializer=key_serializer, ...)
    KafkaConsumer(value_deserializer=value_deserializer, key_deserializer=key_deserializer, ...)

They implement kafka-python's ``Serializer``/``Deserializer`` interface (so the consumer passes
the topic, which ``SchemaDecodeError`` then names) and are plain callables as well. kafka-python
does not give a deserializer the partition and offset: to dead-letter with them, consume raw
bytes and call ``decode_consumer_record(msg)``.
"""

from __future__ import annotations

from typing import Any

from kafka.serializer import Deserializer, Serializer

from schemas import codec


class AvroSerializer(Serializer):  # type: ignore[misc]
    """Record dataclass → Avro bytes. ``None`` stays ``None`` (a tombstone)."""

    def serialize(self, topic: str, headers: Any = None, data: Any = None) -> bytes | None:
        return None if data is None else codec.encode(data)

    def __call__(self, data: Any) -> bytes | None:
        return None if data is None else codec.encode(data)


class AvroDeserializer(Deserializer):  # type: ignore[misc]
    """Avro bytes → record dataclass; raises SchemaDecodeError naming the topic. ``None`` (a
    tombstone) stays ``None``."""

    def deserialize(self, topic: str, headers: Any = None, data: bytes | None = None) -> Any:
        return None if data is None else codec.decode(data, topic=topic)

    def __call__(self, data: bytes | None) -> Any:
        return None if data is None else codec.decode(data)


class StrKeySerializer(Serializer):  # type: ignore[misc]
    """``str`` key → UTF-8 bytes (``None`` stays ``None``)."""

    def serialize(self, topic: str, headers: Any = None, data: Any = None) -> bytes | None:
        return None if data is None else str(data).encode("utf-8")

    def __call__(self, data: str | None) -> bytes | None:
        return None if data is None else data.encode("utf-8")


class StrKeyDeserializer(Deserializer):  # type: ignore[misc]
    """UTF-8 bytes → ``str`` key (``None`` stays ``None``)."""

    def deserialize(self, topic: str, headers: Any = None, data: bytes | None = None) -> Any:
        return None if data is None else data.decode("utf-8")

    def __call__(self, data: bytes | None) -> str | None:
        return None if data is None else data.decode("utf-8")


value_serializer = AvroSerializer()
value_deserializer = AvroDeserializer()
key_serializer = StrKeySerializer()
key_deserializer = StrKeyDeserializer()


def decode_consumer_record(message: Any) -> Any:
    """Decode the raw value of a kafka-python ``ConsumerRecord`` (consumed without a value
    deserializer); a SchemaDecodeError names its topic, partition and offset."""
    return codec.decode(
        message.value, topic=message.topic, partition=message.partition, offset=message.offset
    )
