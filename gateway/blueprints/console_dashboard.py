"""The district at a glance, for the console's dashboard: read-only figures computed from the services' RPCs.

No service keeps these figures, so the gateway counts them from what the district administrator may see
(petitions through ``petitions.list``, communities through ``grid.locate_building``, points through
``points.points_report``) on each request. It writes nothing.
"""
from collections import Counter, defaultdict

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from civicgrid.errors import Forbidden, NotFound

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


class RatesSchema(Schema):
    counted = fields.Integer(metadata={"description": "petitions counted (not withdrawn or merged)"})
    responded = fields.Integer(metadata={"description": "taken up by a person (claimed, escalated, dispatched…)"})
    solved = fields.Integer(metadata={"description": "resolved or closed"})
    rated = fields.Integer()
    satisfied = fields.Integer(metadata={"description": "rated 4 or 5 stars"})
    overdue = fields.Integer(metadata={"description": "open and past their time limit"})
    response_rate = fields.Float(allow_none=True, metadata={"description": "responded / counted, 0–1"})
    resolution_rate = fields.Float(allow_none=True, metadata={"description": "solved / counted, 0–1"})
    satisfaction_rate = fields.Float(allow_none=True, metadata={"description": "satisfied / rated, 0–1"})


class GroupRatesSchema(RatesSchema):
    id = fields.String(allow_none=True, metadata={"description": "community or department id (null: unknown)"})
    name = fields.String(allow_none=True)


class LevelSchema(Schema):
    level = fields.String()
    open = fields.Integer()
    overdue = fields.Integer()


class MonthSchema(Schema):
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
    rates = fields.Nested(RatesSchema)
    by_community = fields.List(fields.Nested(GroupRatesSchema))
    by_department = fields.List(fields.Nested(GroupRatesSchema))
    monthly = fields.List(fields.Nested(MonthSchema))
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


def _responded(p):
    return any(e.get("action") not in ("submit", "overdue") and e.get("actor") != "system"
               for e in p.get("timeline") or [])


def rates(petitions):
    counted = [p for p in petitions if p["status"] not in NOT_COUNTED]
    rated = [p for p in counted if p.get("rating")]
    figures = {
        "counted": len(counted),
        "responded": sum(1 for p in counted if _responded(p)),
        "solved": sum(1 for p in counted if p["status"] in SOLVED),
        "rated": len(rated),
        "satisfied": sum(1 for p in rated if p["rating"] >= 4),
        "overdue": sum(1 for p in counted if p["status"] in OPEN and p.get("overdue")),
    }
    share = (lambda a, b: round(a / b, 4) if b else None)
    figures.update(response_rate=share(figures["responded"], figures["counted"]),
                   resolution_rate=share(figures["solved"], figures["counted"]),
                   satisfaction_rate=share(figures["satisfied"], figures["rated"]))
    return figures


def _communities(district, petitions):
    """building id -> community id, asking the grid once per building."""
    out = {}
    for building in {p.get("building_id") for p in petitions if p.get("building_id")}:
        try:
            out[building] = call("grid", "locate_building", district, building).get("community")
        except NotFound:
            out[building] = None
    return out


def _grouped(petitions, key, names):
    groups = defaultdict(list)
    for p in petitions:
        groups[key(p)].append(p)
    rows = [dict(rates(items), id=gid, name=names.get(gid, gid)) for gid, items in groups.items()]
    return sorted(rows, key=lambda r: (r["id"] is None, -r["counted"], r["id"] or ""))


def _points(district):
    try:
        return call("points", "points_report", district, {"top": 1})
    except (NotFound, Forbidden):
        return None


def _month(iso):
    return str(iso or "")[:7]


def figures(district, petitions, total, community_of, department_names, report):
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
        "rates": rates(petitions),
        "by_community": _grouped(petitions, lambda p: community_of.get(p.get("building_id")), {}),
        "by_department": _grouped([p for p in petitions if p.get("department_id")], lambda p: p["department_id"],
                                  department_names),
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
    return figures(code, petitions, total, _communities(code, petitions), department_names, _points(code))
