"""The projector joins its group only once every topic exists, and says which are missing
(joining earlier only adds the rebalance their creation causes; see projections.kafkajoin)."""

from __future__ import annotations

import logging
import threading

import pytest

from projections.service import wait_for_topics


def test_waits_until_every_topic_exists_and_says_which_are_missing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen = iter([{"a"}, {"a", "c"}, {"a", "b", "c"}])
    calls = []

    def existing() -> set[str]:
        calls.append(1)
        return next(seen)

    with caplog.at_level(logging.WARNING, logger="ticketstream.projector"):
        assert wait_for_topics(existing, ("a", "b", "c"), threading.Event(), every=0, poll=0)
    assert len(calls) == 3
    warnings = [r.getMessage() for r in caplog.records]
    assert "b, c" in warnings[0] and "start the stream workers" in warnings[0]
    assert warnings[1].startswith("waiting for 1 topic(s)") and ": b —" in warnings[1]


def test_a_stop_ends_the_wait() -> None:
    stop = threading.Event()
    stop.set()
    assert not wait_for_topics(lambda: set(), ("a",), stop, poll=0)
