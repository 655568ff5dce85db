"""Claims (自主申报): a resident declares a good deed; the community's staff approve (points by rule) or reject."""
from flask_smorest import Blueprint

from services.points.schemas import ApproveIn, ClaimIn, ClaimPageSchema, ClaimQuery, ClaimSchema, RejectIn

from ..security import BEARER, authenticated, call

blp = Blueprint("claims", __name__, url_prefix="/api/v1/claims", description="Claims of good deeds (自主申报)")


@blp.route("", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ClaimIn)
@blp.response(201, ClaimSchema)
@authenticated
def submit(claim):
    """Declare a good deed: text, up to 9 photo URLs, a suggested category; it goes to my community's staff."""
    return call("points", "submit_claim", claim)


@blp.route("", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(ClaimQuery, location="query")
@blp.response(200, ClaimPageSchema)
@authenticated
def list_claims(query):
    """My claims; staff see their community's, district administrators the district's."""
    return call("points", "list_claims", ClaimQuery().dump(query))


@blp.route("/<claim_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, ClaimSchema)
@authenticated
def get_claim(claim_id):
    return call("points", "get_claim", claim_id)


@blp.route("/<claim_id>/approve", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ApproveIn)
@blp.response(200, ClaimSchema)
@blp.alt_response(409, description="decided already")
@authenticated
def approve(body, claim_id):
    """Approve (the community's staff, not their own claim): points by the rule for its category, within caps."""
    return call("points", "approve_claim", claim_id, body)


@blp.route("/<claim_id>/reject", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(RejectIn)
@blp.response(200, ClaimSchema)
@blp.alt_response(409, description="decided already")
@authenticated
def reject(body, claim_id):
    """Reject with a reason; the resident is told."""
    return call("points", "reject_claim", claim_id, body)
