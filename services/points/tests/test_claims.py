"""Claims (自主申报): declared by residents, decided by their community's staff, points by rule."""
from datetime import timedelta

import pytest

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import CATALOGUE
from services.points import claims, domain, rules
from services.points.dependencies import create_indexes

from .helpers import ADMIN, HU, NOW, QJ_RESIDENT, STAFF, WEN, YJ_STAFF, ZHANG, balance, person

DEED = {"title": "帮独居老人买菜", "description": "每周两次帮29栋王婆婆买菜",
        "media": ["https://img.example/deed.jpg"], "category": "elderly"}


@pytest.fixture
def db(open_db):
    database = open_db("points")
    create_indexes(database)
    rules.change(database, "hb", {"claim_categories": {"elderly": 8}}, "hb-admin")
    return database


def test_approving_books_the_rules_points_from_the_community(db):
    claim = claims.submit(db, HU, DEED, NOW)
    assert (claim["_id"], claim["status"], claim["community"]) == ("hb-c000001", "pending", "wenchang")
    approved = claims.approve(db, STAFF, claim["_id"], {}, NOW)
    assert (approved["status"], approved["points"], approved["decided_by"]) == ("approved", 8, "wc-secretary")
    assert balance(db, HU) == 8
    entries = {e["account"]: e["amount"] for e in db.entries.find({"transaction_id": f"claim:{claim['_id']}"})}
    assert entries == {"user:huxingyou": 8, "community:wenchang": -8}
    event = db.claims.find_one({"_id": claim["_id"]})["outbox"][-1]
    assert event["type"] == "claim_approved"
    assert event["data"] == {"claim_id": claim["_id"], "user_id": "huxingyou", "title": "帮独居老人买菜",
                             "points": 8, "reason": None}
    with pytest.raises(Conflict):
        claims.approve(db, STAFF, claim["_id"], {}, NOW)
    assert domain.check_ledger(db, ADMIN, "hb")["balanced"]


def test_staff_may_choose_the_category_and_so_the_amount(db):
    claim = claims.submit(db, HU, dict(DEED, category=None), NOW)
    assert claims.approve(db, STAFF, claim["_id"], {"category": "elderly"}, NOW)["points"] == 8
    other = claims.submit(db, HU, dict(DEED, category="environment"), NOW)
    assert claims.approve(db, STAFF, other["_id"], {}, NOW)["points"] == 2  # the default 5, capped at 10 a day


def test_rejecting_needs_a_reason_and_awards_nothing(db):
    claim = claims.submit(db, WEN, DEED, NOW)
    with pytest.raises(Invalid) as err:
        claims.reject(db, STAFF, claim["_id"], {}, NOW)
    assert "reason" in err.value.errors
    rejected = claims.reject(db, STAFF, claim["_id"], {"reason": "缺少证明材料"}, NOW)
    assert (rejected["status"], rejected["points"], rejected["reason"]) == ("rejected", 0, "缺少证明材料")
    assert db.claims.find_one({"_id": claim["_id"]})["outbox"][-1]["type"] == "claim_rejected"
    assert balance(db, WEN) == 0


def test_only_the_communitys_staff_decide_and_never_their_own(db):
    claim = claims.submit(db, WEN, DEED, NOW)
    with pytest.raises(Forbidden):
        claims.approve(db, WEN, claim["_id"], {}, NOW)
    with pytest.raises(NotFound):
        claims.approve(db, YJ_STAFF, claim["_id"], {}, NOW)
    with pytest.raises(NotFound):
        claims.get(db, QJ_RESIDENT, claim["_id"])
    with pytest.raises(NotFound):
        claims.get(db, ZHANG, claim["_id"])
    own = claims.submit(db, STAFF, DEED, NOW)
    with pytest.raises(Forbidden):
        claims.approve(db, STAFF, own["_id"], {}, NOW)


@pytest.mark.parametrize("body, field", [
    ({"title": ""}, "title"), ({"media": ["ftp://x"]}, "media"), ({"media": ["https://a/1"] * 10}, "media"),
    ({"category": "有 空格"}, "category"), ({"points": 100}, "points"),
])
def test_bad_claims_are_refused_by_name(db, body, field):
    with pytest.raises(Invalid) as err:
        claims.submit(db, WEN, dict(DEED, **body), NOW)
    assert field in err.value.errors
    assert db.claims.count_documents({}) == 0


def test_someone_of_no_community_cannot_claim(db):
    with pytest.raises(Invalid) as err:
        claims.submit(db, person("cj-clerk", ["department_staff"], None, None), DEED, NOW)
    assert "community" in err.value.errors


def test_claims_are_capped(db):
    first, second = claims.submit(db, HU, DEED, NOW), claims.submit(db, HU, DEED, NOW)
    claims.approve(db, STAFF, first["_id"], {}, NOW)
    capped = claims.approve(db, STAFF, second["_id"], {}, NOW)
    assert (capped["points"], capped["capped"]) == (2, True) and capped["reason"]
    assert balance(db, HU) == 10


def test_lists_by_role(db):
    claims.submit(db, WEN, DEED, NOW)
    claims.submit(db, HU, DEED, NOW)
    assert claims.list_for(db, WEN, {})[1] == 1
    assert claims.list_for(db, STAFF, {"status": "pending"})[1] == 2
    assert claims.list_for(db, YJ_STAFF, {})[1] == 0
    assert claims.list_for(db, ADMIN, {})[1] == 2


def test_an_approval_a_crash_interrupted_is_awarded_by_the_sweep(db):
    claim = claims.submit(db, HU, DEED, NOW)
    db.claims.update_one({"_id": claim["_id"]}, {"$set": {
        "status": "approved", "amount": 8, "awarded": False, "actor": STAFF.as_actor("community_staff"),
        "decided_by": "wc-secretary", "decided_at": NOW, "updated_at": NOW}})
    assert claims.repair(db, NOW + timedelta(seconds=1)) == 0
    assert claims.repair(db, NOW + timedelta(seconds=11)) == 1
    assert claims.repair(db, NOW + timedelta(seconds=30)) == 0
    assert balance(db, HU) == 8
    assert db.claims.find_one({"_id": claim["_id"]})["outbox"][-1]["type"] == "claim_approved"


def test_staff_hear_of_a_new_claim_when_the_catalogue_has_the_event(db):
    claim = claims.submit(db, HU, DEED, NOW)
    types = [e["type"] for e in db.claims.find_one({"_id": claim["_id"]})["outbox"]]
    assert types == (["claim_submitted"] if "claim_submitted" in CATALOGUE else [])
