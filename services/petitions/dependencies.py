"""Adapters the petitions service injects: the grid directory over RPC, and the indexes of its store."""
from . import repository
from .analytics import store as analytics_store


def create_indexes(db):
    repository.create_indexes(db)
    analytics_store.create_indexes(db)


class GridDirectory:
    """The grid service's answers the petitions service needs, over its RPC proxy."""

    def __init__(self, proxy):
        self.proxy = proxy

    def locate_building(self, district, building_id):
        return self.proxy.locate_building(district, building_id)

    def list_categories(self, district):
        return self.proxy.list_categories(district)

    def get_department(self, district, department_id):
        return self.proxy.get_department(district, department_id)
