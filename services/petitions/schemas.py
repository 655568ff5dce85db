"""What the petitions service accepts at its RPC boundary (and the gateway at HTTP)."""
from marshmallow import Schema, fields, validate

TEXT = validate.Length(min=1, max=2000)
SHORT = validate.Length(min=1, max=120)
REASON = validate.Length(min=1, max=500)


class SubmitSchema(Schema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=SHORT)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    building_id = fields.String(load_default=None, allow_none=True)


class EmptySchema(Schema):
    pass


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=REASON)


class DispatchSchema(Schema):
    department_id = fields.String(load_default=None, allow_none=True,
                                  metadata={"description": "defaults to the catalogue's department for the category"})


class ResolveSchema(Schema):
    note = fields.String(required=True, validate=TEXT)


class RateSchema(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default="", validate=validate.Length(max=500))


ACTION_SCHEMAS = {
    "claim": EmptySchema, "accept": EmptySchema, "withdraw": EmptySchema,
    "escalate": ReasonSchema, "return": ReasonSchema,
    "dispatch": DispatchSchema, "resolve": ResolveSchema, "rate": RateSchema,
}


class ListSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        ["submitted", "in_progress", "escalated", "dispatched", "resolved", "closed", "withdrawn"]))


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
