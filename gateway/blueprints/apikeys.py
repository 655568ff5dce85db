"""Open311 API keys: a district administrator issues one per application, lists and revokes them."""
from flask_smorest import Blueprint

from services.grid.apikeys import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut

from ..security import BEARER, authenticated, call

blp = Blueprint("apikeys", __name__, url_prefix="/api/v1/districts",
                description="Open311 API keys, one per application (311 hotline, mini-program, civic app)")


@blp.route("/<code>/api-keys", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ApiKeyIn)
@blp.response(201, ApiKeyCreatedOut)
@blp.alt_response(403, description="only the district's administrator or the platform")
@authenticated
def create(application, code):
    """Issue an API key for an application; the key is in this answer only (the platform keeps its hash).

    The application files Open311 requests (POST /open311/v2/requests) in this district only.
    """
    return call("grid", "create_api_key", code, application)


@blp.route("/<code>/api-keys", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, ApiKeyOut(many=True))
@blp.alt_response(403, description="only the district's administrator or the platform")
@authenticated
def list_(code):
    """The district's API keys, revoked ones too, without the keys themselves."""
    return call("grid", "list_api_keys", code)


@blp.route("/<code>/api-keys/<key_id>", methods=["DELETE"])
@blp.doc(security=BEARER)
@blp.response(200, ApiKeyOut)
@blp.alt_response(404, description="no such key in this district")
@authenticated
def revoke(code, key_id):
    """Revoke a key for good: requests signed with it are refused (403) from now on."""
    return call("grid", "revoke_api_key", code, key_id)
