"""The grid service's answers about people, cached with expiry.

A notice to a building costs one ``responsible_for_building`` call per building and
cache period (``CIVICGRID_RECIPIENT_CACHE_SECONDS``, default 60), not one per notice
or recipient. The cache belongs to the process (``RecipientCache`` provider) and is
emptied for a district when the grid announces a change of its people
(``member_assigned``, ``department_registered``), so a newly registered party member
hears the next help request at once; other replicas catch up at expiry at the latest.
Errors (``NotFound``) are not cached.
"""
import threading
import time

from nameko.extensions import DependencyProvider

from . import options


class TtlCache:
    def __init__(self, ttl=None, clock=time.monotonic):
        self._ttl = ttl
        self.clock = clock
        self._entries = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def ttl(self):
        return options.recipient_cache_seconds() if self._ttl is None else self._ttl

    def get(self, key, load):
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            self.hits += 1
            return entry[1]
        self.misses += 1
        value = load()
        if self.ttl > 0:
            with self._lock:
                self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self, district=None):
        with self._lock:
            if district is None:
                self._entries.clear()
            else:
                for key in [k for k in self._entries if k[1] == district]:
                    del self._entries[key]


class RecipientCache(DependencyProvider):
    """One cache per notify process, shared by its workers."""

    def setup(self):
        self.cache = TtlCache()

    def get_dependency(self, worker_ctx):
        return self.cache


class Directory:
    """Who is responsible for what, as the grid service answers over RPC (``proxy``), cached."""

    def __init__(self, proxy, cache=None):
        self.proxy = proxy
        self.cache = cache if cache is not None else TtlCache(ttl=0)

    def responsible_for_building(self, district, building_id):
        return self.cache.get(("building", district, building_id),
                              lambda: self.proxy.responsible_for_building(district, building_id))

    def department_staff(self, district, department_id):
        return self.cache.get(("department_staff", district, department_id),
                              lambda: self.proxy.department_staff(district, department_id))

    def get_department(self, district, department_id):
        return self.cache.get(("department", district, department_id),
                              lambda: self.proxy.get_department(district, department_id))

    def community_staff(self, district, community):
        def load():
            found = self.proxy.members_under(district, community, ["community_staff"])
            return [m["user_id"] for m in found["members"]]
        return self.cache.get(("community_staff", district, community), load)

    # not cached: a broadcast wants the people as they are now, once
    def members_under(self, district, node_id, roles=None):
        return self.proxy.members_under(district, node_id, roles)

    def user_profile(self, district, user_id):
        return self.proxy.user_profile(district, user_id)

    # not cached: the morning digest asks once per district and day
    def overdue_visits(self, district):
        return self.proxy.overdue_visits(district)
