"""Every topic is read by one agent of the worker (streams.fanout): two agents on one topic made
Faust deliver each record twice and could stall a rebalance in Consumer.wait_empty for a minute
(a record skipped by one stream's compiled iterator was never released)."""

from __future__ import annotations

from collections import Counter

from schemas import topics as names
from streams import fanout
from streams.app import app, streams_settings


def _topics_read() -> Counter[str]:
    read: Counter[str] = Counter()
    for agent in app.agents.values():
        read.update(agent.channel.topics)  # type: ignore[attr-defined]
    return read


def test_no_topic_is_read_by_two_agents() -> None:
    read = _topics_read()
    assert read, "no agent registered: streams.app imported no agent module"
    assert [t for t, n in read.items() if n > 1] == []


def test_shared_topics_run_every_handler_in_one_agent() -> None:
    by_topic = {
        name: ([label for label, _ in a.handlers], a.size, a.within)
        for name, a in fanout.agents().items()
    }
    messages = streams_settings.topic(names.CHANNEL_MESSAGES)
    events = streams_settings.topic(names.TICKET_EVENTS)
    sla = streams_settings.topic(names.SLA_EVENTS)
    # handlers in module import order; the batch is the largest asked for, the wait the shortest
    assert by_topic[messages] == (["identify_customers", "thread_channel_messages"], 4000, 0.2)
    assert by_topic[events] == (["forward_routing_feed", "track_sla_clocks"], 500, 0.05)
    assert by_topic[sla] == (["forward_routing_feed"], None, None)
    assert _topics_read()[messages] == _topics_read()[events] == 1


def test_a_handler_registers_once_per_topic() -> None:
    agent = fanout.agents()[streams_settings.topic(names.SLA_EVENTS)]

    async def again(events: object) -> None:
        raise AssertionError("not run")

    try:
        agent.add("forward_routing_feed", again, None, None)  # type: ignore[arg-type]
    except ValueError as exc:
        assert "already registered" in str(exc)
    else:
        raise AssertionError("a second registration of the same handler was accepted")
