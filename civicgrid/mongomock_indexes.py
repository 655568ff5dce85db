"""mongomock with the indexes the services declare: equality lookups without a scan.

mongomock records ``create_index`` but answers every query by testing each document of the
collection, and every insert into a collection with a unique index scans it again for the key. A
service on the fallback store therefore slows down in proportion to what it has stored, where MongoDB
answers from its indexes. Here each collection keeps, for every field named in one of its declared
indexes, a map from value to the documents holding it; a filter that pins such a field to plain values
(``{"f": v}``, ``{"f": {"$eq": v}}``, ``{"f": {"$in": [...]}}``, also inside a top-level ``$and``) or
asks that it exist (``{"f": {"$exists": True}}``: the outbox relays' question) is answered from the
smallest of those sets. The whole filter is still applied to each candidate, in the
collection's insertion order, so the answer is exactly the scan's; a candidate set may only be too
large, never too small:

- a plain filter value is a string, an integer or an ObjectId (``None`` matches missing fields, which
  no map holds, so it scans);
- a document's value is filed under itself, an array under each of its elements (MongoDB's multikey
  rule: ``{"f": v}`` matches an array holding ``v``); anything whose equality Python and MongoDB might
  judge differently (a sub-document, an array inside an array, a type not listed in ``_FILED``) goes
  to the field's *loose* set, which every lookup on that field includes;
- mongomock updates stored documents in place, so a document is filed again after each update
  (``_apply_update_document`` / ``_apply_update_pipeline``), as well as on every store write and delete.

The maps are built on a collection's first indexed lookup and rebuilt when its indexes change.
``aggregate`` with a leading ``$match`` starts from that match's ``find`` instead of a copy of the
whole collection.
"""
import datetime
import threading

from bson import ObjectId

_STATE = "_civicgrid_indexes"
_LOOSE = object()
_FILED = (str, int, float, ObjectId, datetime.datetime)


def _plain(value):
    return isinstance(value, (str, int, ObjectId))


def _value(document, path):
    """The value at a dotted path, or None when missing; _LOOSE when an array sits on the way."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict):
            if part not in value:
                return None
            value = value[part]
        else:
            return _LOOSE
    return value


def _keys_of(value):
    """What a stored value is filed under: a tuple of map keys, or _LOOSE."""
    if value is None:
        return ()
    if isinstance(value, list):
        if all(isinstance(v, _FILED) for v in value if v is not None):
            return tuple(v for v in value if v is not None)
        return _LOOSE
    if isinstance(value, _FILED):
        return (value,)
    return _LOOSE


def _may_exist(document, path):
    """False only when ``{path: {"$exists": True}}`` cannot match: a missing key, a scalar on the way, an
    index past an array's end with no sub-document to hold the name instead."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict):
            if part not in value:
                return False
            value = value[part]
        elif isinstance(value, list):
            if part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif any(isinstance(v, (dict, list)) for v in value):
                return True           # a name inside the array's documents: whatever, maybe
            else:
                return False
        else:
            return False
    return True


EXISTS = object()   # what _pinned yields for {"$exists": True}


class _Maps:
    def __init__(self, signature, fields):
        self.signature = signature
        self.buckets = {f: {} for f in fields}
        self.loose = {f: set() for f in fields}
        self.present = {f: set() for f in fields}   # documents where the field may exist
        self.filed = {}  # document key -> ((field, keys or _LOOSE), ...), what it was filed under
        self.lock = threading.Lock()

    def add(self, key, document):
        with self.lock:
            self._remove(key)
            self._add(key, document)

    def remove(self, key):
        with self.lock:
            self._remove(key)

    def _add(self, key, document):
        entries = []
        for field, bucket in self.buckets.items():
            value = _value(document, field)
            keys = _LOOSE if value is _LOOSE else _keys_of(value)
            if keys is _LOOSE:
                self.loose[field].add(key)
            else:
                for k in keys:
                    bucket.setdefault(k, set()).add(key)
            if _may_exist(document, field):
                self.present[field].add(key)
            entries.append((field, keys))
        self.filed[key] = tuple(entries)

    def _remove(self, key):
        entries = self.filed.pop(key, None)
        if entries is None:
            return
        for field, keys in entries:
            self.present[field].discard(key)
            if keys is _LOOSE:
                self.loose[field].discard(key)
                continue
            bucket = self.buckets[field]
            for k in keys:
                holders = bucket.get(k)
                if holders is not None:
                    holders.discard(key)
                    if not holders:
                        del bucket[k]

    def candidates(self, filter):
        """The keys every pinned field allows (a superset of the answer), or None when no field is pinned.

        Starts from the smallest field's set and keeps only the keys each other pinned field also allows,
        testing membership rather than building the larger sets."""
        with self.lock:
            pinned = []
            for field, values in _pinned(filter):
                bucket = self.buckets.get(field)
                if bucket is None:
                    continue
                if values is EXISTS:
                    size = len(self.present[field])
                else:
                    size = len(self.loose[field]) + sum(len(bucket.get(v, ())) for v in values)
                pinned.append((size, field, values))
            if not pinned:
                return None
            pinned.sort(key=lambda p: p[0])
            _size, field, values = pinned[0]
            if values is EXISTS:
                found = set(self.present[field])
            else:
                found = set(self.loose[field])
                for v in values:
                    found.update(self.buckets[field].get(v, ()))
            for _size, field, values in pinned[1:]:
                if len(found) <= 4:
                    break
                if values is EXISTS:
                    found = found & self.present[field]
                    continue
                narrowed = found & self.loose[field]       # set operations in C: no loop here over the keys
                for v in values:
                    holders = self.buckets[field].get(v)
                    if holders:
                        narrowed |= found & holders
                found = narrowed
            return found


def _pinned(filter):
    """(field, plain values) for each field the filter pins by equality, top level and top-level $and."""
    if not isinstance(filter, dict):
        return
    for field, condition in filter.items():
        if field == "$and" and isinstance(condition, (list, tuple)):
            for part in condition:
                yield from _pinned(part)
        elif field.startswith("$"):
            continue
        elif _plain(condition):
            yield field, (condition,)
        elif isinstance(condition, dict) and len(condition) == 1:
            (op, operand), = condition.items()
            if op == "$eq" and _plain(operand):
                yield field, (operand,)
            elif op == "$exists" and operand is True:
                yield field, EXISTS
            elif op == "$in" and isinstance(operand, (list, tuple)) and operand \
                    and all(_plain(v) for v in operand):
                yield field, tuple(operand)


def _signature(store):
    return tuple((name, tuple(f for f, _ in spec.get("key", ()))) for name, spec in store.indexes.items())


def maps(store):
    """The store's maps, built (or rebuilt) for its current indexes; None when it has no indexed field."""
    signature = _signature(store)
    current = store.__dict__.get(_STATE)
    if current is not None and current.signature == signature:
        return current
    fields = sorted({f for _name, keys in signature for f in keys if f != "_id"})
    if not fields:
        store.__dict__[_STATE] = None
        return None
    current = _Maps(signature, fields)
    with store._rwlock.reader():
        for key, document in store._documents.items():
            current.add(key, document)
    store.__dict__[_STATE] = current
    return current


def _refile(store, key):
    current = store.__dict__.get(_STATE)
    if current is None:
        return
    document = store._documents.get(key)
    if document is None:
        current.remove(key)
    else:
        current.add(key, document)


def patch_store(CollectionStore):
    setitem, delitem, drop = CollectionStore.__setitem__, CollectionStore.__delitem__, CollectionStore.drop

    def __setitem__(self, key, val):
        setitem(self, key, val)
        _refile(self, key)

    def __delitem__(self, key):
        delitem(self, key)
        _refile(self, key)

    def drop_(self):
        drop(self)
        self.__dict__.pop(_STATE, None)

    CollectionStore.__setitem__, CollectionStore.__delitem__, CollectionStore.drop = __setitem__, __delitem__, drop_


def _document_key(document):
    from mongomock import helpers
    key = document.get("_id")
    return helpers.hashdict(key) if isinstance(key, dict) else key


def patch_collection(Collection):
    apply_document, apply_pipeline = Collection._apply_update_document, Collection._apply_update_pipeline
    aggregate = Collection.aggregate

    def _apply_update_document(self, existing_document, *args, **kwargs):
        try:
            return apply_document(self, existing_document, *args, **kwargs)
        finally:
            self._civicgrid_refile(existing_document)

    def _apply_update_pipeline(self, existing_document, *args, **kwargs):
        try:
            return apply_pipeline(self, existing_document, *args, **kwargs)
        finally:
            self._civicgrid_refile(existing_document)

    def _civicgrid_refile(self, document):
        # An upsert's document is updated before it is stored: only a stored one is filed again.
        store = self._store
        key = _document_key(document)
        if store._documents.get(key) is document:
            _refile(store, key)

    def aggregate_(self, pipeline, session=None, **kwargs):
        if pipeline and isinstance(pipeline[0], dict) and list(pipeline[0]) == ["$match"] \
                and isinstance(pipeline[0]["$match"], dict):
            from mongomock import aggregate as stages
            return stages.process_pipeline(list(self.find(pipeline[0]["$match"])), self.database,
                                           list(pipeline[1:]), session)
        return aggregate(self, pipeline, session=session, **kwargs)

    Collection._apply_update_document = _apply_update_document
    Collection._apply_update_pipeline = _apply_update_pipeline
    Collection._civicgrid_refile = _civicgrid_refile
    Collection.aggregate = aggregate_
