"""mongomock made to answer as MongoDB would from its indexes: what ``install()`` adds.

mongomock keeps no indexes: each find, update and delete tests every document of its collection
(``Collection._iter_documents``), copies every match before it sorts and limits, and so a service slows
down as its collections grow, where MongoDB answers from its indexes. Installed once per process, on
the classes, by ``civicgrid.store`` when it falls back to mongomock:

- **by ``_id``** (here): a filter naming plain ``_id`` values — ``{"_id": v, ...}`` or
  ``{"_id": {"$in": [v, ...]}, ...}`` with ``v`` a string, an integer or an ObjectId — fetches those
  documents from mongomock's own id-keyed store;
- **by a declared index** (``civicgrid.mongomock_indexes``): a filter pinning an indexed field;
- **sorted and limited** (here): a sorted find over those candidates sorts first and filters until the
  cursor has its limit, copying only what it returns;
- **collection handles** (here) are reused rather than rebuilt on every ``db.name``;
- **copies** (``civicgrid.mongomock_copies``) walk documents by exact type.

The whole filter is still applied to each document found, in the collection's insertion order, so
every answer is exactly the scan's (``tests/kit/test_mongomock_*``: property tests against
``scanning()``, mongomock's own path). Any other filter still scans.
"""
import contextlib
import datetime
import itertools
import operator
import sys
import threading

from . import mongomock_copies, mongomock_indexes

_lock = threading.Lock()
_installed = False
_enabled = True    # off only inside scanning(): the reference answer tests compare with
_MISSING = object()
_KIND = {str: "str", int: "number", float: "number"}   # exact types: bool, Int64 and the like take mongomock's key
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


def _found(collection, filter):
    """(key, document) pairs the filter can match, in insertion order, or None when only a scan can tell."""
    wanted = _wanted(filter)
    store = collection._store
    if wanted is None:
        indexed = mongomock_indexes.maps(store)
        wanted = indexed.candidates(filter) if indexed is not None else None
        if wanted is None:
            return None
    store._remove_expired_documents()          # what the scan does first (TTL indexes)
    with store._rwlock.reader():
        documents = store._documents
        keys = [key for key in wanted if key in documents]
        if len(keys) > 1:
            keys.sort(key=_insertion_order(store)[0].__getitem__)
        return [(key, documents[key]) for key in keys]


def _sort_key(field, documents, filtering):
    """mongomock's BSON-ordered sort key, or, when every document holds a value of one kind under a
    top-level field (all strings, all numbers, all naive or all aware datetimes), the value itself: for
    one kind the BSON order is the natural one, and comparing values natively is many times faster."""
    if "." not in field:
        kinds = set()
        for doc in documents:
            value = doc.get(field, _MISSING)
            kinds.add(_KIND.get(type(value)) or (("aware" if value.tzinfo else "naive")
                                                 if isinstance(value, datetime.datetime) else None))
            if len(kinds) > 1 or None in kinds:
                break
        else:
            if len(kinds) == 1:
                return operator.itemgetter(field)
    return lambda doc: filtering.resolve_sort_key(field, doc)


def _patch_collection(Collection, filter_applies):
    from mongomock import filtering
    scan, get_dataset = Collection._iter_documents, Collection._get_dataset

    def _iter_documents(self, filter):
        found = _found(self, filter) if _enabled else None
        if found is None:
            return scan(self, filter)
        if not found:
            filter_applies(filter, {})             # the scan validates the filter even when nothing matches
        # lazy, as the scan is: an update_many tests each document just before it changes it
        return (doc for _key, doc in found if filter_applies(filter, doc))

    def _get_dataset(self, spec, sort, fields, as_class):
        # Sorted before filtering (what a sort on an index does): the filter is then applied only until the
        # cursor has its limit (``_compute_results`` below). Stable sorts and an order-keeping filter
        # commute, so the order is the scan's.
        found = _found(self, spec) if _enabled and sort else None
        if found is None:
            yield from get_dataset(self, spec, sort, fields, as_class)
            return
        keys = list(sort.items() if isinstance(sort, dict) else sort)
        if any(k.startswith("$") and k != "$natural" for k, _ in keys):
            yield from get_dataset(self, spec, sort, fields, as_class)
            return
        if not found:
            filter_applies(spec, {})
        documents = [doc for _key, doc in found]
        for sort_key, direction in reversed(keys):
            if sort_key == "$natural":
                if direction < 0:
                    documents.reverse()
                continue
            documents.sort(key=_sort_key(sort_key, documents, filtering), reverse=direction < 0)
        for document in documents:
            if filter_applies(spec, document):
                yield self._copy_only_fields(document, fields, as_class)

    _iter_documents.civicgrid_id_lookup = True
    Collection._iter_documents = _iter_documents
    Collection._get_dataset = _get_dataset


def _patch_cursor(Cursor):
    compute = Cursor._compute_results

    def _compute_results(self, with_limit_and_skip=False):
        # With a limit and no answer computed yet, copy only what the limit lets through (mongomock copies
        # every match first); the whole answer is still computed for any other use of the cursor.
        if not (_enabled and with_limit_and_skip and self._limit and self._limit > 0 and not self._results) \
                or self._skip + self._limit > sys.maxsize:        # islice's bound; mongomock slices a list
            return compute(self, with_limit_and_skip)
        head = self.__dict__.get("_civicgrid_head")
        if head is None or head[0] is not self._factory or head[1] != (self._skip, self._limit):
            wanted = self._skip + self._limit
            results = list(itertools.islice(self._factory(), wanted))
            if self.collection.codec_options.tz_aware:
                from mongomock import helpers
                results = [helpers.make_datetime_timezone_aware_in_document(x) for x in results]
            head = self.__dict__["_civicgrid_head"] = (self._factory, (self._skip, self._limit), results[self._skip:])
        return head[2]

    Cursor._compute_results = _compute_results


def _patch_database(Database):
    get_collection = Database.get_collection

    def get_collection_(self, name, codec_options=None, read_preference=None, write_concern=None,
                        read_concern=None):
        # ``db.entries`` with no options: the handle made the first time. mongomock rebuilds it through
        # ``with_options`` on every access (a tenth of a busy consumer's time), to the same result.
        if codec_options is None and read_preference is None and write_concern is None and read_concern is None:
            known = self._collection_accesses.get(name)
            if known is not None and known.codec_options == self._codec_options \
                    and known.read_preference == self.read_preference:
                return known
        return get_collection(self, name, codec_options, read_preference, write_concern, read_concern)

    Database.get_collection = get_collection_


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
        from mongomock.collection import Collection, Cursor
        from mongomock.database import Database
        from mongomock.filtering import filter_applies
        from mongomock.store import CollectionStore
        if not getattr(Collection._iter_documents, "civicgrid_id_lookup", False):
            _patch_store(CollectionStore)
            _patch_collection(Collection, filter_applies)
            _patch_cursor(Cursor)
            _patch_database(Database)
            mongomock_copies.install()
            mongomock_indexes.patch_store(CollectionStore)
            mongomock_indexes.patch_collection(Collection)
        _installed = True
