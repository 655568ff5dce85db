"""The district's audit trail, read-only: every service's entries, newest first, in one list.

Each service keeps the entries of its own commands (civicgrid.audit); the gateway asks all of
them and merges. There is no route that writes, changes or deletes an entry.
"""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from civicgrid.audit import TrailQuery

from ..security import BEARER, authenticated, call

SERVICES = ("grid", "petitions", "points", "notify")

blp = Blueprint("audit", __name__, url_prefix="/api/v1/districts",
                description="The audit trail: who changed what, when and from where (read-only)")


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
    # the services load the same query schema again: send it as the client did, in its wire form
    params = TrailQuery().dump(query)
    answers = [call(service, "audit_trail", code, params) for service in SERVICES]
    items = sorted((item for answer in answers for item in answer["items"]),
                   key=lambda item: item["at"], reverse=True)
    return {"items": items[:query["limit"]], "total": sum(answer["total"] for answer in answers)}
