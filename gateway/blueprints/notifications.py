"""My inbox (站内信) and my notification preferences."""
from flask_smorest import Blueprint

from services.notify.schemas import (InboxFilterSchema, InboxQuerySchema, InboxSchema, MarkedSchema,
                                     NotificationSchema, PreferencesInSchema, PreferencesSchema, RuleSchema,
                                     UnreadSchema)

from ..security import BEARER, authenticated, call

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="In-app notifications, their read and confirmed state, and preferences")


@blp.route("", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(InboxQuerySchema, location="query")
@blp.response(200, InboxSchema)
@authenticated
def inbox(query):
    """My notices, newest first; filter by read, category, type, petition, broadcast, confirm_required."""
    page, page_size = query.pop("page"), query.pop("page_size")
    return call("notify", "inbox", page, page_size, query)


@blp.route("/unread-count", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, UnreadSchema)
@authenticated
def unread_count():
    """How many notices I have not read, in all and by category."""
    return call("notify", "unread_count")


@blp.route("/read-all", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(InboxFilterSchema)
@blp.response(200, MarkedSchema)
@authenticated
def mark_all_read(filters):
    """Mark all my notices read, or those of one category, type, petition or broadcast."""
    return call("notify", "mark_all_read", filters)


@blp.route("/preferences", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, PreferencesSchema)
@authenticated
def my_preferences():
    """My locale, quiet hours, contacts, and the channels of each category (critical ones are fixed)."""
    return call("notify", "my_preferences")


@blp.route("/preferences", methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(PreferencesInSchema)
@blp.response(200, PreferencesSchema)
@authenticated
def set_my_preferences(changes):
    """Change some of my preferences; keys left out stay as they are. The inbox is always on."""
    return call("notify", "set_my_preferences", changes)


@blp.route("/rules", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, RuleSchema(many=True))
@authenticated
def rules():
    """Who hears what: the recipient table, row by row, each with the seed practice it carries out."""
    return call("notify", "recipient_rules")


@blp.route("/<notification_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, NotificationSchema)
@authenticated
def get(notification_id):
    return call("notify", "get_notification", notification_id)


@blp.route("/<notification_id>/read", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, NotificationSchema)
@authenticated
def mark_read(notification_id):
    return call("notify", "mark_read", notification_id)


@blp.route("/<notification_id>/confirm", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, NotificationSchema)
@blp.alt_response(409, description="the notice asks for no confirmation")
@authenticated
def confirm(notification_id):
    """Confirm a broadcast that asks for it (请确认已阅); confirming also marks it read."""
    return call("notify", "confirm", notification_id)
