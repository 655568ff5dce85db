"""Indexes of the points database, created when the service starts, and the grid directory adapter."""
import logging

from pymongo import ASCENDING, DESCENDING

from civicgrid.errors import CivicGridError, NotFound

log = logging.getLogger(__name__)


def create_indexes(db):
    # The ledger's guard against a redelivered award: one entry per account per transaction.
    # (A user's chain position is the entry's _id, unique by nature.)
    db.entries.create_index([("transaction_id", 1), ("account", 1)], unique=True)
    db.entries.create_index([("district", 1), ("account", 1), ("created_at", DESCENDING)])
    db.entries.create_index([("district", 1), ("account", 1), ("seq", DESCENDING)])
    db.entries.create_index([("district", 1), ("account", 1), ("earning", 1), ("created_at", 1)])
    db.entries.create_index([("district", 1), ("account", 1), ("item_id", 1)])
    db.entries.create_index([("district", 1), ("created_at", 1)])
    db.accounts.create_index([("district", 1), ("kind", 1), ("community", 1)])
    db.items.create_index([("district", 1), ("community", 1), ("active", 1)])
    db.orders.create_index([("district", 1), ("user_id", 1), ("created_at", DESCENDING)])
    db.orders.create_index([("district", 1), ("community", 1), ("status", 1)])
    db.orders.create_index([("status", 1), ("expires_at", 1)])
    db.orders.create_index([("status", 1), ("created_at", 1)])
    db.orders.create_index([("settled", 1), ("status", 1)])
    db.activities.create_index([("district", 1), ("community", 1), ("starts_at", DESCENDING)])
    db.activities.create_index([("pending_checkins", 1)])
    db.claims.create_index([("district", 1), ("community", 1), ("status", 1)])
    db.claims.create_index([("district", 1), ("user_id", 1)])
    db.claims.create_index([("status", 1), ("awarded", 1)])
    db.wishes.create_index([("district", 1), ("community", 1), ("status", 1), ("attention", -1),
                            ("created_at", -1)])
    db.wishes.create_index([("district", 1), ("resident_id", 1), ("created_at", -1)])
    db.wishes.create_index([("district", 1), ("adopter.user_id", 1)])
    db.wishes.create_index([("status", 1), ("due_at", 1)])
    db.wishes.create_index([("status", 1), ("flagged", 1), ("created_at", 1)])
    db.wishes.create_index([("status", 1), ("awarded", 1)])
    for collection in (db.orders, db.activities, db.claims, db.wishes):
        collection.create_index([("outbox.0", ASCENDING)], sparse=True)


class GridDirectory:
    """What the points service asks the grid: which community a building belongs to, whether a community
    is one of the district's (asked as the caller, so another district's is not found either)."""

    def __init__(self, proxy):
        self.proxy = proxy

    def is_community(self, district, community):
        try:
            return self.proxy.get_node(district, community).get("type") == "community"
        except NotFound:
            return False

    def community_of_scope(self, district, scope):
        try:
            return self.proxy.locate_building(district, scope).get("community")
        except CivicGridError:
            return None  # not a building (a grid, a community): the person's own sign-in will tell
        except Exception:
            log.warning("grid did not answer for %s/%s; the account waits for its owner's sign-in", district, scope)
            return None
