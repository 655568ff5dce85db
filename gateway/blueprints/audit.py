"""The district's audit trail, read-only: every service's entries, newest first, in one list.

Each service keeps the entries of its own commands (civicgrid.audit); the gateway asks all of
them and merges. There is no route that writes, changes or deletes an entry.
"""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from civicgrid.audit import MAX_PAGE

from ..security import BEARER, authenticated, call

SERVICES = ("grid", "petitions", "points", "notify")

blp = Blueprint("audit", __name__, url_prefix="/api/v1/districts",
                description="The audit trail: who changed what, when and from where (read-only)")


class TrailQuery(Schema):
    actor = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "a user id"})
    action = fields.String(validate=validate.Length(min=1, max=64),
                           metadata={"description": "an action or its prefix: petitions.dispatch, points."})
    target = fields.String(validate=validate.Length(min=1, max=64),
                           metadata={"description": "what was changed: a petition id, an item id …"})
    from_ = fields.AwareDateTime(data_key="from", metadata={"description": "ISO-8601 with offset, inclusive"})
    to = fields.AwareDateTime(metadata={"description": "ISO-8601 with offset, exclusive"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


class EntryOut(Schema):
    """An entry as the services dumped it (civicgrid.audit.EntrySchema)."""
    id = fields.String()
    district = fields.String()
    at = fields.String(metadata={"description": "when, UTC ISO-8601"})
    service = fields.String()
    action = fields.String(metadata={"description": "<service>.<command>, or petitions.<action>"})
    target = fields.String(allow_none=True)
    fields_ = fields.List(fields.String(), attribute="fields", data_key="fields",
                          metadata={"description": "the names of the fields the command was given, never their values"})
    actor = fields.Dict(metadata={"description": "id, roles, name"})
    origin = fields.Dict(metadata={"description": "channel (http, open311, amqp, timer …), ip, user_agent, request_id"})


class TrailSchema(Schema):
    items = fields.List(fields.Nested(EntryOut))
    total = fields.Integer(metadata={"description": "entries matching, across all services"})


@blp.route("/<code>/audit", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(TrailQuery, location="query")
@blp.response(200, TrailSchema)
@authenticated
def trail(query, code):
    """The newest entries (district administrators and community staff of the district)."""
    params = {k: v for k, v in (("actor", query.get("actor")), ("action", query.get("action")),
                                ("target", query.get("target")), ("limit", query["limit"])) if v is not None}
    for key, value in (("from", query.get("from_")), ("to", query.get("to"))):
        if value is not None:
            params[key] = value.isoformat()
    answers = [call(service, "audit_trail", code, params) for service in SERVICES]
    items = sorted((item for answer in answers for item in answer["items"]),
                   key=lambda item: item["at"], reverse=True)
    return {"items": items[:query["limit"]], "total": sum(answer["total"] for answer in answers)}
