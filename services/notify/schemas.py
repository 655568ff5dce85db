"""What the notify service accepts and answers at its RPC boundary (the gateway reuses them)."""
from marshmallow import Schema, ValidationError, fields, validate

from .preferences import CATEGORIES, CHANNELS
from .templates import LOCALES

ID = validate.Length(min=1, max=64)


def not_blank(text):
    """A notice people read must say something: spaces alone are refused like an empty text."""
    if not text.strip():
        raise ValidationError("must not be blank")


class PageSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))  # a skip MongoDB can hold
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class InboxQuerySchema(PageSchema):
    read = fields.Boolean(metadata={"description": "only read (true) or unread (false) notices"})
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    type = fields.String(validate=validate.Length(min=1, max=64),
                         metadata={"description": "event type, or broadcast, or digest"})
    petition_id = fields.String(validate=ID)
    broadcast_id = fields.String(validate=ID)
    confirm_required = fields.Boolean(metadata={"description": "only notices that ask to be confirmed"})


class InboxFilterSchema(Schema):
    """What mark-all-read may be narrowed to."""
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    type = fields.String(validate=validate.Length(min=1, max=64))
    petition_id = fields.String(validate=ID)
    broadcast_id = fields.String(validate=ID)


class MarkReadSchema(Schema):
    notification_id = fields.String(required=True, validate=ID)


class NotificationSchema(Schema):
    id = fields.String()
    type = fields.String()
    category = fields.String(allow_none=True)
    critical = fields.Boolean()
    title = fields.String()
    body = fields.String()
    locale = fields.String(allow_none=True)
    petition_id = fields.String(allow_none=True)
    broadcast_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "sent, or read"})
    read = fields.Boolean()
    read_at = fields.String(allow_none=True)
    confirm_required = fields.Boolean()
    confirmed = fields.Boolean()
    confirmed_at = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True, metadata={"description": "a digest's counts and items"})
    created_at = fields.String()


class InboxSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer()
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class UnreadSchema(Schema):
    unread = fields.Integer()
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer())


class MarkedSchema(Schema):
    marked = fields.Integer()
    unread = fields.Integer()


class RuleSchema(Schema):
    """One row of the recipient table (rules.py)."""
    event = fields.String()
    when = fields.String()
    audience = fields.String(metadata={"description": "whose text they read (templates: event, audience)"})
    people = fields.String()
    category = fields.String(metadata={"description": "the preference category; dispatch and overdue are critical"})
    critical = fields.Boolean()
    practice = fields.String(metadata={"description": "the practice of the seed articles the row carries out"})


# -- preferences -----------------------------------------------------------------

class QuietHoursSchema(Schema):
    start = fields.String(required=True, metadata={"example": "22:00"})
    end = fields.String(required=True, metadata={"example": "07:00"})


class PreferencesInSchema(Schema):
    """Given keys replace the stored ones, others stay; the service checks each value and names the bad ones."""
    locale = fields.String(allow_none=True, metadata={"description": f"one of {', '.join(LOCALES)}"})
    timezone = fields.String(allow_none=True, metadata={"description": "IANA name; default the district's"})
    quiet_hours = fields.Dict(allow_none=True, metadata={"description": '{"start": "22:00", "end": "07:00"}'})
    contacts = fields.Dict(metadata={"description": '{"sms": "13800000000", "wechat": "openid"}'})
    channels = fields.Dict(keys=fields.String(), values=fields.Raw(),
                           metadata={"description": f"category -> channels among {', '.join(CHANNELS)}"})


class CategoryPreferenceSchema(Schema):
    category = fields.String()
    description = fields.String()
    critical = fields.Boolean()
    channels = fields.List(fields.String())
    default = fields.Boolean()


class PreferencesSchema(Schema):
    user_id = fields.String()
    locale = fields.String()
    timezone = fields.String(allow_none=True)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    contacts = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    categories = fields.List(fields.Nested(CategoryPreferenceSchema))


# -- templates and settings ----------------------------------------------------

class TemplateInSchema(Schema):
    title = fields.String(required=True)
    body = fields.String(required=True)


class TemplateSchema(Schema):
    type = fields.String()
    audience = fields.String()
    locale = fields.String()
    category = fields.String(allow_none=True)
    title = fields.String()
    body = fields.String()
    source = fields.String(metadata={"description": "district (its own text) or default"})
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")


class TemplateQuerySchema(Schema):
    type = fields.String(validate=validate.Length(min=1, max=64))
    locale = fields.String(validate=validate.Length(min=1, max=16))


class SettingsSchema(Schema):
    timezone = fields.String(metadata={"description": "IANA name, default Asia/Shanghai"})
    locale = fields.String(metadata={"description": "default locale of the district's notices"})
    digest_hour = fields.Integer(metadata={"description": "local hour of the morning digest, 0-23"})
    digest_enabled = fields.Boolean()


# -- webhooks and deliveries -----------------------------------------------------

class WebhookInSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    department_id = fields.String(allow_none=True, load_default=None, validate=ID)
    events = fields.List(fields.String(validate=validate.Length(min=1, max=64)), allow_none=True,
                         load_default=None, validate=validate.Length(max=50))
    description = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=200))
    active = fields.Boolean(load_default=True)


class WebhookSchema(Schema):
    id = fields.String()
    district = fields.String()
    department_id = fields.String(allow_none=True)
    url = fields.String()
    events = fields.List(fields.String(), allow_none=True)
    description = fields.String(allow_none=True)
    active = fields.Boolean()
    created_at = fields.String()
    created_by = fields.String(allow_none=True)
    secret = fields.String(metadata={"description": "shown only when created or rotated"})


class DeliveryQuerySchema(PageSchema):
    status = fields.String(validate=validate.OneOf(("pending", "sent", "failed")))
    channel = fields.String(validate=validate.OneOf(("webhook", "sms", "wechat")))
    type = fields.String(validate=validate.Length(min=1, max=64))
    recipient = fields.String(validate=ID)
    event_id = fields.String(validate=ID)


class AttemptSchema(Schema):
    at = fields.String()
    ok = fields.Boolean()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)


class DeliverySchema(Schema):
    id = fields.String()
    district = fields.String()
    event_id = fields.String()
    type = fields.String()
    channel = fields.String()
    recipient = fields.String()
    category = fields.String(allow_none=True)
    critical = fields.Boolean()
    status = fields.String()
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.String(allow_none=True)
    delayed_until = fields.String(allow_none=True)
    created_at = fields.String()
    sent_at = fields.String(allow_none=True)
    failed_at = fields.String(allow_none=True)
    attempt_log = fields.List(fields.Nested(AttemptSchema))


class DeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


# -- broadcasts ------------------------------------------------------------------

class BroadcastInSchema(Schema):
    target_kind = fields.String(required=True, validate=validate.OneOf(("building", "grid", "community")))
    node_id = fields.String(required=True, validate=ID)
    title = fields.String(required=True, validate=[validate.Length(min=1, max=100), not_blank])
    body = fields.String(required=True, validate=[validate.Length(min=1, max=2000), not_blank])
    confirm_required = fields.Boolean(load_default=False)


class BroadcastSchema(Schema):
    id = fields.String()
    district = fields.String()
    sender = fields.String()
    sender_name = fields.String(allow_none=True)
    target_kind = fields.String()
    node_id = fields.String()
    node_name = fields.String(allow_none=True)
    title = fields.String()
    body = fields.String()
    confirm_required = fields.Boolean()
    status = fields.String(metadata={"description": "sending while it fans out, then sent"})
    total = fields.Integer()
    fanned_out = fields.Integer()
    read = fields.Integer()
    confirmed = fields.Integer()
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)


class BroadcastPageSchema(Schema):
    items = fields.List(fields.Nested(BroadcastSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class RecipientQuerySchema(PageSchema):
    state = fields.String(load_default="all",
                          validate=validate.OneOf(("all", "read", "unread", "confirmed", "unconfirmed")))


class RecipientSchema(Schema):
    user_id = fields.String()
    name = fields.String(allow_none=True)
    read = fields.Boolean()
    read_at = fields.String(allow_none=True)
    confirmed = fields.Boolean()
    confirmed_at = fields.String(allow_none=True)


class RecipientPageSchema(Schema):
    items = fields.List(fields.Nested(RecipientSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
