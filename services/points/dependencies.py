"""Indexes of the points database, created when the service starts."""
from pymongo import DESCENDING


def create_indexes(db):
    # The ledger's only guard against a redelivered award: one entry per account per transaction.
    db.entries.create_index([("transaction_id", 1), ("account", 1)], unique=True)
    db.entries.create_index([("district", 1), ("account", 1), ("created_at", DESCENDING)])
