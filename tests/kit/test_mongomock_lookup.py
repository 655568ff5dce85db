"""mongomock's lookup by _id (civicgrid.mongomock_lookup): the very answers a scan gives, in the same order."""
from datetime import datetime, timezone

import mongomock
import pytest
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from civicgrid import mongomock_lookup
from civicgrid.store import open_database


@pytest.fixture
def things():
    mongomock_lookup.install()
    collection = mongomock.MongoClient(tz_aware=True).db.things
    collection.insert_many([{"_id": "c", "n": 1}, {"_id": "a", "n": 2}, {"_id": 7, "n": 3}, {"_id": "b", "n": 4}])
    return collection


def scanned(collection, filter):
    with mongomock_lookup.scanning():
        return list(collection.find(filter))


def test_the_fallback_store_installs_it_once():
    client, _db = open_database("lookup_probe", uri="")
    first = mongomock.collection.Collection._iter_documents
    mongomock_lookup.install()
    mongomock_lookup.install()
    assert mongomock.collection.Collection._iter_documents is first
    assert first.civicgrid_id_lookup


@pytest.mark.parametrize("filter", [
    {"_id": "a"}, {"_id": 7}, {"_id": "zz"}, {"_id": "a", "n": 2}, {"_id": "a", "n": 3},
    {"_id": {"$in": ["b", "zz", "c", 7]}}, {"_id": {"$in": ["b", "c"]}, "n": {"$gt": 1}}, {"_id": {"$in": []}},
    {"_id": {"$gt": "a"}}, {"_id": True}, {"n": 4},
])
def test_the_answers_are_the_scans(things, filter):
    assert list(things.find(filter)) == scanned(things, filter)


def test_in_keeps_the_insertion_order_across_deletes_and_drops(things):
    things.delete_one({"_id": "c"})
    things.insert_one({"_id": "c", "n": 5})                 # back, now last
    assert [d["_id"] for d in things.find({"_id": {"$in": ["c", "b", "a", 7]}})] == ["a", 7, "b", "c"]
    things.drop()
    things.insert_many([{"_id": "b"}, {"_id": "a"}])
    assert [d["_id"] for d in things.find({"_id": {"$in": ["a", "b"]}})] == ["b", "a"]


def test_an_object_id_and_the_writes_by_id(things):
    oid = things.insert_one({"n": 9}).inserted_id
    assert things.find_one({"_id": oid})["n"] == 9 and things.find_one({"_id": ObjectId()}) is None
    things.update_one({"_id": "a", "n": {"$ne": 2}}, {"$inc": {"n": 1}})      # the condition still holds it back
    assert things.find_one({"_id": "a"})["n"] == 2
    with pytest.raises(DuplicateKeyError):                                    # as mongomock's own upsert does
        things.update_one({"_id": "a", "n": {"$ne": 2}}, {"$inc": {"n": 1}}, upsert=True)
    things.update_one({"_id": "new", "seen": {"$ne": "e1"}}, {"$inc": {"n": 1}, "$push": {"seen": "e1"}}, upsert=True)
    assert things.find_one({"_id": "new"}) == {"_id": "new", "n": 1, "seen": ["e1"]}
    assert things.delete_one({"_id": {"$in": ["b"]}}).deleted_count == 1
    assert things.count_documents({"_id": {"$in": ["a", "b", "c"]}}) == 2


def test_expired_documents_are_not_found(things):
    things.create_index("at", expireAfterSeconds=60)
    things.insert_one({"_id": "old", "at": datetime(2000, 1, 1, tzinfo=timezone.utc)})
    assert things.find_one({"_id": "old"}) is None
    assert things.find_one({"_id": "a"})["n"] == 2
