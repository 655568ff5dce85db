"""civicgrid.cache.TtlCache: kept for its period, errors never kept, fresh always loads."""
import pytest

from civicgrid.cache import TtlCache


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_a_value_is_kept_for_its_period_only():
    clock, loads = Clock(), []
    cache = TtlCache(2, clock=clock)
    load = lambda: loads.append(1) or len(loads)  # noqa: E731
    assert [cache.get("k", load) for _ in range(3)] == [1, 1, 1]
    clock.now = 2.5
    assert cache.get("k", load) == 2
    assert (cache.hits, cache.misses) == (2, 2)


def test_fresh_loads_and_keeps_the_new_value():
    cache = TtlCache(60)
    cache.get("k", lambda: "old")
    assert cache.get("k", lambda: "new", fresh=True) == "new"
    assert cache.get("k", lambda: "never") == "new"


def test_an_error_is_not_kept_and_zero_keeps_nothing():
    cache = TtlCache(60)

    def fail():
        raise LookupError("no")
    with pytest.raises(LookupError):
        cache.get("k", fail)
    assert cache.get("k", lambda: "ok") == "ok"
    off = TtlCache(0)
    assert [off.get("k", lambda v=v: v) for v in (1, 2)] == [1, 2]
    cache.clear()
    assert cache.get("k", lambda: "again") == "again"
