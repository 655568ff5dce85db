"""A district's notifications: templates, settings, webhooks, deliveries, people's preferences."""
from flask_smorest import Blueprint

from services.notify.schemas import (DeliveryPageSchema, DeliveryQuerySchema, DeliverySchema, PreferencesInSchema,
                                     PreferencesSchema, SettingsSchema, TemplateInSchema, TemplateQuerySchema,
                                     TemplateSchema, WebhookInSchema, WebhookSchema)

from ..security import BEARER, authenticated, call

blp = Blueprint("notify_districts", __name__, url_prefix="/api/v1/districts",
                description="A district's notification templates, settings, webhooks and deliveries")

TEMPLATE = "/<code>/notification-templates/<event_type>/<audience>/<locale>"


@blp.route("/<code>/notification-templates", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(TemplateQuerySchema, location="query")
@blp.response(200, TemplateSchema(many=True))
@authenticated
def templates(query, code):
    """Every notice's text per locale (zh-CN, en): the district's own, or the default, with its fields."""
    return call("notify", "list_templates", code, query)


@blp.route(TEMPLATE, methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(TemplateInSchema)
@blp.response(200, TemplateSchema)
@authenticated
def put_template(template, code, event_type, audience, locale):
    """The district's own text for one notice (district admin); ``{field}`` placeholders, checked when saved."""
    return call("notify", "put_template", code, event_type, audience, locale, template)


@blp.route(TEMPLATE, methods=["DELETE"])
@blp.doc(security=BEARER)
@blp.response(200, TemplateSchema)
@authenticated
def delete_template(code, event_type, audience, locale):
    """Back to the default text."""
    return call("notify", "delete_template", code, event_type, audience, locale)


@blp.route("/<code>/notification-settings", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, SettingsSchema)
@authenticated
def settings(code):
    return call("notify", "get_settings", code)


@blp.route("/<code>/notification-settings", methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(SettingsSchema)
@blp.response(200, SettingsSchema)
@authenticated
def set_settings(changes, code):
    """Timezone (default Asia/Shanghai), default locale, digest hour (default 8) and whether to send digests."""
    return call("notify", "set_settings", code, changes)


@blp.route("/<code>/webhooks", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, WebhookSchema(many=True))
@authenticated
def webhooks(code):
    return call("notify", "list_webhooks", code)


@blp.route("/<code>/webhooks", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(WebhookInSchema)
@blp.response(201, WebhookSchema)
@authenticated
def create_webhook(payload, code):
    """A district's (``department_id`` null) or a department's webhook; the answer shows its secret once."""
    return call("notify", "create_webhook", code, payload)


@blp.route("/<code>/webhooks/<webhook_id>", methods=["DELETE"])
@blp.doc(security=BEARER)
@blp.response(200, WebhookSchema)
@authenticated
def delete_webhook(code, webhook_id):
    return call("notify", "delete_webhook", code, webhook_id)


@blp.route("/<code>/webhooks/<webhook_id>/rotate-secret", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, WebhookSchema)
@authenticated
def rotate_webhook_secret(code, webhook_id):
    """A new secret, shown once; requests are signed with it from now on."""
    return call("notify", "rotate_webhook_secret", code, webhook_id)


@blp.route("/<code>/deliveries", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliveryPageSchema)
@authenticated
def deliveries(query, code):
    """Deliveries on webhook, SMS and WeChat with their attempts; ``status=failed`` is the operator's list."""
    return call("notify", "list_deliveries", code, query)


@blp.route("/<code>/deliveries/<delivery_id>/retry", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, DeliverySchema)
@blp.alt_response(409, description="the delivery has not failed")
@authenticated
def retry_delivery(code, delivery_id):
    """Try a failed delivery again: a new round of attempts, due now."""
    return call("notify", "retry_delivery", code, delivery_id)


@blp.route("/<code>/users/<user_id>/notification-preferences", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, PreferencesSchema)
@authenticated
def user_preferences(code, user_id):
    """A person's preferences, as community staff (their community) or district admins see them."""
    return call("notify", "user_preferences", code, user_id)


@blp.route("/<code>/users/<user_id>/notification-preferences", methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(PreferencesInSchema)
@blp.response(200, PreferencesSchema)
@authenticated
def set_user_preferences(changes, code, user_id):
    """Staff set a person's preferences (an elderly resident's phone for SMS, registered at the desk)."""
    return call("notify", "set_user_preferences", code, user_id, changes)
