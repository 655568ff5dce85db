"""HTTP shapes that belong to the gateway alone; the rest are the services' own schemas."""
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
    community = fields.String(allow_none=True)
    organisation = fields.String(allow_none=True)


class ImportSchema(Schema):
    """Shape only; the grid service checks parents, roles, scopes and duplicates, naming each entry."""
    nodes = fields.List(fields.Dict(), load_default=list,
                        metadata={"description": '[{"id","type","name","parent"}]'})
    departments = fields.List(fields.Dict(), load_default=list,
                              metadata={"description": '[{"id","name","categories":[...]}]'})
    users = fields.List(fields.Dict(), load_default=list,
                        metadata={"description": '[{"username","password","name","roles":[...],"scope","department"}]'})
    categories = fields.List(fields.Dict(), load_default=list,
                             metadata={"description": '[{"category","name","description","department_id","kind",'
                                                      '"fields":[{"code","name","type","required","choices"}]}]'})
    organisations = fields.List(fields.Dict(), load_default=list,
                                metadata={"description": '[{"id","name","kind":"unit"|"company","community",'
                                                         '"members":[username,...]}] (驻区单位, companies)'})
    households = fields.List(fields.Dict(), load_default=list, metadata={
        "description": '[{"id","building_id","name","address","members":[{"name","relation","phone","user_id"}],'
                       '"care_level":"green"|"orange"|"red","care_reason"}]: reason required for orange and red'})


class ImportResultSchema(Schema):
    nodes = fields.Integer()
    departments = fields.Integer()
    users = fields.Integer()
    categories = fields.Integer()
    organisations = fields.Integer()
    households = fields.Integer()
