"""Indexes of the notify database, and the providers the service uses (re-exported here)."""
from .deliveries import Courier  # noqa: F401 - the courier that sends deliveries
from .directory import Directory, RecipientCache  # noqa: F401 - the grid's answers, cached


def create_indexes(db):
    from .domain import create_indexes as create
    create(db)


# The name the tests and older code know the directory by.
GridDirectory = Directory
