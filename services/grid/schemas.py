"""Shapes the grid service accepts (the import document) and returns (RPC outputs).

The import schemas check each entry on its own; whether a parent exists, a
scope fits a role or a username is free is the importer's business, because
it needs the whole document and the stored district to decide.
"""
from marshmallow import Schema, fields, validate

NODE_TYPES = ("street", "community", "grid", "microgrid", "building")

# `\Z`, not `$`: Regexp uses re.match, and `$` would let a trailing newline through.
CODE = validate.Regexp(r"^[a-z][a-z0-9-]{1,31}\Z",
                       error="must be 2-32 characters: a lower-case letter, then a-z, 0-9 or '-'")
NODE_ID = validate.Regexp(r"^[\w.-]{1,64}\Z", error="must be 1-64 letters, digits, '_', '.' or '-'")
# Department ids and categories end up in AMQP routing keys (<district>.<department>.<event>),
# where a '.' would split them.
KEY = validate.Regexp(r"^[\w-]{1,64}\Z", error="must be 1-64 letters, digits, '_' or '-'")
USERNAME = validate.Regexp(r"^[\w.@-]{2,64}\Z", error="must be 2-64 letters, digits, '_', '.', '@' or '-'")


def _not_blank(value):
    if not value.strip():
        raise validate.ValidationError("must not be blank")


NAME = validate.And(validate.Length(max=100), _not_blank)


class DistrictIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)


class NodeIn(Schema):
    id = fields.String(required=True, validate=NODE_ID)
    type = fields.String(required=True, validate=validate.OneOf(
        NODE_TYPES, error="unknown type {input!r}: one of {choices}"))
    name = fields.String(required=True, validate=NAME)
    parent = fields.String(required=True, validate=validate.Length(min=1, max=64))


class DepartmentIn(Schema):
    id = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    categories = fields.List(fields.String(validate=KEY), load_default=list)


class UserIn(Schema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=validate.Length(
        min=6, max=256, error="must be 6-256 characters"))
    name = fields.String(required=True, validate=NAME)
    # Membership in ROLES is checked by the importer, so the message can name the role.
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                        validate=validate.Length(min=1, error="at least one role"))
    scope = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    department = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))


class DistrictOut(Schema):
    code = fields.String()
    name = fields.String()


class DepartmentOut(Schema):
    id = fields.String()
    name = fields.String()
    categories = fields.List(fields.String())


class CategoryOut(Schema):
    category = fields.String()
    department_id = fields.String()
    department_name = fields.String()


class ClaimsOut(Schema):
    """What the gateway puts into a token after a successful sign-in."""
    user_id = fields.String(attribute="username")
    district = fields.String()
    roles = fields.List(fields.String())
    scope = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    name = fields.String()


class LocationOut(Schema):
    building_id = fields.String()
    name = fields.String()
    path = fields.List(fields.String())
    grid = fields.String(allow_none=True)
    microgrid = fields.String(allow_none=True)
    community = fields.String(allow_none=True)
    street = fields.String(allow_none=True)


class ResponsibleOut(Schema):
    district = fields.String()
    building_id = fields.String()
    path = fields.List(fields.String())
    building_leaders = fields.List(fields.String())
    grid_workers = fields.List(fields.String())
    community_staff = fields.List(fields.String())
    district_admins = fields.List(fields.String())
