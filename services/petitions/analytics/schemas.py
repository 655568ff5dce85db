"""The read model's boundary: the query every analytics RPC (and the gateway) takes, and what each answers."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from . import histogram

MAX_DAYS = 366
RANKED_BY = ("response", "resolution", "satisfaction")
ID = validate.Length(min=1, max=64)


class AnalyticsQuery(Schema):
    node = fields.String(validate=ID, metadata={
        "description": "any node id (street, community, grid, building); default: your own area, or the district"})
    department = fields.String(validate=ID, metadata={"description": "only what reached this department"})
    category = fields.String(validate=ID)
    start = fields.Date(data_key="from", metadata={"description": "first day (YYYY-MM-DD, UTC), default 29 days "
                                                                  "before `to`"})
    end = fields.Date(data_key="to", metadata={"description": "last day, inclusive (YYYY-MM-DD, UTC), default today"})
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100),
                           metadata={"description": "hotspots: rows per table"})
    by = fields.String(load_default="resolution", validate=validate.OneOf(RANKED_BY),
                       metadata={"description": "rankings: the rate to rank by"})

    @validates_schema
    def _period(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise ValidationError("must be on or before `to`", "from")
            if (end - start).days + 1 > MAX_DAYS:
                raise ValidationError(f"the period may span at most {MAX_DAYS} days", "from")


class PeriodSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    days = fields.Integer()


class ResponseSchema(Schema):
    rate = fields.Float(allow_none=True, metadata={"description": "responded_in_time / had_to_respond"})
    responded_in_time = fields.Integer()
    had_to_respond = fields.Integer()


class ResolutionSchema(Schema):
    rate = fields.Float(allow_none=True, metadata={"description": "resolved / due"})
    resolved = fields.Integer()
    resolved_in_time = fields.Integer()
    due = fields.Integer()


class SatisfactionSchema(Schema):
    rate = fields.Float(allow_none=True, metadata={"description": "satisfied / rated"})
    satisfied = fields.Integer()
    rated = fields.Integer()


class WhistleSchema(Schema):
    rate = fields.Float(allow_none=True, metadata={"description": "escalated / submitted"})
    escalated = fields.Integer()
    submitted = fields.Integer()


class OverdueSchema(Schema):
    total = fields.Integer()
    claim = fields.Integer()
    resolve = fields.Integer()
    dispatch = fields.Integer()
    accept = fields.Integer()


class ScopeFields(Schema):
    district = fields.String()
    node = fields.String()
    department = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    period = fields.Nested(PeriodSchema)


class RatesSchema(ScopeFields):
    response = fields.Nested(ResponseSchema)
    resolution = fields.Nested(ResolutionSchema)
    satisfaction = fields.Nested(SatisfactionSchema)
    whistle = fields.Nested(WhistleSchema)
    overdue = fields.Nested(OverdueSchema)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "every counter of the read model, summed"})


class WhistlesSchema(ScopeFields):
    whistle = fields.Nested(WhistleSchema)


class OverdueCountsSchema(ScopeFields):
    overdue = fields.Nested(OverdueSchema)


class DurationRowSchema(Schema):
    key = fields.String(allow_none=True, metadata={"description": "the level, category or department (null: none)"})
    count = fields.Integer()
    p50_hours = fields.Float(allow_none=True)
    p90_hours = fields.Float(allow_none=True)


class MeasureSchema(Schema):
    all = fields.Nested(DurationRowSchema)
    by_level = fields.List(fields.Nested(DurationRowSchema))
    by_category = fields.List(fields.Nested(DurationRowSchema))
    by_department = fields.List(fields.Nested(DurationRowSchema))


class DurationsSchema(ScopeFields):
    claim = fields.Nested(MeasureSchema, metadata={"description": "time to claim (or accept), hours"})
    resolve = fields.Nested(MeasureSchema, metadata={"description": "time from submission to resolution, hours"})
    bucket_edges_hours = fields.List(fields.Float(), dump_default=list(histogram.EDGES))


class HotspotRowSchema(Schema):
    category = fields.String()
    node = fields.String()
    count = fields.Integer(metadata={"description": "petitions submitted in the period"})
    previous = fields.Integer(metadata={"description": "in the previous period of the same length"})
    change = fields.Integer(metadata={"description": "count - previous"})


class HotspotsSchema(ScopeFields):
    previous_period = fields.Nested(PeriodSchema)
    by_building = fields.List(fields.Nested(HotspotRowSchema))
    by_grid = fields.List(fields.Nested(HotspotRowSchema))


class RankRowSchema(Schema):
    id = fields.String(allow_none=True)
    rank = fields.Integer()
    response = fields.Nested(ResponseSchema)
    resolution = fields.Nested(ResolutionSchema)
    satisfaction = fields.Nested(SatisfactionSchema)
    overdue = fields.Integer()


class RankingsSchema(ScopeFields):
    by = fields.String()
    communities = fields.List(fields.Nested(RankRowSchema))
    departments = fields.List(fields.Nested(RankRowSchema))


class RebuildSchema(Schema):
    district = fields.String()
    generation = fields.String()
    petitions = fields.Integer()
    steps = fields.Integer()
