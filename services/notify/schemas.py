"""What the notify service accepts and answers at its RPC boundary."""
from marshmallow import Schema, fields, validate


class PageSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class MarkReadSchema(Schema):
    notification_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class NotificationSchema(Schema):
    id = fields.String()
    type = fields.String()
    title = fields.String()
    body = fields.String()
    petition_id = fields.String(allow_none=True)
    read = fields.Boolean()
    created_at = fields.String()


class InboxSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer()
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
