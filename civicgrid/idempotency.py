"""At-least-once delivery made harmless: a redelivered event changes nothing.

Each consumer records the ids of the events it has finished in
``processed_events`` (unique on consumer + event id). The effects themselves
carry keys derived from the event id, so a crash after the effect but before
the record only means the effect's own unique index absorbs the retry.
"""
import functools
import logging

from pymongo.errors import DuplicateKeyError

from .events import utcnow, validate_event

log = logging.getLogger("civicgrid.idempotency")


def already_processed(db, consumer, event_id):
    return db.processed_events.count_documents(
        {"consumer": consumer, "event_id": event_id}, limit=1) > 0


def mark_processed(db, consumer, event_id):
    try:
        db.processed_events.insert_one(
            {"consumer": consumer, "event_id": event_id, "at": utcnow()})
    except DuplicateKeyError:
        pass


def idempotent(method):
    """Wrap an event handler ``handle_x(self, event)`` of a service with ``db = Store()``.

    The envelope is validated first; a redelivery of a finished event is a no-op.
    """
    @functools.wraps(method)
    def wrapper(self, payload):
        event = validate_event(payload, tolerant=True)
        consumer = f"{self.name}.{method.__name__}"
        if already_processed(self.db, consumer, event["event_id"]):
            log.info("%s: %s %s already processed", consumer, event["type"], event["event_id"])
            return None
        result = method(self, event)
        mark_processed(self.db, consumer, event["event_id"])
        return result
    return wrapper


def insert_once(collection, document):
    """Insert unless a document with the same unique key exists; True if inserted."""
    try:
        collection.insert_one(document)
        return True
    except DuplicateKeyError:
        return False
