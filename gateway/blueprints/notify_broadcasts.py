"""Broadcasts (公示 / 楼栋群通知): staff notify everyone in a building, a grid or a community."""
from flask_smorest import Blueprint

from services.notify.schemas import (BroadcastInSchema, BroadcastPageSchema, BroadcastSchema, PageSchema,
                                     RecipientPageSchema, RecipientQuerySchema)

from ..security import BEARER, authenticated, call

blp = Blueprint("broadcasts", __name__, url_prefix="/api/v1/broadcasts",
                description="Notices to everyone in a building, grid or community")


@blp.route("", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(BroadcastInSchema)
@blp.response(202, BroadcastSchema)
@authenticated
def send(broadcast):
    """Send a notice (community staff; grid workers and building leaders within their scope).

    Answers at once with ``status: sending``; the notices are written in the background.
    ``confirm_required`` asks each recipient to confirm they have read it.
    """
    return call("notify", "send_broadcast", broadcast)


@blp.route("", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(PageSchema, location="query")
@blp.response(200, BroadcastPageSchema)
@authenticated
def list_(query):
    """Broadcasts I sent or that went to people within my scope, newest first, with read and confirmed counts."""
    return call("notify", "list_broadcasts", query)


@blp.route("/<broadcast_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, BroadcastSchema)
@authenticated
def get(broadcast_id):
    return call("notify", "get_broadcast", broadcast_id)


@blp.route("/<broadcast_id>/recipients", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(RecipientQuerySchema, location="query")
@blp.response(200, RecipientPageSchema)
@authenticated
def recipients(query, broadcast_id):
    """Who has read and confirmed it: ``state`` all, read, unread, confirmed or unconfirmed."""
    return call("notify", "broadcast_recipients", broadcast_id, query)
