"""Organisations registered with a community (驻区单位, companies): they adopt micro-wishes and earn points."""
from flask_smorest import Blueprint

from services.grid.organisations import OrganisationIn, OrganisationOut, OrganisationPatch, OrganisationQuery

from ..security import BEARER, authenticated, call

blp = Blueprint("organisations", __name__, url_prefix="/api/v1/districts",
                description="Organisations registered with a community (驻区单位, companies)")


@blp.route("/<code>/organisations", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(OrganisationIn)
@blp.response(201, OrganisationOut)
@blp.alt_response(409, description="the id is taken")
@authenticated
def register(organisation, code):
    """Register an organisation with a community and name its members (users of the district); community staff
    for their community, the district's administrator for any. Its points account is ``org:<district>:<id>``."""
    return call("grid", "register_organisation", code, OrganisationIn().dump(organisation))


@blp.route("/<code>/organisations", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(OrganisationQuery, location="query")
@blp.response(200, OrganisationOut(many=True))
@authenticated
def list_organisations(query, code):
    return call("grid", "list_organisations", code, OrganisationQuery().dump(query))


@blp.route("/<code>/organisations/<organisation_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, OrganisationOut)
@authenticated
def get_organisation(code, organisation_id):
    return call("grid", "get_organisation", code, organisation_id)


@blp.route("/<code>/organisations/<organisation_id>", methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(OrganisationPatch)
@blp.response(200, OrganisationOut)
@authenticated
def update_organisation(changes, code, organisation_id):
    """Rename it, change its kind, or replace its members (they sign in again to act for it)."""
    return call("grid", "update_organisation", code, organisation_id, changes)
