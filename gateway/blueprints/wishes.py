"""Micro-wishes (微心愿): residents wish; party members, volunteers and organisations adopt and fulfil them."""
from flask_smorest import Blueprint

from services.points.schemas import (AdoptIn, ConfirmIn, FulfilIn, WishIn, WishPageSchema, WishQuery, WishSchema,
                                     WishSettingsSchema, WithdrawWishIn)

from ..security import BEARER, authenticated, call

blp = Blueprint("wishes", __name__, url_prefix="/api/v1/wishes",
                description="Micro-wishes (微心愿): post, adopt (first wins), fulfil, confirm (points by rule)")
communities = Blueprint("community_wishes", __name__, url_prefix="/api/v1/communities",
                        description="A community's micro-wishes")
districts = Blueprint("district_wishes", __name__, url_prefix="/api/v1/districts",
                      description="A district's micro-wish settings")


class CommunityWishQuery(WishQuery):
    class Meta:
        exclude = ("community", "view")


@blp.route("", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(WishIn)
@blp.response(201, WishSchema)
@authenticated
def post(wish):
    """Post a wish: what, why, by when, up to 9 photo URLs. Community staff post for a resident (``resident_id``)."""
    return call("points", "post_wish", WishIn().dump(wish))


@blp.route("", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(WishQuery, location="query")
@blp.response(200, WishPageSchema)
@authenticated
def list_wishes(query):
    """``view=mine`` (default): wishes I made or posted; ``adopted``: by me or my organisation; ``community``
    (with ``community``): its staff see all, flagged first; party members, volunteers and organisations its open
    ones."""
    return call("points", "list_wishes", WishQuery().dump(query))


@communities.route("/<community>/wishes", methods=["GET"])
@communities.doc(security=BEARER)
@communities.arguments(CommunityWishQuery, location="query")
@communities.response(200, WishPageSchema)
@authenticated
def community_wishes(query, community):
    """The community's wishes: all for its staff (flagged first), the open ones for its adopters."""
    return call("points", "list_wishes", dict(CommunityWishQuery().dump(query), view="community",
                                              community=community))


@blp.route("/<wish_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, WishSchema)
@authenticated
def get_wish(wish_id):
    return call("points", "get_wish", wish_id)


@blp.route("/<wish_id>/adopt", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(AdoptIn)
@blp.response(200, WishSchema)
@blp.alt_response(409, description="adopted by someone else first, or no longer open")
@authenticated
def adopt(body, wish_id):
    """Adopt an open wish of my community, for myself or my organisation; the first adopter wins."""
    return call("points", "adopt_wish", wish_id, body)


@blp.route("/<wish_id>/fulfil", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(FulfilIn)
@blp.response(200, WishSchema)
@blp.alt_response(409, description="not adopted")
@authenticated
def fulfil(body, wish_id):
    """The adopter marks it done with a note and photos; the resident is asked to confirm."""
    return call("points", "fulfil_wish", wish_id, body)


@blp.route("/<wish_id>/confirm", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ConfirmIn)
@blp.response(200, WishSchema)
@blp.alt_response(409, description="not fulfilled, or confirmed already")
@authenticated
def confirm(body, wish_id):
    """The resident (or the community's staff for them) confirms: the adopter earns points by rule, once."""
    return call("points", "confirm_wish", wish_id, body)


@blp.route("/<wish_id>/withdraw", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(WithdrawWishIn)
@blp.response(200, WishSchema)
@blp.alt_response(409, description="adopted already")
@authenticated
def withdraw(body, wish_id):
    """Take a wish back before anyone adopts it (the resident, or staff for them)."""
    return call("points", "withdraw_wish", wish_id, body)


@districts.route("/<code>/wish-settings", methods=["GET"])
@districts.doc(security=BEARER)
@districts.response(200, WishSettingsSchema)
@authenticated
def get_settings(code):
    return call("points", "get_wish_settings", code)


@districts.route("/<code>/wish-settings", methods=["PUT"])
@districts.doc(security=BEARER)
@districts.arguments(WishSettingsSchema)
@districts.response(200, WishSettingsSchema)
@authenticated
def set_settings(settings, code):
    """Days a wish may wait unadopted before its community's staff are told (district administrators)."""
    return call("points", "set_wish_settings", code, settings)
