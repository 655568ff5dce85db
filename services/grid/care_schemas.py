"""Shapes of households, care levels (红橙绿) and visits (入户走访), in and out.

The gateway loads the same schemas at HTTP and the grid service loads them again
(the RPC is a boundary too), so a field is named the same way wherever it is refused.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .care_levels import LEVELS, MAX_DAYS, NEEDS_REASON
from .schemas import NAME, NODE_ID, USERNAME, FlatErrors, _not_blank

LEVEL = validate.OneOf(LEVELS, error="unknown care level {input!r}: one of {choices}")
REASON = validate.And(validate.Length(max=200), _not_blank)
PHONE = validate.Regexp(r"^\+?[0-9][0-9 -]{4,19}\Z", error="must be 5-20 digits, spaces or '-', an optional leading '+'")
NEED = validate.And(validate.Length(max=50), _not_blank)
DAYS = validate.Range(min=1, max=MAX_DAYS, error=f"must be 1-{MAX_DAYS} days")


def _reason_for_level(data, level_key, reason_key):
    if data.get(level_key) in NEEDS_REASON and not (data.get(reason_key) or "").strip():
        raise ValidationError(f"required for a {data[level_key]} household: why it needs the care", reason_key)


class MemberIn(Schema):
    name = fields.String(required=True, validate=NAME)
    relation = fields.String(load_default="", validate=validate.Length(max=20),
                             metadata={"description": "户主, 配偶, 孙子 …"})
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    user_id = fields.String(load_default=None, allow_none=True, validate=USERNAME,
                            metadata={"description": "the member's platform account, if they have one"})


class HouseholdIn(Schema):
    """One entry of the import document's ``households`` section."""
    id = fields.String(required=True, validate=NODE_ID)
    building_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=NAME, metadata={"description": "e.g. 27栋1单元101 李家"})
    address = fields.String(load_default="", validate=validate.Length(max=100),
                            metadata={"description": "unit and room: 1单元101"})
    members = fields.List(fields.Nested(MemberIn), load_default=list,
                          validate=validate.Length(max=30, error="at most 30 members"))
    care_level = fields.String(load_default="green", validate=LEVEL)
    care_reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def _reason(self, data, **kwargs):
        _reason_for_level(data, "care_level", "care_reason")


class CareLevelIn(FlatErrors, Schema):
    """``PUT /households/<id>/care-level``: every change says why, whatever the level."""
    level = fields.String(required=True, validate=LEVEL, metadata={"description": "green, orange or red"})
    reason = fields.String(required=True, validate=REASON)


class VisitPetitionIn(Schema):
    """A petition filed on the spot for the household (代办); the petitions service checks the rest."""
    category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=validate.And(validate.Length(max=200), _not_blank))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    attributes = fields.Dict(keys=fields.String(), load_default=dict)
    resident_id = fields.String(load_default=None, allow_none=True, validate=USERNAME, metadata={
        "description": "a member's account that follows and rates it; defaults to the first member with one, "
                       "else the visitor follows it"})


class VisitIn(FlatErrors, Schema):
    visited_on = fields.Date(required=True, metadata={"description": "the day of the visit, not in the future"})
    notes = fields.String(load_default="", validate=validate.Length(max=2000))
    needs_found = fields.List(fields.String(validate=NEED), load_default=list,
                              validate=validate.Length(max=20, error="at most 20 needs"),
                              metadata={"description": "short phrases: 助餐, 就医陪护 …"})
    petition = fields.Nested(VisitPetitionIn, load_default=None, allow_none=True)
    wish_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "a micro-wish (微心愿) recorded for the household, as a link; not checked here"})


class HouseholdQuery(FlatErrors, Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))  # a skip MongoDB can hold
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    queue = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["mine"]),
                          metadata={"description": "mine: the households I visit, overdue first, then by due day"})
    care_level = fields.String(load_default=None, allow_none=True, validate=LEVEL)
    building_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    node = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                         metadata={"description": "any node id: households of the buildings under it"})
    overdue = fields.Boolean(load_default=None, allow_none=True)
    sort = fields.String(load_default="due", validate=validate.OneOf(["due", "building"]),
                         metadata={"description": "due (default: overdue first) or building (a door-to-door roster)"})


class VisitQuery(FlatErrors, Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))  # a skip MongoDB can hold
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CareSettingsIn(FlatErrors, Schema):
    """Days between visits for each level; a partial body changes only what it names."""
    red_days = fields.Integer(strict=True, validate=DAYS)
    orange_days = fields.Integer(strict=True, validate=DAYS)
    green_days = fields.Integer(strict=True, validate=DAYS)


# -- out ---------------------------------------------------------------------------

class CareSettingsOut(Schema):
    red_days = fields.Integer()
    orange_days = fields.Integer()
    green_days = fields.Integer()


class HouseholdMemberOut(Schema):
    name = fields.String()
    relation = fields.String()
    phone = fields.String(allow_none=True)
    user_id = fields.String(allow_none=True)


class ActorOut(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    role = fields.String()


class CareChangeOut(Schema):
    at = fields.String()
    by = fields.Nested(ActorOut)
    from_level = fields.String(allow_none=True)
    to_level = fields.String()
    reason = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "import or change"})


class HouseholdOut(Schema):
    id = fields.String()
    district = fields.String()
    building_id = fields.String()
    building_name = fields.String(allow_none=True)
    path = fields.List(fields.String())
    name = fields.String()
    address = fields.String()
    members = fields.List(fields.Nested(HouseholdMemberOut))
    care_level = fields.String()
    care_reason = fields.String(allow_none=True)
    care_since = fields.String()
    last_visit_on = fields.String(allow_none=True)
    visit_count = fields.Integer()
    visit_interval_days = fields.Integer()
    next_visit_due = fields.String()
    visit_overdue = fields.Boolean()
    overdue_days = fields.Integer()


class VisitEntryOut(Schema):
    """A visit in a household's history."""
    id = fields.String()
    household_id = fields.String()
    visited_on = fields.String()
    notes = fields.String()
    needs_found = fields.List(fields.String())
    petition_id = fields.String(allow_none=True)
    wish_id = fields.String(allow_none=True)
    visitor = fields.Nested(ActorOut)
    recorded_at = fields.String()


class VisitOut(VisitEntryOut):
    """The answer to logging a visit: with the household as it now stands (its next due day)."""
    household = fields.Nested(HouseholdOut)


class HouseholdDetailOut(HouseholdOut):
    care_history = fields.List(fields.Nested(CareChangeOut))
    recent_visits = fields.List(fields.Nested(VisitEntryOut))


class HouseholdPageOut(Schema):
    items = fields.List(fields.Nested(HouseholdOut))
    total = fields.Integer()
    overdue = fields.Integer(metadata={"description": "how many of those matching are overdue"})
    page = fields.Integer()
    page_size = fields.Integer()


class VisitPageOut(Schema):
    items = fields.List(fields.Nested(VisitEntryOut))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class OverdueItemOut(Schema):
    household_id = fields.String()
    name = fields.String()
    building_id = fields.String()
    care_level = fields.String()
    next_visit_due = fields.String()
    overdue_days = fields.Integer()
