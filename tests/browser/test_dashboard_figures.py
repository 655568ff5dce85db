"""The dashboard's figures (gateway/blueprints/console_dashboard.py), counted from petitions as the services give them."""
import pytest

from civicgrid.client import ApiError
from gateway.blueprints.console_dashboard import figures, rates


def petition(status, level="grid", rating=None, overdue=False, building="b28", department=None, month="2026-05",
             taken_up=True):
    timeline = [{"action": "submit", "actor": "r1"}]
    if taken_up:
        timeline.append({"action": "claim", "actor": "g1"})
    else:
        timeline.append({"action": "escalate", "actor": "system"})  # the clock whistled it up: nobody responded
    return {"status": status, "level": level, "rating": rating, "overdue": overdue, "building_id": building,
            "department_id": department, "created_at": f"{month}-03T08:00:00Z", "timeline": timeline}


def test_the_three_rates_leave_out_withdrawn_and_merged_petitions():
    items = [petition("closed", rating=5), petition("closed", rating=2), petition("resolved"),
             petition("submitted", taken_up=False, overdue=True), petition("withdrawn"), petition("merged")]
    r = rates(items)
    assert (r["counted"], r["responded"], r["solved"], r["rated"], r["satisfied"], r["overdue"]) == (4, 3, 3, 2, 1, 1)
    assert (r["response_rate"], r["resolution_rate"], r["satisfaction_rate"]) == (0.75, 0.75, 0.5)
    assert rates([])["response_rate"] is None


def test_figures_by_level_community_department_and_month():
    items = [petition("dispatched", level="department", department="cj", overdue=True, building="b28"),
             petition("closed", level="department", department="cj", rating=4, building="b27", month="2026-04"),
             petition("in_progress", level="grid", building="x9"),
             petition("submitted", level="party", building="b27")]
    report = {"issued": 12, "redeemed": 3, "outstanding": 9, "issued_yuan": "12.00", "redeemed_yuan": "3.00",
              "outstanding_yuan": "9.00", "monthly": [{"month": "2026-03", "issued": 0, "redeemed": 0},
                                                      {"month": "2026-04", "issued": 12, "redeemed": 3}]}
    d = figures("hb", items, 4, {"b28": "wenchang", "b27": "wenchang", "x9": None}, {"cj": "城建办"}, report)
    assert (d["total"], d["open"], d["overdue"], d["complete"]) == (4, 3, 1, True)
    assert d["by_status"]["dispatched"] == 1 and d["by_status"]["withdrawn"] == 0
    assert {row["level"]: (row["open"], row["overdue"]) for row in d["by_level"]} == {
        "party": (1, 0), "grid": (1, 0), "community": (0, 0), "department": (1, 1)}
    assert [(c["id"], c["counted"]) for c in d["by_community"]] == [("wenchang", 3), (None, 1)]
    [cj] = d["by_department"]
    assert (cj["name"], cj["counted"], cj["resolution_rate"], cj["satisfaction_rate"]) == ("城建办", 2, 0.5, 1.0)
    assert d["monthly"] == [{"month": "2026-04", "filed": 1, "solved": 1, "issued": 12, "redeemed": 3},
                            {"month": "2026-05", "filed": 3, "solved": 0, "issued": 0, "redeemed": 0}]
    assert d["points"]["outstanding"] == 9
    assert figures("hb", [], 0, {}, {}, None)["points"] is None


def test_the_dashboard_is_the_district_administrators_own(api):
    assert api("hb-admin").get("/api/v1/districts/hb/dashboard")["district"] == "hb"
    with pytest.raises(ApiError) as other:
        api("hb-admin").get("/api/v1/districts/elsewhere/dashboard")
    assert other.value.status == 404
    with pytest.raises(ApiError) as staff:
        api("wc-secretary").get("/api/v1/districts/hb/dashboard")
    assert staff.value.status == 403
