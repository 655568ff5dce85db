"""Micro-wishes (微心愿): every move of the lifecycle, who may make it, and the points by rule."""
from datetime import timedelta

import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from services.points import accounts, domain, ledger, periods, rules, wishes
from services.points.dependencies import create_indexes

from .helpers import ADMIN, HU, NOW, QJ_RESIDENT, STAFF, WEN, YJ_STAFF, ZHANG, balance, person

PARTY = person("wc-party2", ["party_member"], "wenchang", "wenchang", name="文昌社区报到党员")
VOLUNTEER = person("wc-volunteer", ["volunteer", "resident"], "b27", "wenchang", name="志愿者小李")
YJ_PARTY = person("yj-party", ["party_member"], "yanjinghe", "yanjinghe", name="盐井河党员")
ORG_MEMBER = AuthContext(user_id="gxs-li", district="hb", roles=("organisation_member",), scope=None,
                         community="wenchang", organisation="gxs", name="供销社李经理")
GXS = {"organisation_id": "gxs", "name": "区供销社河边分社", "kind": "unit", "community": "wenchang",
       "members": ["gxs-li"]}
TOMORROW = (periods.local_date(NOW) + timedelta(days=1)).isoformat()
WISH = {"title": "给孙子买一个新书包", "reason": "孙子上初中了，旧书包破了，家里困难", "wanted_by": TOMORROW}


@pytest.fixture
def db(open_db):
    database = open_db("points")
    create_indexes(database)
    accounts.open_organisation(database, "hb", GXS, NOW)
    return database


def posted(db, who=WEN, **changes):
    return wishes.post(db, who, dict(WISH, **changes), NOW)


def to_fulfilled(db, adopter=PARTY, **adopt):
    wish = posted(db)
    wishes.adopt(db, adopter, wish["_id"], adopt, NOW)
    return wishes.fulfil(db, adopter, wish["_id"], {"note": "书包已送到", "media": ["https://img.example/bag.jpg"]},
                         NOW)


def outbox(db, wish):
    return [e["type"] for e in db.wishes.find_one({"_id": wish["_id"]})["outbox"]]


def test_the_lifecycle_open_adopted_fulfilled_confirmed_awards_the_adopter(db):
    wish = posted(db)
    assert (wish["status"], wish["community"], wish["building_id"], wish["resident_name"]) == \
        ("open", "wenchang", "b28", "文小华")
    adopted = wishes.adopt(db, PARTY, wish["_id"], {}, NOW)
    assert adopted["status"] == "adopted" and adopted["adopter"]["kind"] == "person"
    fulfilled = wishes.fulfil(db, PARTY, wish["_id"], {"note": "书包已送到"}, NOW)
    assert fulfilled["fulfilment"]["note"] == "书包已送到"
    confirmed = wishes.confirm(db, WEN, wish["_id"], {"note": "谢谢党员同志"}, NOW)
    assert (confirmed["status"], confirmed["points"], confirmed["awarded"]) == ("confirmed", 5, True)
    assert balance(db, PARTY) == 5
    entry = ledger.user_entry(db, f"wish:{wish['_id']}", PARTY.user_id)
    assert (entry["counter_account"], entry["earning"], entry["reason"]) == ("community:wenchang", "wish", "wish_fulfilled")
    assert outbox(db, wish) == ["wish_posted", "wish_adopted", "wish_fulfilled", "wish_confirmed"]
    assert domain.check_ledger(db, ADMIN, "hb")["balanced"] is True


@pytest.mark.parametrize("status,actions", [
    ("open", ["fulfil", "confirm"]),
    ("adopted", ["adopt", "withdraw", "confirm", "expire"]),
    ("fulfilled", ["adopt", "fulfil", "withdraw", "expire"]),
    ("confirmed", ["adopt", "fulfil", "confirm", "withdraw", "expire"]),
    ("withdrawn", ["adopt", "fulfil", "confirm", "withdraw", "expire"]),
    ("expired", ["adopt", "fulfil", "confirm", "withdraw", "expire"]),
])
def test_illegal_moves_are_conflicts(status, actions):
    for action in actions:
        with pytest.raises(Conflict) as err:
            wishes.next_status(status, action)
        assert err.value.errors == {"status": [status]}


def test_legal_moves():
    assert [wishes.next_status(s, a) for s, a in wishes.TRANSITIONS] == list(wishes.TRANSITIONS.values())


def test_the_second_adopter_gets_a_conflict_and_nothing_changes(db):
    wish = posted(db)
    wishes.adopt(db, PARTY, wish["_id"], {}, NOW)
    with pytest.raises(Conflict):
        wishes.adopt(db, VOLUNTEER, wish["_id"], {}, NOW)
    assert db.wishes.find_one({"_id": wish["_id"]})["adopter"]["user_id"] == PARTY.user_id


def test_a_stale_adopter_loses_to_the_one_who_wrote_first(db):
    wish = posted(db)
    stale = db.wishes.find_one({"_id": wish["_id"]}, {"outbox": 0})
    wishes.adopt(db, PARTY, wish["_id"], {}, NOW)
    with pytest.raises(Conflict):
        wishes._move(db, stale, "adopt", {"adopter": {"kind": "person", "user_id": "x"}}, "wish_adopted",
                     VOLUNTEER.as_actor(), NOW)
    assert outbox(db, wish).count("wish_adopted") == 1


def test_who_may_adopt(db):
    wish = posted(db)
    with pytest.raises(Forbidden):
        wishes.adopt(db, WEN, wish["_id"], {}, NOW)           # my own
    with pytest.raises(Forbidden):
        wishes.adopt(db, ZHANG, wish["_id"], {}, NOW)         # a resident without the role
    with pytest.raises(Forbidden):
        wishes.adopt(db, STAFF, wish["_id"], {}, NOW)         # staff manage, they do not adopt
    with pytest.raises(NotFound):
        wishes.adopt(db, YJ_PARTY, wish["_id"], {}, NOW)      # another community's party member
    with pytest.raises(NotFound):
        wishes.adopt(db, QJ_RESIDENT, wish["_id"], {}, NOW)   # another district
    with pytest.raises(Forbidden) as err:
        wishes.adopt(db, PARTY, wish["_id"], {"adopter": "organisation"}, NOW)
    assert "adopter" in err.value.errors
    with pytest.raises(Invalid) as err:
        wishes.adopt(db, PARTY, wish["_id"], {"adopter": "club"}, NOW)
    assert "adopter" in err.value.errors


def test_an_organisation_earns_for_its_account_by_its_own_rule(db):
    rules.change(db, "hb", {"wish_fulfilled_organisation": 12}, "hb-admin")
    wish = posted(db)
    adopted = wishes.adopt(db, ORG_MEMBER, wish["_id"], {}, NOW)
    assert adopted["adopter"] == {"kind": "organisation", "user_id": "gxs-li", "name": "供销社李经理",
                                  "organisation_id": "gxs", "organisation_name": "区供销社河边分社",
                                  "account": "org:hb:gxs"}
    wishes.fulfil(db, ORG_MEMBER, wish["_id"], {"note": "送去了书包和文具"}, NOW)
    confirmed = wishes.confirm(db, WEN, wish["_id"], {}, NOW)
    assert confirmed["points"] == 12
    assert ledger.balance(db, "hb", "org:hb:gxs") == 12 and balance(db, ORG_MEMBER) == 0
    assert domain.check_ledger(db, ADMIN, "hb")["balanced"] is True
    statement = domain.statement(db, ORG_MEMBER, "org:hb:gxs", {}, NOW)
    assert (statement["kind"], statement["owner"], statement["closing_balance"]) == ("org", "区供销社河边分社", 12)
    assert domain.statement(db, STAFF, "org:hb:gxs", {}, NOW)["closing_balance"] == 12
    for outsider in (PARTY, YJ_STAFF):
        with pytest.raises(NotFound):
            domain.statement(db, outsider, "org:hb:gxs", {}, NOW)


def test_an_organisations_award_is_not_capped_a_persons_is(db):
    rules.change(db, "hb", {"wish_fulfilled": 8, "caps": {"wish": {"per_day": 10}}}, "hb-admin")
    for _ in range(2):
        to_fulfilled(db)
    confirmed = [wishes.confirm(db, WEN, w["_id"], {}, NOW) for w in db.wishes.find({"status": "fulfilled"})]
    assert [(c["points"], c["capped"]) for c in confirmed] == [(8, False), (2, True)]
    for _ in range(2):
        to_fulfilled(db, ORG_MEMBER)
    for w in list(db.wishes.find({"status": "fulfilled"})):
        assert wishes.confirm(db, WEN, w["_id"], {}, NOW)["points"] == 10


def test_a_rule_changed_later_never_changes_what_was_booked(db):
    first = to_fulfilled(db)
    wishes.confirm(db, WEN, first["_id"], {}, NOW)
    rules.change(db, "hb", {"wish_fulfilled": 9, "caps": {"wish": {"per_day": None}}}, "hb-admin")
    second = to_fulfilled(db)
    assert wishes.confirm(db, WEN, second["_id"], {}, NOW)["points"] == 9
    assert [e["amount"] for e in db.entries.find({"account": "user:wc-party2"}).sort("seq", 1)] == [5, 9]


def test_confirming_twice_or_awarding_again_books_once(db):
    wish = to_fulfilled(db)
    confirmed = wishes.confirm(db, WEN, wish["_id"], {}, NOW)
    with pytest.raises(Conflict):
        wishes.confirm(db, WEN, wish["_id"], {}, NOW)
    db.wishes.update_one({"_id": wish["_id"]}, {"$set": {"awarded": False}})   # as if the record was lost
    wishes.award(db, db.wishes.find_one({"_id": wish["_id"]}), NOW)
    assert balance(db, PARTY) == confirmed["points"] == 5
    assert db.entries.count_documents({"transaction_id": f"wish:{wish['_id']}"}) == 2


def test_a_confirmation_a_crash_interrupted_is_awarded_by_the_sweep(db):
    wish = to_fulfilled(db)
    db.wishes.update_one({"_id": wish["_id"]}, {"$set": {
        "status": "confirmed", "amount": 5, "awarded": False, "actor": WEN.as_actor("resident"),
        "confirmation": {"by": WEN.user_id, "on_behalf": False, "note": None, "at": NOW}, "updated_at": NOW}})
    assert wishes.repair(db, NOW + timedelta(seconds=5)) == 0  # still within its request's grace
    assert wishes.repair(db, NOW + timedelta(minutes=1)) == 1
    assert wishes.repair(db, NOW + timedelta(minutes=2)) == 0
    assert balance(db, PARTY) == 5 and outbox(db, wish)[-1] == "wish_confirmed"


def test_only_the_adopter_fulfils_and_only_the_resident_or_staff_confirm(db):
    wish = posted(db)
    wishes.adopt(db, PARTY, wish["_id"], {}, NOW)
    for who in (VOLUNTEER, WEN, STAFF):
        with pytest.raises((Forbidden, NotFound)):
            wishes.fulfil(db, who, wish["_id"], {"note": "做好了"}, NOW)
    with pytest.raises(Invalid) as err:
        wishes.fulfil(db, PARTY, wish["_id"], {"note": ""}, NOW)
    assert "note" in err.value.errors
    wishes.fulfil(db, PARTY, wish["_id"], {"note": "做好了"}, NOW)
    with pytest.raises(Forbidden):
        wishes.confirm(db, PARTY, wish["_id"], {}, NOW)
    with pytest.raises(NotFound):
        wishes.confirm(db, YJ_STAFF, wish["_id"], {}, NOW)
    confirmed = wishes.confirm(db, STAFF, wish["_id"], {"note": "电话回访，居民已收到"}, NOW)
    assert confirmed["confirmation"]["on_behalf"] is True and confirmed["actor"]["role"] == "community_staff"


def test_staff_post_for_a_resident_of_their_community_and_it_is_recorded(db):
    people = {"huxingyou": {"user_id": "huxingyou", "name": "胡兴友", "roles": ["resident"], "scope": "b29",
                            "community": "wenchang"},
              "yj-resident": {"user_id": "yj-resident", "name": "村民", "roles": ["resident"], "scope": "yj-b1",
                              "community": "yanjinghe"}}
    profile = lambda district, user: people.get(user)  # noqa: E731
    wish = wishes.post(db, STAFF, dict(WISH, resident_id="huxingyou"), NOW, profile)
    assert (wish["resident_id"], wish["building_id"], wish["on_behalf"], wish["posted_by"]["id"]) == \
        ("huxingyou", "b29", True, "wc-secretary")
    assert wishes.list_for(db, HU, {}, now=NOW)[1] == 1   # the resident sees it among their own
    for resident_id in ("yj-resident", "nobody"):
        with pytest.raises(Invalid) as err:
            wishes.post(db, STAFF, dict(WISH, resident_id=resident_id), NOW, profile)
        assert "resident_id" in err.value.errors
    with pytest.raises(Invalid) as err:
        wishes.post(db, STAFF, WISH, NOW, profile)
    assert "resident_id" in err.value.errors
    with pytest.raises(Forbidden):
        wishes.post(db, ZHANG, dict(WISH, resident_id="huxingyou"), NOW, profile)
    with pytest.raises(Forbidden):
        wishes.post(db, PARTY, WISH, NOW)   # a party member who lives nowhere here wishes nothing


@pytest.mark.parametrize("changes,field", [
    ({"title": ""}, "title"), ({"reason": None}, "reason"), ({"wanted_by": "soon"}, "wanted_by"),
    ({"wanted_by": "2020-01-01"}, "wanted_by"), ({"wanted_by": "2030-01-01"}, "wanted_by"),
    ({"media": ["ftp://x/y.jpg"]}, "media"), ({"media": [f"https://img.example/{i}.jpg" for i in range(10)]}, "media"),
    ({"points": 100}, "points"),
])
def test_bad_wishes_are_refused_by_name(db, changes, field):
    with pytest.raises(Invalid) as err:
        posted(db, **changes)
    assert field in err.value.errors
    assert db.wishes.count_documents({}) == 0


def test_the_resident_withdraws_before_adoption_only(db):
    first, second = posted(db), posted(db)
    with pytest.raises(NotFound):
        wishes.withdraw(db, ZHANG, first["_id"], {}, NOW)
    assert wishes.withdraw(db, WEN, first["_id"], {"reason": "已经买到了"}, NOW)["status"] == "withdrawn"
    wishes.adopt(db, PARTY, second["_id"], {}, NOW)
    with pytest.raises(Conflict):
        wishes.withdraw(db, WEN, second["_id"], {}, NOW)


def test_who_sees_what(db):
    open_, adopted = posted(db), posted(db)
    wishes.adopt(db, PARTY, adopted["_id"], {}, NOW)
    community = {"community": "wenchang"}
    assert [w["_id"] for w in wishes.list_for(db, VOLUNTEER, community, now=NOW)[0]] == [open_["_id"]]
    assert [w["_id"] for w in wishes.list_for(db, ORG_MEMBER, community, now=NOW)[0]] == [open_["_id"]]
    assert wishes.list_for(db, STAFF, community, now=NOW)[1] == 2
    assert wishes.list_for(db, ADMIN, community, now=NOW)[1] == 2
    assert wishes.list_for(db, WEN, {}, now=NOW)[1] == 2
    assert [w["_id"] for w in wishes.list_for(db, PARTY, {"view": "adopted"}, now=NOW)[0]] == [adopted["_id"]]
    with pytest.raises(Forbidden):
        wishes.list_for(db, ZHANG, community, now=NOW)       # a resident: their own only
    with pytest.raises(Forbidden):
        wishes.list_for(db, VOLUNTEER, dict(community, status="adopted"), now=NOW)
    with pytest.raises(NotFound):
        wishes.list_for(db, YJ_PARTY, community, now=NOW)
    with pytest.raises(NotFound):
        wishes.list_for(db, QJ_RESIDENT, community, now=NOW)
    assert wishes.get(db, VOLUNTEER, open_["_id"])["_id"] == open_["_id"]
    for who, wish in ((VOLUNTEER, adopted), (ZHANG, open_), (YJ_PARTY, open_), (QJ_RESIDENT, open_)):
        with pytest.raises(NotFound):
            wishes.get(db, who, wish["_id"])


def test_the_timer_flags_once_after_the_districts_days_and_staff_see_flagged_first(db):
    wishes.set_settings(db, ADMIN, "hb", {"flag_days": 3}, NOW)
    old = posted(db, wanted_by=(periods.local_date(NOW) + timedelta(days=30)).isoformat())
    later = NOW + timedelta(days=2)
    fresh = wishes.post(db, ZHANG, dict(WISH, wanted_by=(periods.local_date(NOW) + timedelta(days=30)).isoformat()),
                        later)
    assert wishes.scan(db, NOW + timedelta(days=2, hours=23)) == (0, 0)
    assert wishes.scan(db, NOW + timedelta(days=3, minutes=1)) == (0, 1)
    assert wishes.scan(db, NOW + timedelta(days=3, minutes=2)) == (0, 0)   # once
    flagged = db.wishes.find_one({"_id": old["_id"]})
    assert flagged["flagged"] is True and outbox(db, old).count("wish_flagged") == 1
    assert flagged["outbox"][-1]["data"]["flag_days"] == 3
    items = wishes.list_for(db, STAFF, {"community": "wenchang"}, now=NOW)[0]
    assert [w["_id"] for w in items] == [old["_id"], fresh["_id"]]
    assert wishes.list_for(db, STAFF, {"community": "wenchang", "flagged": True}, now=NOW)[1] == 1
    with pytest.raises(Invalid) as err:
        wishes.set_settings(db, ADMIN, "hb", {"flag_days": 0}, NOW)
    assert "flag_days" in err.value.errors
    with pytest.raises(Forbidden):
        wishes.set_settings(db, STAFF, "hb", {"flag_days": 5}, NOW)


def test_an_adopted_wish_is_never_flagged_and_an_open_one_expires_after_its_day(db):
    adopted, lapsing = posted(db), posted(db)
    wishes.adopt(db, PARTY, adopted["_id"], {}, NOW)
    day_after = periods.start_of(periods.local_date(NOW) + timedelta(days=2))
    assert wishes.scan(db, day_after - timedelta(seconds=1)) == (0, 0)
    assert wishes.scan(db, day_after) == (1, 0)
    assert db.wishes.find_one({"_id": lapsing["_id"]})["status"] == "expired"
    assert wishes.scan(db, NOW + timedelta(days=30)) == (0, 0)
    assert db.wishes.find_one({"_id": adopted["_id"]})["status"] == "adopted"
    with pytest.raises(Conflict):
        wishes.adopt(db, VOLUNTEER, lapsing["_id"], {}, NOW)


class GridAsCaller:
    """The grid's own rules behind the question the points service asks it (as the caller)."""

    def __init__(self, grid_db, auth):
        self.grid_db, self.auth = grid_db, auth

    def get_node(self, district, node_id):
        from services.grid import domain as grid
        return grid.get_node(self.grid_db, self.auth, district, node_id)


@pytest.fixture
def grid_db(open_db):
    from services.grid import domain as grid
    platform = AuthContext(user_id="admin", roles=("platform_admin",))
    database = open_db("grid")
    for code in ("hb", "qj"):
        grid.create_district(database, platform, code, code)
    grid.import_district(database, platform, "hb", {"nodes": [
        {"id": "hebian", "type": "street", "name": "河边镇", "parent": "hb"},
        {"id": "wenchang", "type": "community", "name": "文昌社区", "parent": "hebian"},
        {"id": "wenchang-g1", "type": "grid", "name": "一网格", "parent": "wenchang"}]})
    return database


def test_another_districts_community_is_not_found_to_anyone_even_its_administrator(db, grid_db):
    """A community the caller names is asked of the grid: another district's, a made-up one or a grid are
    404 before any role, to the district administrator too (who sees every community of their own)."""
    from services.points.dependencies import GridDirectory
    from .helpers import QJ_ADMIN
    posted(db)
    qj_staff = person("qj-secretary", ["community_staff"], "qingshan", "qingshan", district="qj")
    for who in (QJ_ADMIN, qj_staff, QJ_RESIDENT):
        directory = GridDirectory(GridAsCaller(grid_db, who))
        for query in ({"community": "wenchang"}, {"view": "community", "community": "wenchang"},
                      {"community": "no-such-community"}):
            with pytest.raises(NotFound) as found:
                wishes.list_for(db, who, query, now=NOW, directory=directory)
            assert found.value.errors == {"community": ["not found"]}
    hb_admin = GridDirectory(GridAsCaller(grid_db, ADMIN))
    with pytest.raises(NotFound):   # a grid is not a community
        wishes.list_for(db, ADMIN, {"community": "wenchang-g1"}, now=NOW, directory=hb_admin)
    assert wishes.list_for(db, ADMIN, {"community": "wenchang"}, now=NOW, directory=hb_admin)[1] == 1
    with pytest.raises(Forbidden):  # a resident of the community: it exists, and is not theirs to list
        wishes.list_for(db, ZHANG, {"community": "wenchang"}, now=NOW,
                        directory=GridDirectory(GridAsCaller(grid_db, ZHANG)))
