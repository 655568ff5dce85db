"""A small expiring cache for answers one service takes from another (one per process, shared by its workers).

Errors are not cached: a loader that raises leaves nothing behind, so the next call asks again.
"""
import threading
import time


class TtlCache:
    def __init__(self, ttl, clock=time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._entries = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key, load, fresh=False):
        """The cached value of ``key``, or ``load()``'s (kept ``ttl`` seconds); ``fresh`` always loads."""
        now = self.clock()
        entry = None if fresh else self._entries.get(key)
        if entry is not None and entry[0] > now:
            self.hits += 1
            return entry[1]
        self.misses += 1
        value = load()
        if self.ttl > 0:
            with self._lock:
                self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self):
        with self._lock:
            self._entries.clear()
