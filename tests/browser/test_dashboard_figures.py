"""The dashboard's figures (gateway/blueprints/console_dashboard.py): petitions by status, level and month counted from
the petitions as the services give them; the three rates from the read model (services/petitions/analytics)."""
import pytest

from civicgrid.client import ApiError
from gateway.blueprints.console_dashboard import figures


def petition(status, level="grid", rating=None, overdue=False, building="b28", department=None, month="2026-05",
             taken_up=True):
    timeline = [{"action": "submit", "actor": "r1"}]
    if taken_up:
        timeline.append({"action": "claim", "actor": "g1"})
    else:
        timeline.append({"action": "escalate", "actor": "system"})  # the clock whistled it up: nobody responded
    return {"status": status, "level": level, "rating": rating, "overdue": overdue, "building_id": building,
            "department_id": department, "created_at": f"{month}-03T08:00:00Z", "timeline": timeline}


def test_figures_by_level_community_department_and_month():
    items = [petition("dispatched", level="department", department="cj", overdue=True, building="b28"),
             petition("closed", level="department", department="cj", rating=4, building="b27", month="2026-04"),
             petition("in_progress", level="grid", building="x9"),
             petition("submitted", level="party", building="b27")]
    report = {"issued": 12, "redeemed": 3, "outstanding": 9, "issued_yuan": "12.00", "redeemed_yuan": "3.00",
              "outstanding_yuan": "9.00", "monthly": [{"month": "2026-03", "issued": 0, "redeemed": 0},
                                                      {"month": "2026-04", "issued": 12, "redeemed": 3}]}
    row = {"id": "cj", "rank": 1, "overdue": 1, "response": {"rate": 0.5, "responded_in_time": 1, "had_to_respond": 2},
           "resolution": {"rate": 0.5, "resolved": 1, "resolved_in_time": 1, "due": 2},
           "satisfaction": {"rate": 1.0, "satisfied": 1, "rated": 1}}
    rankings = {"communities": [dict(row, id="wenchang")], "departments": [row]}
    rates = {"response": row["response"]}
    d = figures("hb", items, 4, rates, rankings, {"cj": "城建办"}, report)
    assert (d["total"], d["open"], d["overdue"], d["complete"]) == (4, 3, 1, True)
    assert d["by_status"]["dispatched"] == 1 and d["by_status"]["withdrawn"] == 0
    assert {row["level"]: (row["open"], row["overdue"]) for row in d["by_level"]} == {
        "party": (1, 0), "grid": (1, 0), "community": (0, 0), "department": (1, 1)}
    assert d["rates"] is rates and [c["id"] for c in d["by_community"]] == ["wenchang"]
    [cj] = d["by_department"]
    assert (cj["name"], cj["resolution"]["rate"], cj["satisfaction"]["rate"]) == ("城建办", 0.5, 1.0)
    assert d["monthly"] == [{"month": "2026-04", "filed": 1, "solved": 1, "issued": 12, "redeemed": 3},
                            {"month": "2026-05", "filed": 3, "solved": 0, "issued": 0, "redeemed": 0}]
    assert d["points"]["outstanding"] == 9
    assert figures("hb", [], 0, {}, {"communities": [], "departments": []}, {}, None)["points"] is None


def test_the_dashboard_is_the_district_administrators_own(api):
    assert api("hb-admin").get("/api/v1/districts/hb/dashboard")["district"] == "hb"
    with pytest.raises(ApiError) as other:
        api("hb-admin").get("/api/v1/districts/elsewhere/dashboard")
    assert other.value.status == 404
    with pytest.raises(ApiError) as staff:
        api("wc-secretary").get("/api/v1/districts/hb/dashboard")
    assert staff.value.status == 403
