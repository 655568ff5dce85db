"""Transactional outbox: events are stored in the aggregate's own document.

A state change and the events it causes are written by one ``update_one``;
``publish_pending`` then dispatches them and pulls each one it has sent. A
crash in between leaves them in the document, and the service's relay timer
sends them later. Consumers are idempotent, so a second send is harmless.
Each event is published under the correlation id it was stored with, so the
relay's lines log under the request that caused it, whichever worker relays.
"""
from . import correlation


def publish_pending(collection, dispatch, query=None, limit=200):
    """Dispatch and remove pending events; returns how many were sent."""
    # the caller's keys first: mongomock tests a document key by key and stops at the first miss, so
    # ``_id`` before the ``$exists`` on a dotted path keeps the relay of one document cheap there
    selector = dict(query or {})
    selector["outbox.0"] = {"$exists": True}
    sent = 0
    for doc in collection.find(selector, {"outbox": 1}).limit(limit):
        for event in doc["outbox"]:
            with correlation.bound(event.get(correlation.CONTEXT_KEY)):
                dispatch(event["type"], event)
            collection.update_one(
                {"_id": doc["_id"]}, {"$pull": {"outbox": {"event_id": event["event_id"]}}})
            sent += 1
    return sent
