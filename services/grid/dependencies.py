"""The grid service's indexes, created by ``Store`` when the service starts."""
from . import households


def create_indexes(db):
    # Uniqueness is enforced here, not only checked by the importer, so two
    # imports racing each other cannot both create the same user or mapping.
    db.districts.create_index("code", unique=True)
    db.nodes.create_index([("district", 1), ("id", 1)], unique=True)
    db.users.create_index("username", unique=True)
    db.users.create_index([("district", 1), ("roles", 1), ("scope", 1)])
    db.departments.create_index([("district", 1), ("id", 1)], unique=True)
    db.categories.create_index([("district", 1), ("category", 1)], unique=True)
    db.api_keys.create_index("key_hash", unique=True)
    db.api_keys.create_index([("district", 1), ("id", 1)], unique=True)
    db.organisations.create_index([("district", 1), ("id", 1)], unique=True)
    db.users.create_index([("district", 1), ("organisation", 1)])
    households.create_indexes(db)
