"""The three rates (三率) end to end: petitions down every path over HTTP, the petitions service counting its own
events into the read model, the figures, rankings, hotspots and CSV over the API, and the rebuild command giving
the same numbers. A district of its own (安源), so other tests' petitions do not move its figures."""
import csv
import io
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.client import ApiError, Client
from civicgrid.harness import ROOT

from .conftest import PASSWORD, eventually

CODE = "ay"


def district():
    building = lambda id_, grid: {"id": id_, "type": "building", "name": id_, "parent": grid}  # noqa: E731
    user = lambda name, roles, scope=None, department=None: {  # noqa: E731
        "username": name, "password": PASSWORD, "name": name, "roles": roles, "scope": scope, "department": department}
    return {
        "nodes": [{"id": "ay-s", "type": "street", "name": "安源街道", "parent": CODE},
                  {"id": "ay-c1", "type": "community", "name": "东社区", "parent": "ay-s"},
                  {"id": "ay-c2", "type": "community", "name": "西社区", "parent": "ay-s"},
                  {"id": "ay-g1", "type": "grid", "name": "东一网格", "parent": "ay-c1"},
                  {"id": "ay-g2", "type": "grid", "name": "西一网格", "parent": "ay-c2"},
                  building("ay-b1", "ay-g1"), building("ay-b2", "ay-g1"), building("ay-b3", "ay-g2")],
        "departments": [{"id": "ay-cj", "name": "城建办", "categories": ["streetlight", "slope"]},
                        {"id": "ay-hj", "name": "环卫所", "categories": ["garbage"]}],
        "categories": [{"category": c, "name": c, "description": c, "department_id": d, "kind": "issue", "fields": []}
                       for c, d in (("streetlight", "ay-cj"), ("slope", "ay-cj"), ("garbage", "ay-hj"))],
        "users": [user("ay-r1", ["resident"], "ay-b1"), user("ay-r2", ["resident"], "ay-b3"),
                  user("ay-gw1", ["grid_worker"], "ay-g1"), user("ay-gw2", ["grid_worker"], "ay-g2"),
                  user("ay-cs1", ["community_staff"], "ay-c1"), user("ay-cs2", ["community_staff"], "ay-c2"),
                  user("ay-hj1", ["department_staff"], department="ay-hj"),
                  user("ay-admin", ["district_admin"], CODE)],
    }


@pytest.fixture(scope="module")
def people(platform, admin, districts):
    admin.post("/api/v1/districts", {"code": CODE, "name": "安源区（三率）"}, expect=201)
    admin.post(f"/api/v1/districts/{CODE}/import", district())
    anonymous = Client(platform.url)
    return {u["username"]: anonymous.login(u["username"], PASSWORD) for u in district()["users"]}


def submit(client, category, title):
    return client.post("/api/v1/petitions", {"category": category, "title": title}, expect=201)["id"]


def period(clock):
    today = (datetime.now(timezone.utc) + timedelta(seconds=clock.offset)).date()
    return {"from": (today - timedelta(days=5)).isoformat(), "to": (today + timedelta(days=2)).isoformat()}


def test_the_three_rates_end_to_end(people, users, clock, amqp_uri):
    p = people
    # A: claimed and resolved in the grid, five stars; E: a duplicate of A, merged
    a = submit(p["ay-r1"], "streetlight", "东1栋路灯不亮")
    e = submit(p["ay-r1"], "streetlight", "东1栋门口路灯也不亮")
    p["ay-gw1"].act(e, "merge", {"into": a})
    p["ay-gw1"].act(a, "claim")
    p["ay-gw1"].act(a, "resolve", {"note": "换了灯泡"})
    p["ay-r1"].act(a, "rate", {"score": 5})
    # B: whistled up unclaimed, dispatched, returned, dispatched again, accepted, resolved, two stars
    b = submit(p["ay-r1"], "garbage", "东1栋楼道堆满垃圾")
    p["ay-gw1"].act(b, "escalate", {"reason": "需要环卫清运"})
    p["ay-cs1"].act(b, "dispatch", {"department_id": "ay-hj"})
    p["ay-hj1"].act(b, "return", {"reason": "请先说明位置"})
    p["ay-cs1"].act(b, "dispatch", {})
    p["ay-hj1"].act(b, "accept")
    p["ay-hj1"].act(b, "resolve", {"note": "已清运"})
    p["ay-r1"].act(b, "rate", {"score": 2, "comment": "只清了一半"})
    # D: withdrawn; C: nobody claims it in the grid, the clock whistles it up, the community resolves it
    d = submit(p["ay-r2"], "streetlight", "西3栋路灯")
    p["ay-r2"].act(d, "withdraw")
    c = submit(p["ay-r2"], "slope", "西3栋后坡滑坡")
    clock.advance(25)
    eventually(lambda: p["ay-r2"].get(f"/api/v1/petitions/{c}")["level"] == "community", timeout=30)
    p["ay-cs2"].act(c, "claim")
    p["ay-cs2"].act(c, "resolve", {"note": "已加固"})
    p["ay-r2"].act(c, "rate", {"score": 4})

    admin, query = p["ay-admin"], period(clock)
    base = f"/api/v1/districts/{CODE}/analytics"
    expected = {
        # claim/accept limits: A claimed in time; B whistled up unclaimed, returned unaccepted, accepted in time;
        # C's passed. D withdrawn and E merged ask nothing.
        "response": {"rate": 0.4, "responded_in_time": 2, "had_to_respond": 5},
        # A and B resolved before any limit passed; C fell due when its claim limit passed, resolved since
        "resolution": {"rate": 1.0, "resolved": 3, "resolved_in_time": 2, "due": 3},
        "satisfaction": {"rate": 0.6667, "satisfied": 2, "rated": 3},
        "whistle": {"rate": 0.4, "escalated": 2, "submitted": 5},
        "overdue": {"total": 1, "claim": 1, "resolve": 0, "dispatch": 0, "accept": 0},
    }
    settled = lambda: (lambda r: {k: r[k] for k in expected} == expected and r)(admin.get(f"{base}/rates", params=query))  # noqa: E731
    rates = eventually(settled, timeout=30)
    assert (rates["counts"]["merged"], rates["counts"]["withdrawn"], rates["counts"]["returned"]) == (1, 1, 1)

    ranked = admin.get(f"{base}/rankings", params={**query, "by": "response"})
    assert [(r["id"], r["rank"], r["response"]["rate"]) for r in ranked["communities"]] == [
        ("ay-c1", 1, 0.5), ("ay-c2", 2, 0.0)]
    assert [(r["id"], r["response"]["had_to_respond"], r["satisfaction"]["rated"]) for r in ranked["departments"]] == [
        ("ay-hj", 2, 1)]
    spots = admin.get(f"{base}/hotspots", params=query)
    assert spots["by_building"][0] == {"category": "streetlight", "node": "ay-b1", "count": 2, "previous": 0, "change": 2}
    assert {(r["category"], r["node"], r["count"]) for r in spots["by_grid"]} == {
        ("streetlight", "ay-g1", 2), ("garbage", "ay-g1", 1), ("streetlight", "ay-g2", 1), ("slope", "ay-g2", 1)}
    times = admin.get(f"{base}/durations", params=query)
    assert {r["key"]: r["count"] for r in times["claim"]["by_level"]} == {"grid": 1, "department": 1, "community": 1}
    assert times["resolve"]["all"]["count"] == 3 and times["resolve"]["all"]["p90_hours"] is not None
    assert admin.get(f"{base}/whistles", params=query)["whistle"] == expected["whistle"]
    assert admin.get(f"{base}/overdue", params=query)["overdue"] == expected["overdue"]

    # the dashboard shows the same three rates (its default period, the last 30 days, holds them all)
    board = admin.get(f"/api/v1/districts/{CODE}/dashboard")
    assert {k: board["rates"][k] for k in ("response", "resolution", "satisfaction")} == {
        k: expected[k] for k in ("response", "resolution", "satisfaction")}
    _reach(p, users, base, query)
    _csv(admin, base, query)
    _rebuild(admin, base, query, rates, amqp_uri)


def _reach(p, users, base, query):
    staff = p["ay-cs2"].get(f"{base}/rates", params=query)
    assert staff["node"] == "ay-c2" and staff["satisfaction"]["rated"] == 1
    department = p["ay-hj1"].get(f"{base}/rates", params=query)
    assert department["department"] == "ay-hj" and department["response"]["had_to_respond"] == 2
    for client, params, status in ((p["ay-cs2"], {"node": "ay-c1"}, 403), (p["ay-r1"], {}, 403),
                                   (p["ay-gw2"], {"node": "ay-s"}, 403), (users["hb-admin"], {}, 404),
                                   (p["ay-hj1"], {"department": "ay-cj"}, 403)):
        with pytest.raises(ApiError) as refused:
            client.get(f"{base}/rates", params={**query, **params})
        assert refused.value.status == status, (params, refused.value.body)
    for bad, field in (({"from": "2026-05-02", "to": "2026-05-01"}, "from"), ({"to": "2026-02-30"}, "to"),
                       ({"from": "2024-01-01", "to": "2026-01-01"}, "from"), ({"format": "xls"}, "format")):
        error = p["ay-admin"].request("GET", f"{base}/rates", expect=422, params=bad)
        assert field in error["errors"], error


def _csv(admin, base, query):
    response = admin.session.get(f"{admin.base_url}{base}/rates", params={**query, "format": "csv"},
                                 headers={"Authorization": f"Bearer {admin.token}"}, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "filename*=UTF-8''analytics-rates-ay-ay-" in response.headers["Content-Disposition"]
    rows = dict(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert (rows["response.rate"], rows["response.had_to_respond"], rows["satisfaction.rated"]) == ("0.4", "5", "3")
    spots = admin.session.get(f"{admin.base_url}{base}/hotspots", params=query,
                              headers={"Authorization": f"Bearer {admin.token}", "Accept": "text/csv"}, timeout=30)
    table = list(csv.DictReader(io.StringIO(spots.content.decode("utf-8-sig"))))
    assert table[0] == {"table": "building", "category": "streetlight", "node": "ay-b1", "count": "2",
                        "previous": "0", "change": "2"}


def _rebuild(admin, base, query, fed, amqp_uri):
    """The operator's command recomputes the read model from the petitions through the running service."""
    done = subprocess.run([sys.executable, "-m", "services.petitions.analytics", "rebuild", "--district", CODE],
                          cwd=ROOT, env=dict(os.environ, AMQP_URI=amqp_uri, PYTHONPATH=ROOT),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f'"district": "{CODE}"' in done.stdout and '"petitions": 5' in done.stdout
    assert admin.get(f"{base}/rates", params=query) == fed
    [again] = admin.post(f"{base}/rebuild", {})
    assert again["petitions"] == 5
    assert admin.get(f"{base}/rates", params=query) == fed
