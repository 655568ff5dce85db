"""mongomock with what every MongoDB collection has: a lookup by ``_id``.

mongomock keeps no indexes: each find, update and delete tests every document of its collection
(``Collection._iter_documents``), so a service that reads or upserts one document by ``_id`` slows down
as its collections grow, where MongoDB answers from the ``_id`` index. ``install()`` makes a filter that
names plain ``_id`` values — ``{"_id": v, ...}`` or ``{"_id": {"$in": [v, ...]}, ...}`` with ``v`` a
string, an integer or an ObjectId — fetch those documents from mongomock's own id-keyed store instead.
The whole filter is still applied to each document found, so the answer is exactly the scan's; with
``$in`` the documents come in the collection's insertion order, as the scan gives them. Any other
filter (an operator on ``_id``, a dict or float ``_id``, no ``_id`` at all) still scans.

Filters that pin another field go through the collection's declared indexes
(``civicgrid.mongomock_indexes``). Installed once per process, on the class, by ``civicgrid.store`` when
it falls back to mongomock.
"""
import contextlib
import itertools
import threading

from . import mongomock_indexes

_lock = threading.Lock()
_installed = False
_enabled = True    # off only inside scanning(): the reference answer tests compare with
_SEQ = "_civicgrid_insertion_order"   # per collection store: {key: n}, n rising with each new key


def _plain(value):
    from bson import ObjectId
    return isinstance(value, (str, ObjectId)) or (isinstance(value, int) and not isinstance(value, bool))


def _wanted(filter):
    """The ``_id`` values the filter pins the answer to, or None when it does not (scan instead)."""
    if not isinstance(filter, dict) or "_id" not in filter:
        return None
    key = filter["_id"]
    if _plain(key):
        return [key]
    if isinstance(key, dict) and list(key) == ["$in"] and isinstance(key["$in"], (list, tuple)) \
            and all(_plain(v) for v in key["$in"]):
        return list(dict.fromkeys(key["$in"]))
    return None


def _insertion_order(store):
    """The store's position of each key, kept up to date by the patched writes below; built on first use."""
    order = store.__dict__.get(_SEQ)
    if order is None:
        with store._rwlock.reader():
            keys = list(store._documents)
        order = store.__dict__[_SEQ] = (dict(zip(keys, itertools.count())), itertools.count(len(keys)))
    return order


def _patch_store(CollectionStore):
    setitem, delitem, drop = CollectionStore.__setitem__, CollectionStore.__delitem__, CollectionStore.drop

    def __setitem__(self, key, val):
        order = self.__dict__.get(_SEQ)
        if order is not None and key not in order[0]:
            order[0][key] = next(order[1])
        setitem(self, key, val)

    def __delitem__(self, key):
        delitem(self, key)
        order = self.__dict__.get(_SEQ)
        if order is not None:
            order[0].pop(key, None)

    def drop_(self):
        drop(self)
        self.__dict__.pop(_SEQ, None)

    CollectionStore.__setitem__, CollectionStore.__delitem__, CollectionStore.drop = __setitem__, __delitem__, drop_


def _patch_collection(Collection, filter_applies):
    scan = Collection._iter_documents

    def _iter_documents(self, filter):
        if not _enabled:
            return scan(self, filter)
        wanted = _wanted(filter)
        store = self._store
        if wanted is None:
            indexed = mongomock_indexes.maps(store)
            wanted = indexed.candidates(filter) if indexed is not None else None
            if wanted is None:
                return scan(self, filter)
        store._remove_expired_documents()          # what the scan does first (TTL indexes)
        with store._rwlock.reader():
            found = [(key, store._documents[key]) for key in wanted if key in store._documents]
        if not found:
            filter_applies(filter, {})             # the scan validates the filter even when nothing matches
            return iter(())
        if len(found) > 1:
            positions = _insertion_order(store)[0]
            found.sort(key=lambda item: positions[item[0]])
        return iter([doc for _key, doc in found if filter_applies(filter, doc)])

    _iter_documents.civicgrid_id_lookup = True
    Collection._iter_documents = _iter_documents


@contextlib.contextmanager
def scanning():
    """mongomock's own scan for every query inside the block (the lookups' reference in tests)."""
    global _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = True


def install():
    """Give mongomock its ``_id`` lookup; idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        from mongomock.collection import Collection
        from mongomock.filtering import filter_applies
        from mongomock.store import CollectionStore
        if not getattr(Collection._iter_documents, "civicgrid_id_lookup", False):
            _patch_store(CollectionStore)
            _patch_collection(Collection, filter_applies)
            mongomock_indexes.patch_store(CollectionStore)
            mongomock_indexes.patch_collection(Collection)
        _installed = True
