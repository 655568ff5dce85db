"""The audit trail: who changed what, when, and from where; written once, never edited.

Every command RPC of every service is decorated with ``@audited``: when it succeeds, the
service adds one entry to its own ``audit`` collection (no service reads another's). Entries
are only ever inserted; no RPC updates or deletes one, and the gateway offers them read-only.
"From where" is the origin the gateway puts in the RPC's context data (client address, user
agent, request id); department commands over AMQP and the services' own timers say so instead.

What an entry keeps of the request is the names of the fields it set, never their values: an
import carries passwords, a claim a resident's text.
"""
import functools
import inspect
import re
import uuid

from marshmallow import Schema, fields, validate

from .errors import Forbidden, NotFound
from .events import utcnow
from .validation import load, schema

CONTEXT_KEY = "civicgrid_origin"
READERS = ("district_admin", "community_staff")
MAX_PAGE = 100


def origin_of(data):
    """The origin a worker's context data carries, or the channel it came in by."""
    origin = data.get(CONTEXT_KEY)
    return dict(origin) if isinstance(origin, dict) else {"channel": "internal"}


def _field_names(value):
    return sorted(str(k) for k in value) if isinstance(value, dict) else []


def _target(arguments, answer):
    """What the command changed: the id in its answer (a created item), else its first argument."""
    if isinstance(answer, dict):
        for key in ("id", "_id", "petition_id", "order_id", "service_request_id"):
            if isinstance(answer.get(key), (str, int)) and not isinstance(answer.get(key), bool):
                return str(answer[key])
    for name, value in arguments.items():
        if name not in ("self", "district") and isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    return None


def entry(service, method, auth, origin, arguments, answer, now):
    # a platform administrator's district is the one the command names (create_district names its code)
    district = arguments.get("district") or auth.district or arguments.get("code")
    changed = sorted({name for value in arguments.values() for name in _field_names(value)})
    action = f"{service}.{method}"
    if method == "act" and isinstance(arguments.get("action"), str):
        action = f"{service}.{arguments['action']}"
    return {"_id": str(uuid.uuid4()), "district": district, "at": now, "service": service, "action": action,
            "target": _target(arguments, answer), "fields": changed,
            "actor": {"id": auth.user_id, "roles": list(auth.roles), "name": auth.name},
            "origin": origin}


def record(db, entry_):
    db.audit.insert_one(entry_)


def audited(method):
    """After the command succeeds, one audit entry in the service's own database."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        answer = method(self, *args, **kwargs)
        arguments = dict(signature.bind(self, *args, **kwargs).arguments)
        record(self.db, entry(self.name, method.__name__, self.auth, self.auth.origin, arguments, answer, utcnow()))
        return answer

    wrapper.audited = True
    return wrapper


class TrailQuery(Schema):
    """The query of ``GET /api/v1/districts/<code>/audit``, loaded by the gateway and again by each service."""
    actor = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "a user id"})
    action = fields.String(validate=validate.Length(min=1, max=64),
                           metadata={"description": "an action or its prefix: petitions.dispatch, points."})
    target = fields.String(validate=validate.Length(min=1, max=64),
                           metadata={"description": "what was changed: a petition id, an item id …"})
    created_from = fields.AwareDateTime(data_key="from", metadata={"description": "ISO-8601 with offset, inclusive"})
    created_to = fields.AwareDateTime(data_key="to", metadata={"description": "ISO-8601 with offset, exclusive"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


class EntrySchema(Schema):
    id = fields.String(attribute="_id")
    district = fields.String()
    at = fields.AwareDateTime()
    service = fields.String()
    action = fields.String()
    target = fields.String(allow_none=True)
    fields_ = fields.List(fields.String(), attribute="fields", data_key="fields")
    actor = fields.Dict()
    origin = fields.Dict()


def trail(db, auth, district, query):
    """The newest entries of a district (at most ``limit``), for its administrators and community staff."""
    if not auth.is_platform_admin:
        if auth.district != district:
            raise NotFound("no such district", {"district": [f"{district!r} not found"]})
        if not auth.has(*READERS):
            raise Forbidden("the district's administrators and community staff read its audit trail")
    params = load(TrailQuery(), query or {})
    selector = {"district": district}
    if "actor" in params:
        selector["actor.id"] = params["actor"]
    if "action" in params:
        selector["action"] = {"$regex": "^" + re.escape(params["action"])}
    if "target" in params:
        selector["target"] = params["target"]
    period = {k: v for k, v in (("$gte", params.get("created_from")), ("$lt", params.get("created_to"))) if v}
    if period:
        selector["at"] = period
    items = list(db.audit.find(selector).sort([("at", -1), ("_id", 1)]).limit(params["limit"]))
    return {"items": schema(EntrySchema, many=True).dump(items), "total": db.audit.count_documents(selector)}


def ensure_indexes(db):
    db.audit.create_index([("district", 1), ("at", -1)])
    db.audit.create_index([("district", 1), ("actor.id", 1), ("at", -1)])
