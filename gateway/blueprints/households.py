"""Households, care levels (红橙绿) and visits (入户走访); a district's visit intervals.

A household id is its district's own (the import names it), so these paths take the
caller's district from the token; the platform's administrator, who has none, adds
``?district=<code>``.
"""
from flask import g, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from civicgrid.errors import Invalid
from services.grid.care_schemas import (CareLevelIn, CareSettingsIn, CareSettingsOut, HouseholdDetailOut,
                                        HouseholdPageOut, HouseholdQuery, VisitIn, VisitOut, VisitPageOut,
                                        VisitQuery)

from ..security import BEARER, authenticated, call

blp = Blueprint("households", __name__, url_prefix="/api/v1/households",
                description="Households, their care level (红橙绿) and visits (入户走访)")
settings = Blueprint("care_settings", __name__, url_prefix="/api/v1/districts",
                     description="Days between visits for each care level")

DISTRICT = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32), metadata={
    "description": "the platform administrator's district; everyone else's comes from their token"})


class ListQuery(HouseholdQuery):
    district = DISTRICT


class PageQuery(VisitQuery):
    district = DISTRICT


def _district(explicit=None):
    district = explicit or request.args.get("district") or g.auth.district
    if not district:
        raise Invalid("name the district", {"district": ["required: ?district=<code>"]})
    return district


@blp.route("", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(ListQuery, location="query")
@blp.response(200, HouseholdPageOut)
@authenticated
def list_(query):
    """The households in my area; ``queue=mine`` is a grid worker's visits, overdue first, then by due day."""
    district = _district(query.pop("district", None))
    return call("grid", "list_households", district, HouseholdQuery().dump(query))


@blp.route("/<household_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, HouseholdDetailOut)
@authenticated
def get(household_id):
    """A household: members, its care level with the history of changes, its latest visits."""
    return call("grid", "get_household", _district(), household_id)


@blp.route("/<household_id>/care-level", methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(CareLevelIn)
@blp.response(200, HouseholdDetailOut)
@blp.alt_response(409, description="someone changed it meanwhile")
@authenticated
def set_care_level(change, household_id):
    """Set the level with the reason (grid workers and leaders, community staff, the district's administrator)."""
    return call("grid", "set_care_level", _district(), household_id, change)


@blp.route("/<household_id>/visits", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(PageQuery, location="query")
@blp.response(200, VisitPageOut)
@authenticated
def visits(query, household_id):
    """Every visit, the latest first."""
    district = _district(query.pop("district", None))
    return call("grid", "list_visits", district, household_id, query)


@blp.route("/<household_id>/visits", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(VisitIn)
@blp.response(201, VisitOut)
@authenticated
def record_visit(visit, household_id):
    """Log a visit: its day, notes and needs found; ``petition`` files one for the household on the spot (代办)."""
    return call("grid", "record_visit", _district(), household_id, VisitIn().dump(visit))


@settings.route("/<code>/care-settings", methods=["GET"])
@settings.doc(security=BEARER)
@settings.response(200, CareSettingsOut)
@authenticated
def get_care_settings(code):
    """Days between visits: red, orange, green (defaults 7, 30, 90)."""
    return call("grid", "get_care_settings", code)


@settings.route("/<code>/care-settings", methods=["PUT"])
@settings.doc(security=BEARER)
@settings.arguments(CareSettingsIn)
@settings.response(200, CareSettingsOut)
@authenticated
def set_care_settings(changes, code):
    """Change some intervals (district admin); red ≤ orange ≤ green. Every due day follows at once."""
    return call("grid", "set_care_settings", code, changes)
