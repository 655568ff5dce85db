"""mongomock's copies (civicgrid.mongomock_copies): the very values mongomock's own functions give."""
import copy
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

from bson import Decimal128, Int64, ObjectId, Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from civicgrid import mongomock_copies, mongomock_lookup

mongomock_lookup.install()
SCALARS = st.one_of(st.text(max_size=3), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                    st.binary(max_size=3), st.datetimes(), st.dates(), st.just(Int64(5)), st.just(Decimal128("1.5")),
                    st.datetimes(timezones=st.just(timezone(timedelta(hours=8)))), st.builds(ObjectId),
                    st.just(Timestamp(0, 0)), st.just(Timestamp(5, 1)))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner), st.dictionaries(st.text(max_size=2), inner, max_size=3),
    st.dictionaries(st.text(max_size=2), inner, max_size=2).map(OrderedDict)), max_leaves=12)


def same(a, b):
    """Equal, of the same types all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def shares_nothing_mutable(a, b):
    if isinstance(a, (dict, list)):
        if a is b:
            return False
        items = zip(a.values(), b.values()) if isinstance(a, dict) else zip(a, b)
        return all(shares_nothing_mutable(x, y) for x, y in items)
    return True


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_copies_are_mongomocks(value):
    original = mongomock_copies.ORIGINALS
    assert same(mongomock_copies.deepcopy(value), copy.deepcopy(value))
    assert shares_nothing_mutable(mongomock_copies.deepcopy(value), value)
    assert same(mongomock_copies.copy(value), copy.copy(value))
    assert same(mongomock_copies.make_timezone_aware(value), original["aware"](value))
    patched = __import__("mongomock").helpers.patch_datetime_awareness_in_document
    if not _has_fresh_timestamp(value):     # Timestamp(0, 0) becomes "now": two calls differ by the clock
        assert same(patched(value), original["naive"](value))


def _has_fresh_timestamp(value):
    if isinstance(value, Timestamp):
        return not value.time and not value.inc
    if isinstance(value, dict):
        return any(_has_fresh_timestamp(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_fresh_timestamp(v) for v in value)
    return False


def test_a_stored_document_is_not_changed_through_what_a_find_returns():
    import mongomock
    collection = mongomock.MongoClient(tz_aware=True).db.copies
    collection.insert_one({"_id": 1, "tags": ["a"], "at": datetime(2026, 1, 1, tzinfo=timezone.utc), "sub": {"n": 1}})
    found = collection.find_one({"_id": 1})
    found["tags"].append("b")
    found["sub"]["n"] = 2
    again = collection.find_one({"_id": 1})
    assert again["tags"] == ["a"] and again["sub"] == {"n": 1} and again["at"].tzinfo is not None
