"""My inbox."""
from flask_smorest import Blueprint

from services.notify.schemas import InboxSchema, NotificationSchema
from services.notify.schemas import PageSchema as PageQuerySchema

from ..security import BEARER, authenticated, call

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="In-app notifications")


@blp.route("", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, InboxSchema)
@authenticated
def inbox(query):
    return call("notify", "inbox", query["page"], query["page_size"])


@blp.route("/<notification_id>/read", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, NotificationSchema)
@authenticated
def mark_read(notification_id):
    return call("notify", "mark_read", notification_id)
