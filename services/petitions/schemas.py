"""What the petitions service accepts at its RPC boundary (and the gateway at HTTP), and what it answers."""
from datetime import timezone

from marshmallow import Schema, fields, validate

from .domain import LEVELS, STATES

TEXT = validate.Length(min=1, max=2000)
SHORT = validate.Length(min=1, max=120)
REASON = validate.Length(min=1, max=500)
MEDIA = fields.List(fields.Url(schemes={"http", "https"}), load_default=list,
                    validate=validate.Length(max=9, error="at most 9 photos or files"),
                    metadata={"description": "photo/file URLs, at most 9"})


class LocationSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))


class SubmitSchema(Schema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=SHORT)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    building_id = fields.String(load_default=None, allow_none=True)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["issue", "help"]),
                         metadata={"description": "defaults to the category's kind; help = 求助 to party members"})
    attributes = fields.Dict(keys=fields.String(), load_default=dict,
                             metadata={"description": "values for the category's extra fields, by field code"})
    media = MEDIA
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class EmptySchema(Schema):
    pass


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=REASON)


class DispatchSchema(Schema):
    department_id = fields.String(load_default=None, allow_none=True,
                                  metadata={"description": "defaults to the catalogue's department for the category"})


class ResolveSchema(Schema):
    note = fields.String(required=True, validate=TEXT)
    media = MEDIA


class RateSchema(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default="", validate=validate.Length(max=500))


class MergeSchema(Schema):
    into = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata={"description": "the original petition this duplicate joins"})


ACTION_SCHEMAS = {
    "claim": EmptySchema, "accept": EmptySchema, "withdraw": EmptySchema,
    "escalate": ReasonSchema, "return": ReasonSchema,
    "dispatch": DispatchSchema, "resolve": ResolveSchema, "rate": RateSchema,
    "merge": MergeSchema,
}


class FollowUpRecordSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(["contacted", "reopened", "closed"]))
    note = fields.String(required=True, validate=TEXT)


class ListSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))  # a skip MongoDB can hold
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATES))
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEVELS))
    category = fields.String(load_default=None, allow_none=True)
    building_id = fields.String(load_default=None, allow_none=True)
    node = fields.String(load_default=None, allow_none=True,
                         metadata={"description": "any node id: petitions of buildings under it"})
    overdue = fields.Boolean(load_default=None, allow_none=True)
    created_from = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=timezone.utc)
    created_to = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=timezone.utc)
    sort = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["newest", "oldest", "deadline"]),
                         metadata={"description": "newest (default), oldest, or deadline (overdue first)"})
    queue = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["mine"]),
                          metadata={"description": "mine: what waits for me in my role, deadline first"})


class FollowUpListSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))  # a skip MongoDB can hold
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["open", "done"]))


HOURS = validate.Range(min=1, max=24 * 90)


class TimeLimitsSchema(Schema):
    """Hours each level has before the system whistles (see deadlines.DEFAULT_LIMITS)."""
    help_claim_hours = fields.Integer(strict=True, validate=HOURS)
    grid_claim_hours = fields.Integer(strict=True, validate=HOURS)
    grid_resolve_hours = fields.Integer(strict=True, validate=HOURS)
    community_dispatch_hours = fields.Integer(strict=True, validate=HOURS)
    department_accept_hours = fields.Integer(strict=True, validate=HOURS)
    department_resolve_hours = fields.Integer(strict=True, validate=HOURS)
    rate_hours = fields.Integer(strict=True, validate=HOURS)


class TimelineEntrySchema(Schema):
    action = fields.String()
    actor = fields.String()
    role = fields.String()
    at = fields.String()
    note = fields.String(allow_none=True)


class FollowUpSchema(Schema):
    status = fields.String()
    opened_at = fields.String()
    outcome = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.String(allow_none=True)
    linked_petition_id = fields.String(allow_none=True)


class DuplicateSchema(Schema):
    id = fields.String()
    title = fields.String()
    status = fields.String()
    created_at = fields.String()


class Open311ContactSchema(Schema):
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    phone = fields.String()
    device_id = fields.String()
    account_id = fields.String()


class Open311OriginSchema(Schema):
    application = fields.String()
    application_name = fields.String(allow_none=True)
    contact = fields.Nested(Open311ContactSchema)
    address_string = fields.String(allow_none=True)
    address_id = fields.String(allow_none=True)
    matched_by = fields.String(allow_none=True)


class PetitionSchema(Schema):
    id = fields.String()
    district = fields.String()
    kind = fields.String()
    category = fields.String()
    title = fields.String()
    description = fields.String()
    attributes = fields.Dict()
    media = fields.List(fields.String())
    location = fields.Nested(LocationSchema, allow_none=True)
    address = fields.String(allow_none=True)
    building_id = fields.String()
    resident_id = fields.String()
    status = fields.String()
    level = fields.String()
    department_id = fields.String(allow_none=True)
    suggested_department_id = fields.String(allow_none=True)
    handler_id = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    resolution_media = fields.List(fields.String())
    rating = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    due_at = fields.String(allow_none=True, metadata={"description": "the current deadline"})
    deadline = fields.String(allow_none=True, metadata={"description": "what is due: claim, resolve, dispatch, accept, rate"})
    overdue = fields.Boolean()
    followers = fields.List(fields.String())
    merged_into = fields.String(allow_none=True)
    linked_from = fields.String(allow_none=True)
    project_id = fields.String(allow_none=True, metadata={"description": "the micro-project (微项目) that resolved it"})
    follow_up = fields.Nested(FollowUpSchema, allow_none=True)
    open311 = fields.Nested(Open311OriginSchema, allow_none=True, metadata={
        "description": "filed through Open311: the application and the submitter's contact fields, so staff "
                       "can call back (never shown through Open311 itself)"})
    filed_by = fields.Dict(allow_none=True, metadata={
        "description": "代办: {id, name, role} of the grid worker who filed it for the household"})
    household_id = fields.String(allow_none=True, metadata={"description": "the household it was filed for"})
    possible_duplicates = fields.List(fields.Nested(DuplicateSchema),
                                      metadata={"description": "on submit: open petitions like this one"})
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
    created_at = fields.String()
    updated_at = fields.String()


class PetitionPageSchema(Schema):
    items = fields.List(fields.Nested(PetitionSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class FollowUpPageSchema(PetitionPageSchema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
