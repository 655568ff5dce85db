"""HTTP shapes of the gateway (request bodies reuse the services' own schemas)."""
from marshmallow import Schema, fields, validate


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class MeSchema(Schema):
    user_id = fields.String()
    district = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    scope = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class DistrictSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=2, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class ImportSchema(Schema):
    """Shape only; the grid service checks parents, roles, scopes and duplicates, naming each entry."""
    nodes = fields.List(fields.Dict(), load_default=list,
                        metadata={"description": '[{"id","type","name","parent"}]'})
    departments = fields.List(fields.Dict(), load_default=list,
                              metadata={"description": '[{"id","name","categories":[...]}]'})
    users = fields.List(fields.Dict(), load_default=list,
                        metadata={"description": '[{"username","password","name","roles":[...],"scope","department"}]'})


class ImportResultSchema(Schema):
    nodes = fields.Integer()
    departments = fields.Integer()
    users = fields.Integer()
    categories = fields.Integer()


class DepartmentSchema(Schema):
    id = fields.String()
    name = fields.String()
    categories = fields.List(fields.String())


class TimelineEntrySchema(Schema):
    action = fields.String()
    actor = fields.String()
    role = fields.String()
    at = fields.String()
    note = fields.String(allow_none=True)


class PetitionSchema(Schema):
    id = fields.String()
    district = fields.String()
    category = fields.String()
    title = fields.String()
    description = fields.String()
    building_id = fields.String()
    resident_id = fields.String()
    status = fields.String()
    level = fields.String()
    department_id = fields.String(allow_none=True)
    suggested_department_id = fields.String(allow_none=True)
    handler_id = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    rating = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
    created_at = fields.String()
    updated_at = fields.String()


class PetitionPageSchema(Schema):
    items = fields.List(fields.Nested(PetitionSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class PointsEntrySchema(Schema):
    amount = fields.Integer()
    reason = fields.String()
    description = fields.String(allow_none=True)
    petition_id = fields.String(allow_none=True)
    created_at = fields.String()


class PointsSchema(Schema):
    balance = fields.Integer()
    entries = fields.List(fields.Nested(PointsEntrySchema))


class PointRulesSchema(Schema):
    reporter_rated = fields.Integer(validate=validate.Range(min=0, max=1000))
    handler_5_star = fields.Integer(validate=validate.Range(min=0, max=1000))
    handler_4_star = fields.Integer(validate=validate.Range(min=0, max=1000))


class LedgerCheckSchema(Schema):
    district = fields.String()
    entries = fields.Integer()
    sum = fields.Integer()
    balanced = fields.Boolean()
    negative_accounts = fields.List(fields.String())


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


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class PetitionQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["submitted", "in_progress", "escalated", "dispatched", "resolved", "closed", "withdrawn"]))
