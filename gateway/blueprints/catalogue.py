"""A district's catalogue (categories as Open311-style service definitions) and its party members (党员报到)."""
from flask_smorest import Blueprint

from services.grid.schemas import CategoryDefinitionIn, CategoryOut, PartyMemberIn, PartyMemberOut

from ..security import BEARER, authenticated, call

blp = Blueprint("catalogue", __name__, url_prefix="/api/v1/districts",
                description="Categories (service definitions) and party members")


@blp.route("/<code>/categories", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, CategoryOut(many=True))
@authenticated
def categories(code):
    """Every category of the district with its department, kind and extra fields, by code."""
    return call("grid", "list_categories", code)


@blp.route("/<code>/categories/<category>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, CategoryOut)
@blp.alt_response(404, description="no such category in this district")
@authenticated
def get_category(code, category):
    return call("grid", "get_category", code, category)


@blp.route("/<code>/categories/<category>", methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(CategoryDefinitionIn)
@blp.response(200, CategoryOut)
@blp.alt_response(403, description="only the district's administrator or the platform")
@authenticated
def put_category(definition, code, category):
    """Create or replace a category's definition (district administrator)."""
    return call("grid", "put_category", code, category, definition)


@blp.route("/<code>/party-members", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(PartyMemberIn)
@blp.response(200, PartyMemberOut)
@blp.alt_response(403, description="community staff of that community, the district's administrator "
                                   "or the platform only")
@authenticated
def register_party_member(member, code):
    """Register a user of the district as a party member with a community (党员报到);
    the community defaults to the user's own."""
    return call("grid", "register_party_member", code, member["username"], member["community"])
