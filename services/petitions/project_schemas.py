"""What the micro-project RPCs accept (the gateway loads the same schemas at HTTP) and what they answer."""
from datetime import timezone
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .projects import STATUSES, TRANSITIONS
from .schemas import TimelineEntrySchema

MAX_PETITIONS = 200
MAX_BUILDINGS = 50
BUDGET_MAX = 100_000_000  # 1亿元: anything above is a typing slip, not a micro-project
ID = validate.Length(min=1, max=64)


def _not_blank(value):
    if not value.strip():
        raise ValidationError("must not be blank")


def _cents(value):
    # the exponent, not quantize(): that raises on a huge number, and marshmallow runs this after Range fails too
    if value.normalize().as_tuple().exponent < -2:
        raise ValidationError("at most two decimals (yuan and fen)")


def _budget(**kwargs):
    # the bounds again as plain numbers: apispec takes Range's as Decimals, which the document prints as strings
    return fields.Decimal(allow_nan=False, validate=[validate.Range(min=0, max=BUDGET_MAX), _cents], metadata={
        "minimum": 0, "maximum": BUDGET_MAX, "description": "yuan, ≥ 0, at most two decimals, as a JSON number or a string (\"3600.50\"); "
                       "answers give it as a string and as integer `budget_fen`"}, **kwargs)


def _title(**kwargs):
    return fields.String(validate=[validate.Length(min=1, max=120), _not_blank], **kwargs)


def _ids(limit, what, **kwargs):
    return fields.List(fields.String(validate=ID), validate=validate.Length(min=1, max=limit), metadata={
        "description": f"{what}, at most {limit}"}, **kwargs)


class HotspotSchema(Schema):
    """A hotspot: the open petitions of one category in one building or one grid (optionally a period)."""
    category = fields.String(required=True, validate=ID)
    building_id = fields.String(load_default=None, allow_none=True, validate=ID)
    grid_id = fields.String(load_default=None, allow_none=True, validate=ID)
    created_from = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=timezone.utc)
    created_to = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=timezone.utc)

    @validates_schema
    def _one_place(self, data, **kwargs):
        if bool(data.get("building_id")) == bool(data.get("grid_id")):
            raise ValidationError("name either a building_id or a grid_id", "building_id")
        if data.get("created_from") and data.get("created_to") and data["created_from"] >= data["created_to"]:
            raise ValidationError("must be before created_to", "created_from")


class CreateProjectSchema(Schema):
    title = _title(required=True)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    petition_ids = _ids(MAX_PETITIONS, "selected petitions (open, of one community)", load_default=None,
                        allow_none=True)
    hotspot = fields.Nested(HotspotSchema, load_default=None, allow_none=True, metadata={
        "description": "instead of petition_ids: link the open petitions of a category in a building or grid"})
    buildings = fields.List(fields.String(validate=ID), load_default=list, validate=validate.Length(max=MAX_BUILDINGS),
                            metadata={"description": "buildings it affects besides those of its petitions"})
    budget = _budget(load_default=None, allow_none=True)
    sponsor = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=100), _not_blank],
                            metadata={"description": "the sponsor unit (驻区单位); defaults to the department's name"})
    sponsor_department_id = fields.String(load_default=None, allow_none=True, validate=ID,
                                          metadata={"description": "when a department of the district sponsors it"})

    @validates_schema
    def _one_source(self, data, **kwargs):
        if (data.get("petition_ids") is None) == (data.get("hotspot") is None):
            raise ValidationError("give either petition_ids or a hotspot", "petition_ids")


class UpdateProjectSchema(Schema):
    """Only what is sent changes; ``buildings`` replaces the list (petitions added bring their buildings)."""
    title = _title()
    description = fields.String(validate=validate.Length(max=2000))
    budget = _budget(allow_none=True)
    sponsor = fields.String(allow_none=True, validate=[validate.Length(min=1, max=100), _not_blank])
    sponsor_department_id = fields.String(allow_none=True, validate=ID)
    buildings = fields.List(fields.String(validate=ID), validate=validate.Length(min=1, max=MAX_BUILDINGS))
    add_petition_ids = _ids(MAX_PETITIONS, "open petitions to link")
    remove_petition_ids = _ids(MAX_PETITIONS, "linked petitions to unlink")

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("nothing to change", "_schema")


class TransitionSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(list(TRANSITIONS)), metadata={
        "description": "approved (district admin), in_progress, done, or cancelled (with a note saying why)"})
    note = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=500), _not_blank])

    @validates_schema
    def _why(self, data, **kwargs):
        if data.get("status") == "cancelled" and not data.get("note"):
            raise ValidationError("required: say why it is cancelled", "note")


class CommentSchema(Schema):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=500), _not_blank])


class ResolvePetitionsSchema(Schema):
    note = fields.String(required=True, validate=[validate.Length(min=1, max=2000), _not_blank], metadata={
        "description": "what was done: becomes each petition's resolution, which its resident rates"})


class ProjectListSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))  # a skip MongoDB can hold
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    community = fields.String(load_default=None, allow_none=True, validate=ID)
    building_id = fields.String(load_default=None, allow_none=True, validate=ID,
                                metadata={"description": "projects affecting this building"})
    node = fields.String(load_default=None, allow_none=True, validate=ID,
                         metadata={"description": "projects affecting a building under this node (a grid …)"})


class CommentListSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))  # a skip MongoDB can hold
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


# -- answers --------------------------------------------------------------------------

class LinkedPetitionSchema(Schema):
    id = fields.String()
    title = fields.String()
    category = fields.String()
    building_id = fields.String()
    status = fields.String()
    level = fields.String()


class ProjectSchema(Schema):
    id = fields.String()
    district = fields.String()
    community = fields.String()
    title = fields.String()
    description = fields.String()
    status = fields.String()
    budget = fields.String(allow_none=True, metadata={"description": "yuan, two decimals"})
    budget_fen = fields.Integer(allow_none=True)
    sponsor = fields.String(allow_none=True)
    sponsor_department_id = fields.String(allow_none=True)
    buildings = fields.List(fields.String())
    petition_ids = fields.List(fields.String())
    petition_count = fields.Integer()
    petitions = fields.List(fields.Nested(LinkedPetitionSchema), metadata={
        "description": "on a single project: the linked petitions the caller may see, as they stand now"})
    supporters = fields.Integer()
    supported_by_me = fields.Boolean()
    comment_count = fields.Integer()
    origin = fields.Dict(metadata={"description": "petitions (selected) or hotspot {category, building_id | "
                                                  "grid_id, period, matched, linked, skipped}"})
    resolution = fields.Dict(allow_none=True, metadata={"description": "the last resolve-petitions run"})
    created_by = fields.String()
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
    created_at = fields.String()
    updated_at = fields.String()
    approved_at = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    done_at = fields.String(allow_none=True)
    cancelled_at = fields.String(allow_none=True)


class ProjectPageSchema(Schema):
    items = fields.List(fields.Nested(ProjectSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class CommentOutSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    author_id = fields.String()
    author_name = fields.String(allow_none=True)
    role = fields.String()
    text = fields.String()
    at = fields.String()


class CommentPageSchema(Schema):
    items = fields.List(fields.Nested(CommentOutSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class NotResolvedSchema(LinkedPetitionSchema):
    reason = fields.String(metadata={"description": "closed, withdrawn, merged, resolved (by someone else, awaiting "
                                                    "the rating), at_department, not_in_scope, missing, changed"})
    message = fields.String()


class ResolveResultSchema(Schema):
    project = fields.Nested(ProjectSchema)
    resolved = fields.List(fields.Nested(LinkedPetitionSchema), metadata={"description": "resolved by this call"})
    already_resolved = fields.List(fields.Nested(LinkedPetitionSchema),
                                   metadata={"description": "resolved through this project before"})
    not_resolved = fields.List(fields.Nested(NotResolvedSchema))
