"""The district at a glance, for the console's dashboard: read-only figures from the services' RPCs.

The three rates, by community and by department, come from the petitions service's read model
(``analytics_rates``, ``analytics_rankings``: one definition, see services/petitions/analytics). Petitions
by status and level and by month are still counted here from ``petitions.list`` (at most MAX_PETITIONS),
points from ``points.points_report``. It writes nothing.
"""
from collections import Counter, defaultdict

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from civicgrid.errors import Forbidden, NotFound
from services.petitions.analytics.schemas import RankRowSchema, RatesSchema as AnalyticsRatesSchema

from ..security import BEARER, authenticated, call

blp = Blueprint("console_dashboard", __name__, url_prefix="/api/v1/districts",
                description="The district administrator's dashboard: petitions by status and level, the three rates "
                            "(响应率 · 解决率 · 满意率) by community and department, overdue counts, points by month")

OPEN = ("submitted", "in_progress", "escalated", "dispatched")
SOLVED = ("resolved", "closed")
NOT_COUNTED = ("withdrawn", "merged")  # a withdrawn or merged petition asks nothing of anyone
STATUSES = OPEN + SOLVED + NOT_COUNTED
LEVELS = ("party", "grid", "community", "department")
PAGE = 100
MAX_PETITIONS = 10000  # beyond this the figures cover the newest ones and say so (``complete`` false)


class GroupRatesSchema(RankRowSchema):
    name = fields.String(allow_none=True)


class LevelSchema(Schema):
    level = fields.String()
    open = fields.Integer()
    overdue = fields.Integer()


class DashboardMonthSchema(Schema):
    month = fields.String(metadata={"example": "2026-05"})
    filed = fields.Integer()
    solved = fields.Integer(metadata={"description": "of those filed that month, resolved or closed by now"})
    issued = fields.Integer(metadata={"description": "points issued"})
    redeemed = fields.Integer(metadata={"description": "points redeemed"})


class PointsFiguresSchema(Schema):
    issued = fields.Integer()
    redeemed = fields.Integer()
    outstanding = fields.Integer()
    issued_yuan = fields.String()
    redeemed_yuan = fields.String()
    outstanding_yuan = fields.String()


class DashboardSchema(Schema):
    district = fields.String()
    total = fields.Integer(metadata={"description": "petitions in the district"})
    complete = fields.Boolean(metadata={"description": f"false when only the newest {MAX_PETITIONS} were counted"})
    open = fields.Integer()
    overdue = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_level = fields.List(fields.Nested(LevelSchema), metadata={"description": "open petitions by level"})
    rates = fields.Nested(AnalyticsRatesSchema, metadata={
        "description": "the read model's three rates for the last 30 days (GET …/analytics/rates)"})
    by_community = fields.List(fields.Nested(GroupRatesSchema), metadata={"description": "…/analytics/rankings"})
    by_department = fields.List(fields.Nested(GroupRatesSchema))
    monthly = fields.List(fields.Nested(DashboardMonthSchema))
    points = fields.Nested(PointsFiguresSchema, allow_none=True,
                           metadata={"description": "null when the points service could not answer"})


def _petitions():
    """Every petition the caller may see, newest first, up to MAX_PETITIONS."""
    items, total, page = [], 0, 1
    while len(items) < MAX_PETITIONS:
        body = call("petitions", "list", {"page": page, "page_size": PAGE, "sort": "newest"})
        items.extend(body["items"])
        total = body["total"]
        if len(body["items"]) < PAGE or len(items) >= total:
            break
        page += 1
    return items, total


def _points(district):
    try:
        return call("points", "points_report", district, {"top": 1})
    except (NotFound, Forbidden):
        return None


def _month(iso):
    return str(iso or "")[:7]


def figures(district, petitions, total, rates, rankings, department_names, report):
    by_status = Counter(p["status"] for p in petitions)
    open_ = [p for p in petitions if p["status"] in OPEN]
    months = defaultdict(lambda: {"filed": 0, "solved": 0, "issued": 0, "redeemed": 0})
    for p in petitions:
        row = months[_month(p.get("created_at"))]
        row["filed"] += 1
        row["solved"] += p["status"] in SOLVED
    for m in (report or {}).get("monthly") or []:
        if m.get("issued") or m.get("redeemed") or m["month"] in months:
            months[m["month"]].update(issued=m.get("issued", 0), redeemed=m.get("redeemed", 0))
    return {
        "district": district,
        "total": total,
        "complete": len(petitions) >= total,
        "open": len(open_),
        "overdue": sum(1 for p in open_ if p.get("overdue")),
        "by_status": {s: by_status.get(s, 0) for s in STATUSES},
        "by_level": [{"level": lv, "open": sum(1 for p in open_ if p.get("level") == lv),
                      "overdue": sum(1 for p in open_ if p.get("level") == lv and p.get("overdue"))} for lv in LEVELS],
        "rates": rates,
        "by_community": [dict(row, name=row["id"]) for row in rankings["communities"]],
        "by_department": [dict(row, name=department_names.get(row["id"], row["id"])) for row in rankings["departments"]],
        "monthly": [dict(v, month=k) for k, v in sorted(months.items()) if k][-12:],
        "points": None if report is None else {k: report.get(k) for k in (
            "issued", "redeemed", "outstanding", "issued_yuan", "redeemed_yuan", "outstanding_yuan")},
    }


@blp.route("/<code>/dashboard", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, DashboardSchema)
@blp.alt_response(403, description="not a district administrator")
@authenticated
def dashboard(code):
    """The district's figures for its administrator (other districts: 404)."""
    # the platform administrator knows every district: refused for its role, not told "not found"
    if g.auth.district != code and not g.auth.is_platform_admin:
        raise NotFound(f"no district '{code}'")
    if not g.auth.has("district_admin"):
        raise Forbidden("the dashboard is for the district's administrators")
    petitions, total = _petitions()
    department_names = {d["id"]: d["name"] for d in call("grid", "list_departments", code)}
    rates = call("petitions", "analytics_rates", code, {})
    rankings = call("petitions", "analytics_rankings", code, {})
    return figures(code, petitions, total, rates, rankings, department_names, _points(code))
