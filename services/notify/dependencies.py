"""Indexes of the notify database and the grid directory it asks for people."""
from pymongo import DESCENDING


def create_indexes(db):
    # One notice per event and recipient, however often the event is delivered.
    db.notifications.create_index([("event_id", 1), ("recipient", 1)], unique=True)
    db.notifications.create_index([("district", 1), ("recipient", 1), ("created_at", DESCENDING)])
    db.notifications.create_index([("district", 1), ("recipient", 1), ("read", 1)])


class GridDirectory:
    """Who is responsible for what, as the grid service answers over RPC."""

    def __init__(self, proxy):
        self.proxy = proxy

    def responsible_for_building(self, district, building_id):
        return self.proxy.responsible_for_building(district, building_id)

    def department_staff(self, district, department_id):
        return self.proxy.department_staff(district, department_id)
