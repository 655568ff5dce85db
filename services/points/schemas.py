"""What the points service accepts and answers at its RPC boundary."""
from marshmallow import Schema, fields, validate

AMOUNT = validate.Range(min=0, max=1000)


class DistrictSchema(Schema):
    district = fields.String(required=True, validate=validate.Length(min=1, max=64))


class RulesSchema(Schema):
    """Earning rules; marshmallow refuses unknown keys, naming each one."""
    reporter_rated = fields.Integer(strict=True, validate=AMOUNT)
    handler_5_star = fields.Integer(strict=True, validate=AMOUNT)
    handler_4_star = fields.Integer(strict=True, validate=AMOUNT)


class StatementEntrySchema(Schema):
    amount = fields.Integer()
    reason = fields.String()
    description = fields.String()
    petition_id = fields.String(allow_none=True)
    created_at = fields.String()


class StatementSchema(Schema):
    balance = fields.Integer()
    entries = fields.List(fields.Nested(StatementEntrySchema))


class LedgerCheckSchema(Schema):
    district = fields.String()
    entries = fields.Integer()
    sum = fields.Integer()
    balanced = fields.Boolean()
    negative_accounts = fields.List(fields.String())
