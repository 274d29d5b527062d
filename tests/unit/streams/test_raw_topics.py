"""The worker's topics make each fetched record's event without Faust's serializer registry
(streams.app.RawSchema): the same key, value, headers and message as Faust's own decode."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import Message

from streams.app import app, channel_messages_topic, ticket_events_topic


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    # the decodes never wait: one step runs them to the end (no event loop needed)
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    return done.value.value


def _message(key: bytes | None, value: bytes | None) -> Message:
    return Message(
        topic=channel_messages_topic.get_topic_name(), partition=2, offset=7, timestamp=1.5,
        timestamp_type=0, headers=[("h", b"v")], key=key, value=value, checksum=None,
        tp=TP(channel_messages_topic.get_topic_name(), 2),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value"),
    [(b"k", b"\xc3\x01avro"), (None, b"v"), (b"k", None), (None, None), (b"", b"")],
)
def test_a_record_decodes_to_the_event_faust_makes(key: bytes | None, value: bytes | None) -> None:
    faust_own = faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    ).compile(app)
    for topic in (channel_messages_topic, ticket_events_topic):
        message = _message(key, value)
        ours = _run(topic.decode(message, propagate=True))  # type: ignore[attr-defined]
        theirs = _run(faust_own(message, propagate=True))
        assert type(ours) is type(theirs)
        assert (ours.key, ours.value, ours.headers, ours.message) == (
            theirs.key, theirs.value, theirs.headers, theirs.message,
        )  # fmt: skip
        assert ours.key is key and ours.value is value and ours.app is app
