"""Micro-wishes (微心愿) end to end over HTTP: a resident wishes, a party member and a 驻区单位 adopt (first
wins), fulfil, the resident confirms, points by rule (the organisation's to its own account), the ledger
balances, everyone hears, and a wish nobody adopts is flagged to the community's staff."""
import threading
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.client import ApiError, Client

from .conftest import PASSWORD, balance, eventually

LOCAL = timezone(timedelta(hours=8))
UNIT = {"id": "e2e-dianli", "name": "河边供电所", "kind": "unit", "community": "wenchang",
        "members": ["e2e-dianli-zhou"]}


def local_day(clock, days=0):
    """A local date as the platform sees it (its clock may have been moved by earlier tests)."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=clock.offset) + timedelta(days=days)
    return moment.astimezone(LOCAL).date().isoformat()


def wish_notices(client, type_, wish_id):
    items = client.get("/api/v1/notifications", params={"page_size": 100, "type": type_})["items"]
    return [n for n in items if (n.get("data") or {}).get("wish_id") == wish_id]


def status(client, method, path, body=None):
    response = client.session.request(method, client.base_url + path, json=body, timeout=30,
                                      headers={"Authorization": f"Bearer {client.token}"})
    return response.status_code, response.json()


@pytest.fixture(scope="module")
def people(platform, users):
    """A volunteer and a 驻区单位 with one member, set up the way a district would."""
    users["hb-admin"].post("/api/v1/districts/hb/import", {"users": [
        {"username": "e2e-volunteer", "password": PASSWORD, "name": "志愿者小何", "roles": ["volunteer", "resident"],
         "scope": "b27"},
        {"username": "e2e-dianli-zhou", "password": PASSWORD, "name": "供电所周师傅", "roles": ["organisation_member"]},
    ]})
    code, body = status(users["wc-secretary"], "POST", "/api/v1/districts/hb/organisations", dict(UNIT, kind="club"))
    assert code == 422 and "kind" in body["errors"]
    unit = users["wc-secretary"].post("/api/v1/districts/hb/organisations", UNIT, expect=201)
    assert unit["account"] == "org:hb:e2e-dianli"
    code, _ = status(users["wenxiaohua"], "POST", "/api/v1/districts/hb/organisations", dict(UNIT, id="e2e-x"))
    assert code == 403
    anonymous = Client(platform.url)
    return dict(users, volunteer=anonymous.login("e2e-volunteer", PASSWORD),
                unit=anonymous.login("e2e-dianli-zhou", PASSWORD))


def post_wish(client, clock, **body):
    wish = {"title": "想要一个新书包", "reason": "孙子上初中了，旧书包坏了", "wanted_by": local_day(clock, 5),
            "media": ["https://img.example/old-bag.jpg"]}
    return client.post("/api/v1/wishes", dict(wish, **body), expect=201)


def test_a_wish_from_posting_to_confirmation_for_a_party_member_and_an_organisation(people, clock):
    resident, staff, admin = people["wenxiaohua"], people["wc-secretary"], people["hb-admin"]
    unit, volunteer = people["unit"], people["volunteer"]
    assert unit.get("/api/v1/auth/me")["organisation"] == "e2e-dianli"
    rules = admin.get("/api/v1/districts/hb/point-rules")
    assert (rules["wish_fulfilled"], rules["wish_fulfilled_organisation"]) == (5, 10)
    admin.put("/api/v1/districts/hb/point-rules", {"wish_fulfilled_organisation": 12})
    try:
        for_party = post_wish(resident, clock)
        for_unit = post_wish(resident, clock, title="楼下装电动车充电桩", media=[])
        assert (for_party["status"], for_party["community"], for_party["building_id"]) == ("open", "wenchang", "b28")

        # who sees the community's open wishes
        board = people["wc-party1"].get("/api/v1/communities/wenchang/wishes")["items"]
        assert {for_party["id"], for_unit["id"]} <= {w["id"] for w in board}
        assert for_unit["id"] in {w["id"] for w in unit.get("/api/v1/wishes",
                                                            params={"community": "wenchang", "status": "open"})["items"]}
        assert status(people["zhangyiqin"], "GET", "/api/v1/communities/wenchang/wishes")[0] == 403
        assert status(people["qj-resident"], "GET", "/api/v1/communities/wenchang/wishes")[0] == 404
        assert status(people["qj-resident"], "GET", f"/api/v1/wishes/{for_party['id']}")[0] == 404
        assert status(people["qj-leader"], "POST", f"/api/v1/wishes/{for_party['id']}/adopt", {})[0] == 404
        assert status(people["zhangyiqin"], "POST", f"/api/v1/wishes/{for_party['id']}/adopt", {})[0] == 403
        code, body = status(unit, "POST", f"/api/v1/wishes/{for_party['id']}/adopt", {"adopter": "club"})
        assert code == 422 and "adopter" in body["errors"]

        # two party members at once: one 200, one 409
        results, barrier = {}, threading.Barrier(2)

        def adopt(name):
            barrier.wait()
            results[name] = status(people[name], "POST", f"/api/v1/wishes/{for_party['id']}/adopt", {})

        threads = [threading.Thread(target=adopt, args=(n,)) for n in ("wc-party1", "wc-party2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(code for code, _ in results.values()) == [200, 409]
        winner = next(name for name, (code, _) in results.items() if code == 200)
        loser = next(body for code, body in results.values() if code == 409)
        assert loser["errors"] == {"status": ["adopted"]}

        adopted = unit.post(f"/api/v1/wishes/{for_unit['id']}/adopt", {})
        assert (adopted["adopter"]["kind"], adopted["adopter"]["account"]) == ("organisation", "org:hb:e2e-dianli")
        assert status(volunteer, "POST", f"/api/v1/wishes/{for_unit['id']}/adopt", {})[0] == 409
        eventually(lambda: wish_notices(resident, "wish_adopted", for_unit["id"]))
        assert "河边供电所" in wish_notices(resident, "wish_adopted", for_unit["id"])[0]["body"]

        # fulfil: the adopter only, with a note
        code, body = status(people[winner], "POST", f"/api/v1/wishes/{for_party['id']}/fulfil", {"media": []})
        assert code == 422 and "note" in body["errors"]
        assert status(volunteer, "POST", f"/api/v1/wishes/{for_party['id']}/fulfil", {"note": "x"})[0] == 404
        people[winner].post(f"/api/v1/wishes/{for_party['id']}/fulfil",
                            {"note": "新书包已送到家", "media": ["https://img.example/new-bag.jpg"]})
        unit.post(f"/api/v1/wishes/{for_unit['id']}/fulfil", {"note": "两个充电桩已装好"})
        eventually(lambda: wish_notices(resident, "wish_fulfilled", for_party["id"]))

        # confirm: the resident (or staff for them); the points once, by the rule in force
        before = balance(people[winner])
        confirmed = resident.post(f"/api/v1/wishes/{for_party['id']}/confirm", {"note": "谢谢党员同志"})
        assert (confirmed["status"], confirmed["points"]) == ("confirmed", 5)
        assert status(resident, "POST", f"/api/v1/wishes/{for_party['id']}/confirm", {})[0] == 409
        assert balance(people[winner]) == before + 5
        by_staff = staff.post(f"/api/v1/wishes/{for_unit['id']}/confirm", {"note": "电话回访，居民已确认"})
        assert (by_staff["points"], by_staff["confirmation"]["on_behalf"]) == (12, True)

        statement = unit.get("/api/v1/points/accounts/org:hb:e2e-dianli/statement")
        assert (statement["kind"], statement["owner"], statement["closing_balance"]) == ("org", "河边供电所", 12)
        assert [e["transaction_id"] for e in statement["entries"]] == [f"wish:{for_unit['id']}"]
        assert staff.get("/api/v1/points/accounts/org:hb:e2e-dianli/statement")["closing_balance"] == 12
        assert status(people["wc-party1"], "GET", "/api/v1/points/accounts/org:hb:e2e-dianli/statement")[0] == 404
        check = admin.get("/api/v1/districts/hb/ledger/check")
        assert check["balanced"] is True and check["sum"] == 0

        eventually(lambda: wish_notices(people[winner], "wish_confirmed", for_party["id"]))
        assert "5积分" in wish_notices(people[winner], "wish_confirmed", for_party["id"])[0]["body"]
        eventually(lambda: wish_notices(unit, "wish_confirmed", for_unit["id"]))
        assert "12积分已记入河边供电所账户" in wish_notices(unit, "wish_confirmed", for_unit["id"])[0]["body"]

        mine = resident.get("/api/v1/wishes")["items"]
        assert {for_party["id"]: "confirmed", for_unit["id"]: "confirmed"}.items() <= \
            {w["id"]: w["status"] for w in mine}.items()
        assert [w["id"] for w in unit.get("/api/v1/wishes", params={"view": "adopted"})["items"]] == [for_unit["id"]]
    finally:
        admin.put("/api/v1/districts/hb/point-rules", {"wish_fulfilled_organisation": 10})


def test_bad_wishes_are_refused_by_name_and_staff_post_for_a_resident(people, clock):
    resident, staff = people["wenxiaohua"], people["wc-secretary"]
    for body, field in (({"wanted_by": "2001-01-01"}, "wanted_by"), ({"title": ""}, "title"),
                        ({"media": [f"https://img.example/{i}.jpg" for i in range(10)]}, "media"),
                        ({"status": "confirmed"}, "status")):
        wish = {"title": "想要一台收音机", "reason": "眼睛不好", "wanted_by": local_day(clock, 3)}
        code, answer = status(resident, "POST", "/api/v1/wishes", dict(wish, **body))
        assert code == 422 and field in answer["errors"], (body, answer)
    posted = post_wish(staff, clock, title="想要一台收音机", resident_id="huxingyou")
    assert (posted["resident_id"], posted["on_behalf"], posted["posted_by"]["id"]) == \
        ("huxingyou", True, "wc-secretary")
    assert posted["id"] in [w["id"] for w in people["huxingyou"].get("/api/v1/wishes")["items"]]
    code, answer = status(staff, "POST", "/api/v1/wishes", {"title": "x", "reason": "y",
                                                            "wanted_by": local_day(clock, 3),
                                                            "resident_id": "qj-resident"})
    assert code == 422 and "resident_id" in answer["errors"]
    withdrawn = people["huxingyou"].post(f"/api/v1/wishes/{posted['id']}/withdraw", {"reason": "儿子买了"})
    assert withdrawn["status"] == "withdrawn"


def test_a_wish_nobody_adopts_is_flagged_to_the_communitys_staff_once(people, clock):
    resident, staff, admin = people["zhangyiqin"], people["wc-secretary"], people["hb-admin"]
    assert admin.put("/api/v1/districts/hb/wish-settings", {"flag_days": 2}) == {"flag_days": 2}
    code, answer = status(admin, "PUT", "/api/v1/districts/hb/wish-settings", {"flag_days": 0})
    assert code == 422 and "flag_days" in answer["errors"]
    assert status(staff, "PUT", "/api/v1/districts/hb/wish-settings", {"flag_days": 3})[0] == 403
    try:
        waiting = post_wish(resident, clock, title="想请人陪我去医院复查", wanted_by=local_day(clock, 30))
        clock.advance(49)
        eventually(lambda: wish_notices(staff, "wish_flagged", waiting["id"]))
        listed = staff.get("/api/v1/communities/wenchang/wishes")["items"]
        assert (listed[0]["id"], listed[0]["flagged"]) == (waiting["id"], True)
        clock.advance(1)
        eventually(lambda: resident.get(f"/api/v1/wishes/{waiting['id']}")["flagged"])
        assert len(wish_notices(staff, "wish_flagged", waiting["id"])) == 1
        assert people["wc-party1"].get("/api/v1/wishes/" + waiting["id"])["status"] == "open"
    finally:
        admin.put("/api/v1/districts/hb/wish-settings", {"flag_days": 7})


def test_an_organisations_member_list_changes_who_acts_for_it(people):
    staff = people["wc-secretary"]
    with pytest.raises(ApiError) as err:
        staff.put(f"/api/v1/districts/hb/organisations/{UNIT['id']}", {"members": ["nobody-here"]})
    assert err.value.status == 422 and "members[0]" in err.value.body["errors"]
    listed = staff.get("/api/v1/districts/hb/organisations", params={"community": "wenchang"})
    assert UNIT["id"] in [o["id"] for o in listed]
    assert status(people["qj-resident"], "GET", f"/api/v1/districts/hb/organisations/{UNIT['id']}")[0] == 404
