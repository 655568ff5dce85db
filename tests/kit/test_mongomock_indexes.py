"""mongomock's indexed lookups (civicgrid.mongomock_indexes): after any writes, the very answers a scan gives."""
import os
import uuid
from datetime import datetime, timezone

import mongomock
import pytest
from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo.errors import DuplicateKeyError

from civicgrid import mongomock_indexes, mongomock_lookup

FIELDS = ("a", "b", "c.d")
COMMON = st.sampled_from(["x", "y", 1])     # most values come from a few, so queries meet what writes put
SCALARS = st.one_of(COMMON, COMMON, COMMON, st.sampled_from(["z", ""]), st.integers(-2, 2), st.sampled_from([1.0, 2.5]),
                    st.booleans(), st.none(), st.just(datetime(2026, 1, 1, tzinfo=timezone.utc)))
VALUES = st.one_of(SCALARS, SCALARS, SCALARS, st.lists(SCALARS, max_size=3),
                   st.lists(st.fixed_dictionaries({"d": SCALARS}), max_size=2), st.fixed_dictionaries({"d": SCALARS}))
PLAIN = st.one_of(COMMON, COMMON, COMMON, st.sampled_from(["z", ""]), st.integers(-2, 2), st.booleans())


def documents():
    outbox = st.lists(st.fixed_dictionaries({"event_id": COMMON}), max_size=2)
    usual = st.fixed_dictionaries({"a": VALUES, "b": SCALARS}, optional={"c": VALUES, "e": SCALARS, "o": outbox})
    sparse = st.fixed_dictionaries({}, optional={"a": VALUES, "b": VALUES, "c": VALUES, "e": SCALARS,
                                                 "o": st.one_of(outbox, VALUES)})
    return st.one_of(usual, sparse)


def conditions():
    field = st.sampled_from(FIELDS + ("e", "c", "o.0", "a.0", "c.0.d"))
    condition = st.one_of(PLAIN, PLAIN.map(lambda v: {"$eq": v}), st.lists(PLAIN, max_size=3).map(lambda v: {"$in": v}),
                          st.just({"$exists": True}), st.just({"$exists": False}), SCALARS.map(lambda v: {"$ne": v}),
                          st.just(None))
    return st.dictionaries(field, condition, max_size=3)


def pinned():
    """Filters on the indexed fields only, so that the indexed paths (and their sorts) are taken."""
    some = st.lists(COMMON, min_size=1, max_size=2).map(lambda v: {"$in": v})
    return st.dictionaries(st.sampled_from(("a", "b", "c.d")), st.one_of(COMMON, some), min_size=1)


def filters():
    return st.one_of(conditions(), st.lists(conditions(), min_size=1, max_size=2).map(lambda parts: {"$and": parts}),
                     st.tuples(conditions(), conditions()).map(lambda p: dict(p[0], **{"$or": [p[1]]})))


def targets():
    """Which documents a write touches: often all (or the first), else whatever a filter picks."""
    return st.one_of(st.just({}), st.just({}), filters())


def updates():
    field = st.sampled_from(("a", "b", "c", "c.d", "e", "o"))
    return st.one_of(st.tuples(field, VALUES).map(lambda p: {"$set": {p[0]: p[1]}}),
                     st.just({"$push": {"o": {"event_id": "x"}}}), st.just({"$pull": {"o": {"event_id": "x"}}}),
                     field.map(lambda f: {"$unset": {f: ""}}),
                     st.tuples(st.sampled_from(("a", "b")), SCALARS).map(lambda p: {"$push": {p[0]: p[1]}}),
                     st.tuples(st.sampled_from(("a", "b")), SCALARS).map(lambda p: {"$addToSet": {p[0]: p[1]}}),
                     # nested counters and renames: what the snapshot before an update copies along
                     st.tuples(st.sampled_from(("n.x", "n.y.z", "c.d", "a")), st.integers(-2, 2)).map(
                         lambda p: {"$inc": {p[0]: p[1]}, "$set": {"n.seen": True}}),
                     st.tuples(st.sampled_from(("a", "c.d", "n")), st.sampled_from(("e", "n.w"))).map(
                         lambda p: {"$rename": {p[0]: p[1]}}))


OPERATIONS = st.one_of(
    st.tuples(st.just("insert"), documents()),
    st.tuples(st.just("update_one"), targets(), updates(), st.booleans()),
    st.tuples(st.just("update_many"), targets(), updates()),
    st.tuples(st.just("replace"), targets(), documents()),
    st.tuples(st.just("delete_one"), targets()),
    st.tuples(st.just("delete_many"), filters()),
    st.tuples(st.just("find_one_and_update"), targets(), updates()),
    st.tuples(st.just("index"), st.sampled_from(("e", "b"))),
    st.tuples(st.just("query"), filters()),       # builds the maps early, so later writes must keep them true
    st.tuples(st.just("query"), filters()),
    st.tuples(st.just("query"), st.one_of(filters(), pinned()),
              st.lists(st.tuples(st.sampled_from(("a", "b", "e", "$natural")), st.sampled_from((1, -1))),
                       min_size=1, max_size=2),
              st.integers(0, 2), st.integers(0, 3)),
)


def apply(collection, operation):
    kind, *args = operation
    try:
        if kind == "insert":
            collection.insert_one(dict(args[0]))
        elif kind == "update_one":
            collection.update_one(args[0], args[1], upsert=args[2])
        elif kind == "update_many":
            collection.update_many(args[0], args[1])
        elif kind == "replace":
            collection.replace_one(args[0], dict(args[1]))
        elif kind == "delete_one":
            collection.delete_one(args[0])
        elif kind == "delete_many":
            collection.delete_many(args[0])
        elif kind == "find_one_and_update":
            collection.find_one_and_update(args[0], args[1])
        elif kind == "index":
            collection.create_index(args[0])
    except Exception as error:  # the same write fails the same way with and without the maps (checked below)
        return type(error).__name__
    return None


def fresh():
    mongomock_lookup.install()
    collection = mongomock.MongoClient(tz_aware=True)[f"indexes_{uuid.uuid4().hex}"].things  # clients share a server
    collection.create_index("a")
    collection.create_index([("b", 1), ("c.d", 1)])
    collection.create_index([("o.0", 1)], sparse=True)       # an outbox's "anything pending?"
    collection.create_index([("a.0", 1), ("c.0.d", 1)])
    return collection


def answer(collection, query, sort=None, skip=0, limit=0):
    try:  # ObjectIds differ between the two collections: compare without them, in order
        cursor = collection.find(query, skip=skip, limit=limit)
        if sort:
            cursor = cursor.sort(sort)
        return [{k: v for k, v in d.items() if k != "_id"} for d in cursor]
    except Exception as error:
        return type(error).__name__


@settings(max_examples=int(os.environ.get("INDEX_EXAMPLES", 1000)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(documents(), max_size=16), st.lists(OPERATIONS, max_size=12),
       st.lists(filters(), min_size=1, max_size=6))
def test_after_any_writes_every_answer_is_the_scans(initial, operations, queries):
    indexed, scanned = fresh(), fresh()
    for document in initial:
        indexed.insert_one(dict(document))
        scanned.insert_one(dict(document))
    for operation in operations + [("query", q) for q in queries]:
        if operation[0] == "query":
            found = answer(indexed, *operation[1:])
            with mongomock_lookup.scanning():
                assert found == answer(scanned, *operation[1:]), operation[1:]
            continue
        outcome = apply(indexed, operation)
        with mongomock_lookup.scanning():
            assert apply(scanned, operation) == outcome


def test_a_pinned_field_is_answered_from_its_bucket():
    collection = fresh()
    collection.insert_many([{"a": "k%d" % (n % 50), "n": n} for n in range(500)])
    maps = mongomock_indexes.maps(collection._store)
    assert maps.candidates({"a": "k7", "n": {"$gt": 3}}) and len(maps.candidates({"a": "k7"})) == 10
    assert len(maps.candidates({"a": {"$in": ["k1", "k2"]}})) == 20
    assert maps.candidates({"n": 3}) is None                        # no index on n: a scan
    assert maps.candidates({"a": None}) is None                     # None matches missing fields: a scan
    assert [d["n"] for d in collection.find({"a": "k7"})] == list(range(7, 500, 50))


def test_a_document_updated_in_place_moves_to_its_new_bucket():
    collection = fresh()
    collection.insert_one({"_id": 1, "a": "old"})
    collection.update_one({"_id": 1}, {"$set": {"a": "new"}})
    assert collection.find_one({"a": "new"})["_id"] == 1 and collection.find_one({"a": "old"}) is None
    collection.update_one({"_id": 1}, {"$set": {"a": ["p", "q"]}})
    assert collection.find_one({"a": "q"})["_id"] == 1


def test_a_unique_index_still_refuses_a_duplicate_and_rolls_the_write_back():
    collection = fresh()
    collection.create_index([("consumer", 1), ("event_id", 1)], unique=True)
    collection.insert_one({"consumer": "c", "event_id": "e1"})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"consumer": "c", "event_id": "e1"})
    collection.insert_one({"_id": "two", "consumer": "c", "event_id": "e2"})
    with pytest.raises(DuplicateKeyError):
        collection.update_one({"_id": "two"}, {"$set": {"event_id": "e1"}})
    assert collection.find_one({"consumer": "c", "event_id": "e2"})["_id"] == "two"
    assert collection.count_documents({"consumer": "c", "event_id": "e1"}) == 1


def test_an_aggregate_starts_from_its_match_and_answers_as_mongomock_does():
    from mongomock import aggregate
    collection = fresh()
    collection.insert_many([{"a": "x", "n": 1}, {"a": "x", "n": 2}, {"a": "y", "n": 5}, {"a": ObjectId(), "n": 9}])
    total = {"$group": {"_id": None, "t": {"$sum": "$n"}}}
    for pipeline in ([{"$match": {"a": "x"}}, total], [{"$match": {"a": "none"}}, total], [total],
                     [{"$match": {"n": {"$gt": 1}}}, {"$sort": {"n": -1}}]):
        whole = list(aggregate.process_pipeline(list(collection.find()), collection.database, pipeline, None))
        assert list(collection.aggregate(pipeline)) == whole
    assert list(collection.aggregate([{"$match": {"a": "x"}}, total])) == [{"_id": None, "t": 3}]


def test_two_pinned_fields_narrow_each_other_without_losing_a_match():
    collection = fresh()
    collection.insert_many([{"a": "x", "b": 1, "n": n} for n in range(10)]
                           + [{"a": "x", "b": 2, "n": n} for n in range(10)]
                           + [{"a": "x", "b": [1, {"d": 2}], "n": 99}]                  # loose on b, and matches b=1
                           + [{"a": "y", "b": 1, "n": n} for n in range(30)])
    maps = mongomock_indexes.maps(collection._store)
    assert len(maps.candidates({"a": "x", "b": 2})) == 11                          # b=2 and b's loose one
    for query, expected in (({"a": "x", "b": 1}, 11), ({"a": "x", "b": {"$in": [1, 2]}}, 21), ({"a": "x", "b": 3}, 0)):
        assert len(list(collection.find(query))) == expected
        with mongomock_lookup.scanning():
            assert len(list(collection.find(query))) == expected
    assert [d["n"] for d in collection.find({"a": "x", "b": 1}).sort("n", -1).limit(2)] == [99, 9]


def test_a_sort_on_one_kind_of_value_orders_as_mongomocks_own_sort_ties_included():
    import random
    rng = random.Random(7)
    collection = fresh()
    names = ["b", "B", "é", "a", "aa", "", "Z", "ß", "中", "文"]
    for n in range(200):
        collection.insert_one({"a": "k", "s": rng.choice(names), "n": rng.choice([1, 2.5, -3, 0, 7]), "i": n,
                               "t": datetime(2026, 1, 1, 8, 0, rng.randint(0, 5), tzinfo=timezone.utc)})
    collection.insert_one({"a": "mixed", "s": 1, "i": -1})
    collection.insert_one({"a": "mixed", "s": "x", "i": -2})
    for query in ({"a": "k"}, {"a": {"$in": ["k", "mixed"]}}):
        for field in ("s", "n", "t"):
            for direction in (1, -1):
                got = [(d.get(field), d["i"]) for d in collection.find(query).sort(field, direction).limit(60)]
                with mongomock_lookup.scanning():
                    assert got == [(d.get(field), d["i"]) for d in
                                   collection.find(query).sort(field, direction).limit(60)], (query, field, direction)


def test_pending_outboxes_are_found_without_a_scan():
    collection = fresh()
    collection.insert_many([{"_id": n, "o": []} for n in range(300)] + [{"_id": "p", "o": [{"event_id": "e"}]}])
    maps = mongomock_indexes.maps(collection._store)
    assert maps.candidates({"o.0": {"$exists": True}}) == {"p"}
    collection.update_one({"_id": 7}, {"$push": {"o": {"event_id": "f"}}})
    collection.update_one({"_id": "p"}, {"$pull": {"o": {"event_id": "e"}}})
    assert [d["_id"] for d in collection.find({"o.0": {"$exists": True}})] == [7]
    assert collection.count_documents({"o.0": {"$exists": False}}) == 300       # not pinned: mongomock's scan
    collection.insert_many([{"_id": "one", "a": ["x"]}, {"_id": "none", "a": []}, {"_id": "s", "a": "x"}])
    assert [d["_id"] for d in collection.find({"a.0": {"$exists": True}})] == ["one"]


def test_a_skip_beyond_any_index_is_an_empty_page_as_mongomock_gives_it():
    collection = fresh()
    collection.insert_many([{"a": "x", "n": n} for n in range(3)])
    assert list(collection.find({"a": "x"}).sort("n", -1).skip(10 ** 25).limit(5)) == []
    assert [d["n"] for d in collection.find({"a": "x"}).sort("n", -1).skip(1).limit(1)] == [1]
