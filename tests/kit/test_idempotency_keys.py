"""Idempotency-Key on commands: once per user and key, the first answer again on a retry."""
from datetime import timedelta

import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Conflict, Invalid
from civicgrid.events import utcnow
from civicgrid.idempotency_keys import check_key, once_per_key


class Shop:
    name = "shop"

    def __init__(self, db, user="alice", key=None):
        self.db, self.idempotency_key = db, key
        self.auth = AuthContext(user_id=user, district="hb", roles=("resident",))
        self.runs = []

    @once_per_key
    def redeem(self, item, quantity=1):
        self.runs.append((item, quantity))
        if quantity <= 0:
            raise Invalid("bad quantity", {"quantity": "must be at least 1"})
        return {"order": f"o-{len(self.runs)}", "item": item, "quantity": quantity}


@pytest.fixture
def db(open_db):
    return open_db("kit")


def test_without_a_key_every_call_runs(db):
    shop = Shop(db)
    assert shop.redeem("rice")["order"] == "o-1"
    assert shop.redeem("rice")["order"] == "o-2"


def test_a_retry_with_the_same_key_gets_the_first_answer_and_runs_nothing(db):
    first = Shop(db, key="k-1")
    answer = first.redeem("rice", quantity=2)
    again = Shop(db, key="k-1")           # another worker, as a retry would reach
    assert again.redeem("rice", quantity=2) == answer
    assert again.runs == []


def test_the_same_key_for_another_request_is_refused_naming_the_header(db):
    Shop(db, key="k-2").redeem("rice")
    with pytest.raises(Invalid) as err:
        Shop(db, key="k-2").redeem("oil")
    assert "Idempotency-Key" in err.value.errors


def test_keys_belong_to_their_user(db):
    Shop(db, key="k-3").redeem("rice")
    bob = Shop(db, user="bob", key="k-3")
    assert bob.redeem("oil")["item"] == "oil" and bob.runs == [("oil", 1)]


def test_a_refused_command_releases_its_key_for_the_corrected_request(db):
    shop = Shop(db, key="k-4")
    with pytest.raises(Invalid):
        shop.redeem("rice", quantity=0)
    with pytest.raises(Invalid):       # the same mistake is checked again, not replayed
        shop.redeem("rice", quantity=0)
    assert len(shop.runs) == 2
    assert db.command_keys.count_documents({}) == 0


def test_a_key_still_running_is_a_conflict_until_it_goes_stale(db):
    db.command_keys.insert_one({"_id": "alice\x1fk-5", "fingerprint": _fingerprint_of(db), "method": "shop.redeem",
                                "state": "pending", "at": utcnow()})
    with pytest.raises(Conflict):
        Shop(db, key="k-5").redeem("rice")
    db.command_keys.update_one({"_id": "alice\x1fk-5"}, {"$set": {"at": utcnow() - timedelta(minutes=5)}})
    shop = Shop(db, key="k-5")
    assert shop.redeem("rice")["order"] == "o-1"


def _fingerprint_of(db):
    from civicgrid.idempotency_keys import _fingerprint
    return _fingerprint("shop.redeem", ("rice",), {})


@pytest.mark.parametrize("bad", ["", "a b", "x" * 256, "键"])
def test_a_malformed_key_is_refused(bad):
    with pytest.raises(Invalid) as err:
        check_key(bad)
    assert "Idempotency-Key" in err.value.errors
