"""Adapters the petitions service injects: the grid directory over RPC, with a short-lived cache.

A submit needs the building's place in the hierarchy and the district's categories; both change
rarely, so each petitions process keeps the grid's answers for ``CIVICGRID_GRID_CACHE_SECONDS``
(default 5; 0 turns the cache off) instead of making two RPCs per submit. A category the cached
list does not know is asked for again before a submit is refused (usecases.submit), so a category
created a moment ago is accepted at once; an edited one applies within the period.
"""
import os

from nameko.extensions import DependencyProvider

from civicgrid.cache import TtlCache

from . import repository
from .analytics import store as analytics_store


def create_indexes(db):
    repository.create_indexes(db)
    analytics_store.create_indexes(db)


def cache_seconds():
    return float(os.environ.get("CIVICGRID_GRID_CACHE_SECONDS", "5"))


class GridAnswers(DependencyProvider):
    """One cache of grid answers per petitions process, shared by its workers."""

    def setup(self):
        self.cache = TtlCache(cache_seconds())

    def get_dependency(self, worker_ctx):
        return self.cache


class GridDirectory:
    """The grid service's answers the petitions service needs, over its RPC proxy (cached when given a cache).

    Every caller asks about its own district only (``auth.district``), and the grid's answers about a
    building or the categories are the same for every member of the district, so one entry serves all."""

    def __init__(self, proxy, cache=None):
        self.proxy = proxy
        self.cache = cache if cache is not None else TtlCache(0)

    def locate_building(self, district, building_id):
        return self.cache.get(("building", district, building_id),
                              lambda: self.proxy.locate_building(district, building_id))

    def list_categories(self, district, fresh=False):
        return self.cache.get(("categories", district), lambda: self.proxy.list_categories(district), fresh=fresh)

    def get_department(self, district, department_id):
        return self.proxy.get_department(district, department_id)

    def user_profile(self, district, user_id):
        return self.proxy.user_profile(district, user_id)
