"""Shapes the grid service accepts (the import document) and returns (RPC outputs).

The import schemas check each entry on its own; whether a parent exists, a
scope fits a role or a username is free is the importer's business, because
it needs the whole document and the stored district to decide.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

NODE_TYPES = ("street", "community", "grid", "microgrid", "building")
CATEGORY_KINDS = ("issue", "help")
FIELD_TYPES = ("string", "number", "single_choice", "multiple_choice")
CHOICE_TYPES = ("single_choice", "multiple_choice")

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


def flatten(messages, prefix=""):
    """marshmallow's nested messages as one level: ``{"fields[0].choices": [...]}``."""
    flat = {}
    for name, value in messages.items():
        if isinstance(name, int) or (isinstance(name, str) and name.isdigit()):
            key = f"{prefix}[{name}]"
        else:
            key = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(value, dict):
            flat.update(flatten(value, key))
        else:
            flat[key] = value if isinstance(value, list) else [value]
    return flat


class FlatErrors:
    """Errors name each bad entry as a path, the way the import names them, over HTTP too."""

    def handle_error(self, error, data, *, many, **kwargs):
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise ValidationError(flatten(messages), data=data, valid_data=error.valid_data)


class DistrictIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)


class LocationIn(Schema):
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(
        min=-90, max=90, error="must be between -90 and 90"))
    lng = fields.Float(required=True, allow_nan=False, validate=validate.Range(
        min=-180, max=180, error="must be between -180 and 180"))


class NodeIn(Schema):
    id = fields.String(required=True, validate=NODE_ID)
    type = fields.String(required=True, validate=validate.OneOf(
        NODE_TYPES, error="unknown type {input!r}: one of {choices}"))
    name = fields.String(required=True, validate=NAME)
    parent = fields.String(required=True, validate=validate.Length(min=1, max=64))
    # A building's coordinate lets Open311 clients place a request by lat/long.
    location = fields.Nested(LocationIn, load_default=None, allow_none=True)

    @validates_schema
    def _only_buildings_have_a_location(self, data, **kwargs):
        if data.get("location") and data.get("type") != "building":
            raise ValidationError("only a building has a location", "location")


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


# -- the dispatch catalogue: categories as Open311 service definitions ----------

class ChoiceIn(Schema):
    key = fields.String(required=True, validate=validate.And(validate.Length(max=64), _not_blank))
    name = fields.String(required=True, validate=NAME)


class FieldIn(Schema):
    """An extra field a petition of the category carries (an Open311 service attribute)."""
    code = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    type = fields.String(required=True, validate=validate.OneOf(
        FIELD_TYPES, error="unknown type {input!r}: one of {choices}"))
    required = fields.Boolean(load_default=False)
    description = fields.String(load_default="", validate=validate.Length(max=500))
    choices = fields.List(fields.Nested(ChoiceIn), load_default=list,
                          validate=validate.Length(max=100, error="at most 100 choices"))

    @validates_schema(skip_on_field_errors=False)
    def _choices_fit_the_type(self, data, **kwargs):
        if "type" not in data or "choices" not in data:
            return
        choices = data["choices"]
        if data["type"] in CHOICE_TYPES:
            if not choices:
                raise ValidationError(f"a {data['type']} field needs at least one choice", "choices")
            # with field errors a choice may have failed its own schema and lack its key
            keys = [c["key"] for c in choices if isinstance(c, dict) and "key" in c]
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ValidationError(f"duplicate key {', '.join(map(repr, duplicates))}", "choices")
        elif choices:
            raise ValidationError(f"a {data['type']} field has no choices: only "
                                  f"{' and '.join(CHOICE_TYPES)} fields do", "choices")


class CategoryDefinitionIn(FlatErrors, Schema):
    """A category without its code: the body of ``PUT .../categories/<category>``."""
    name = fields.String(required=True, validate=NAME)
    description = fields.String(load_default="", validate=validate.Length(max=1000))
    department_id = fields.String(load_default=None, allow_none=True, validate=KEY, metadata={
        "description": "the department that handles it; null only for a help category"})
    kind = fields.String(load_default="issue", validate=validate.OneOf(
        CATEGORY_KINDS, error="unknown kind {input!r}: one of {choices}"), metadata={
        "description": "issue (default) or help (求助, offered to the community's party members)"})
    # Declared last: the class attribute is removed by marshmallow, but the name `fields`
    # must not shadow the module for the declarations above.
    fields = fields.List(fields.Nested(FieldIn), load_default=list,
                         validate=validate.Length(max=50, error="at most 50 fields"))

    @validates_schema(skip_on_field_errors=False)
    def _department_and_codes(self, data, **kwargs):
        errors = {}
        if data.get("kind") == "issue" and "department_id" in data and data["department_id"] is None:
            errors["department_id"] = ["required for an issue category: the department that "
                                       "handles it (only a help category may have none)"]
        seen = set()
        for i, field in enumerate(data.get("fields") or ()):
            code = field.get("code") if isinstance(field, dict) else None
            if code is not None and code in seen:
                errors.setdefault("fields", {})[i] = {"code": [f"duplicate code {code!r}"]}
            seen.add(code)
        if errors:
            raise ValidationError(errors)


class CategoryIn(CategoryDefinitionIn):
    """A full definition, as the import document's ``categories`` section lists them."""
    category = fields.String(required=True, validate=KEY)


class ChoiceOut(Schema):
    key = fields.String()
    name = fields.String()


class FieldOut(Schema):
    code = fields.String()
    name = fields.String()
    type = fields.String()
    required = fields.Boolean()
    description = fields.String()
    choices = fields.List(fields.Nested(ChoiceOut))


class CategoryOut(Schema):
    category = fields.String()
    name = fields.String()
    description = fields.String()
    department_id = fields.String(allow_none=True)
    department_name = fields.String(allow_none=True)
    kind = fields.String()
    fields = fields.List(fields.Nested(FieldOut))


# -- party members (党员报到) ----------------------------------------------------

class PartyMemberIn(Schema):
    username = fields.String(required=True, validate=USERNAME)
    community = fields.String(load_default=None, allow_none=True, validate=NODE_ID, metadata={
        "description": "a community of the district; defaults to the user's own"})


class PartyMemberOut(Schema):
    user_id = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    community = fields.String(allow_none=True)


class DistrictOut(Schema):
    code = fields.String()
    name = fields.String()


class DepartmentOut(Schema):
    id = fields.String()
    name = fields.String()
    categories = fields.List(fields.String())


class ClaimsOut(Schema):
    """What the gateway puts into a token after a successful sign-in."""
    user_id = fields.String(attribute="username")
    district = fields.String()
    roles = fields.List(fields.String())
    scope = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    name = fields.String()
    # a party member's community is the one they registered with (党员报到)
    community = fields.String(allow_none=True)
    # the organisation (驻区单位 / company) an organisation_member acts for
    organisation = fields.String(allow_none=True)


class LocationOut(Schema):
    building_id = fields.String()
    name = fields.String()
    path = fields.List(fields.String())
    grid = fields.String(allow_none=True)
    microgrid = fields.String(allow_none=True)
    community = fields.String(allow_none=True)
    street = fields.String(allow_none=True)


class NodeOut(Schema):
    id = fields.String()
    type = fields.String()
    name = fields.String()
    parent = fields.String(allow_none=True)
    path = fields.List(fields.String())


class ResponsibleOut(Schema):
    district = fields.String()
    building_id = fields.String()
    path = fields.List(fields.String())
    building_leaders = fields.List(fields.String())
    grid_workers = fields.List(fields.String())
    community_staff = fields.List(fields.String())
    party_members = fields.List(fields.String())
    district_admins = fields.List(fields.String())
