from __future__ import annotations

from connectors.dedup import DedupCache, dedup_id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_key_is_remembered_for_the_ttl_then_forgotten():
    clock = Clock()
    cache = DedupCache(ttl=60, max_keys=1000, clock=clock)
    cache.add(dedup_id("line", "U1:E1"))
    clock.now += 59
    assert "line|U1:E1" in cache
    clock.now += 2
    assert "line|U1:E1" not in cache


def test_key_stored_long_ago_expires_from_its_store_time():
    clock = Clock()
    cache = DedupCache(ttl=60, max_keys=1000, clock=clock)
    cache.add("a", stored_at=clock.now - 59)  # read from the topic: produced 59 s ago
    assert "a" in cache
    cache.add("b", stored_at=clock.now - 61)
    assert "b" not in cache and len(cache) == 1


def test_oldest_keys_are_evicted_over_the_size_bound():
    cache = DedupCache(ttl=60, max_keys=1000, clock=Clock())
    for i in range(1001):
        cache.add(str(i))
    assert "0" not in cache and "1" in cache and "1000" in cache


def test_add_many_remembers_every_key_from_now_and_keeps_the_size_bound():
    clock = Clock()
    cache = DedupCache(ttl=60, max_keys=1000, clock=clock)
    cache.add("old", stored_at=clock.now - 30)  # expires at now + 30
    cache.add_many(["old", "a", "b"])  # "old" is stored again: now it lasts the full ttl
    clock.now += 59
    assert "old" in cache and "a" in cache and "b" in cache
    clock.now += 2
    assert "a" not in cache and "old" not in cache
    bounded = DedupCache(ttl=60, max_keys=1000, clock=Clock())
    bounded.add_many(str(i) for i in range(1001))
    assert len(bounded) == 1000 and "0" not in bounded and "1" in bounded and "1000" in bounded
