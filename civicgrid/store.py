"""MongoDB for each service, or mongomock in-process when ``MONGO_URI`` is unset.

Only operations that both pymongo and mongomock 4.3 support are used anywhere
(no transactions, no ``bulk_write``, no change streams), so the same tests run
against either. mongomock gets a lookup by ``_id`` (``civicgrid.mongomock_lookup``), as every
MongoDB collection has, so reads and upserts by ``_id`` do not scan their collection.
"""
import logging
import threading

from nameko.extensions import DependencyProvider

from . import audit, config

log = logging.getLogger("civicgrid.store")

# One in-memory server per process: two containers of one service in a test
# process (replicas) then share their database, as they would a real MongoDB.
_mongomock = {}
_mongomock_lock = threading.Lock()


def _mongomock_client():
    import mongomock
    from . import mongomock_lookup
    mongomock_lookup.install()
    with _mongomock_lock:
        if "client" not in _mongomock:
            _mongomock["client"] = mongomock.MongoClient(tz_aware=True)
        return _mongomock["client"]


def open_database(service_name, uri=None, prefix=None):
    uri = uri if uri is not None else config.mongo_uri()
    name = f"{prefix or config.mongo_db_prefix()}_{service_name}"
    if uri:
        import pymongo
        client = pymongo.MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        log.info("%s: MongoDB database %s", service_name, name)
    else:
        client = _mongomock_client()
        log.warning(
            "%s: MONGO_URI unset, using in-memory mongomock: nothing persists "
            "after this process stops", service_name)
    return client, client[name]


class Store(DependencyProvider):
    """Opens the service's database at container start and creates its indexes.

    ``indexes`` is a function of the database, so each service keeps its own
    index list next to its repository code.
    """

    def __init__(self, indexes=None):
        self.indexes = indexes

    def setup(self):
        cfg = self.container.config
        self.client, self.db = open_database(
            self.container.service_name,
            uri=cfg.get("MONGO_URI") or None,
            prefix=cfg.get("MONGO_DB_PREFIX") or None)
        ensure_kit_indexes(self.db)
        if self.indexes:
            self.indexes(self.db)

    def stop(self):
        self.client.close()

    def get_dependency(self, worker_ctx):
        return self.db


def ensure_kit_indexes(db):
    db.processed_events.create_index([("consumer", 1), ("event_id", 1)], unique=True)
    # Idempotency-Key records (civicgrid.idempotency_keys) go after a day.
    db.command_keys.create_index("at", expireAfterSeconds=24 * 3600)
    audit.ensure_indexes(db)
