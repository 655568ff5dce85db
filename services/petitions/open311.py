"""Open311 GeoReport v2 requests as petitions: filing one, and the public view of them.

Plain Python; ``service.py`` exposes ``open311_submit`` and ``open311_requests``.

Who asks. The gateway checks an application's API key with the grid service and
then calls with a short-lived token of its own making: user ``open311:<application>``,
the key's district, role ``open311_client`` (filing) — or ``open311_reader`` for the
public reads, which need no key. Both are only ever minted by the gateway.

Who files. A request is a petition like any other: it is submitted through
``usecases.submit`` on behalf of a resident without a platform account,
``open311:<application>:<email>`` (else ``:account:<account_id>``, ``:device:<device_id>``,
or ``:anonymous``), so the same person filing twice through the same application is
one resident to the platform (duplicates, merges, followers). The contact fields are
kept with the petition (``open311.contact``) and never shown through Open311.

What is public. Open311 shows only petitions filed through Open311, and never the
submitter: residents who file on the platform did not publish their petitions, and
help requests (求助, kind ``help``) are not offered as services at all.

Status. ``open`` while a petition is submitted, in progress, escalated or dispatched;
``closed`` once resolved ("closed: it has been resolved", as the standard puts it),
closed, withdrawn or merged. ``status_notes`` carries the detailed state and level,
``agency_responsible`` the department while one holds it, ``expected_datetime``
the current deadline of an open petition.
"""
import math
from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from civicgrid.auth import AuthContext
from civicgrid.errors import Forbidden, Invalid, NotFound
from civicgrid.events import isoformat
from civicgrid.validation import load, schema

from . import domain, usecases
from .deadlines import aware, is_overdue
from .dependencies import GridDirectory

CLIENT_ROLE = "open311_client"
READER_ROLE = "open311_reader"
USER_PREFIX = "open311:"

OPEN = domain.OPEN_STATES
CLOSED = ("resolved", "closed", "withdrawn", "merged")
STATUSES = {"open": OPEN, "closed": CLOSED}

WINDOW = timedelta(days=90)   # the standard's longest start_date..end_date span, and the default range
LIMIT = 1000                  # "or first 1000 requests returned, whichever is smallest"
TITLE_LENGTH = 60

# a petition's field as the standard names it, for error descriptions
PARAMETERS = {"category": "service_code", "title": "description", "description": "description",
              "media": "media_url", "address": "address_string", "building_id": "address_id",
              "location": "lat/long", "kind": "service_code"}


class Directory(GridDirectory):
    """The grid's answers Open311 needs besides the petitions service's own."""

    def match_building(self, district, address_id=None, address=None, lat=None, lng=None):
        return self.proxy.match_building(district, address_id, address, lat, lng)

    def list_departments(self, district):
        return self.proxy.list_departments(district)


# -- filing --------------------------------------------------------------------

class RequestSchema(Schema):
    """POST requests: the standard's arguments, already read from the form by the gateway."""
    service_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90))
    long = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-180, max=180))
    address_string = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    address_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    attributes = fields.Dict(keys=fields.String(), load_default=dict)
    # The standard's own limit for a description.
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    media_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=200))
    device_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    account_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    first_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    last_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))

    @validates_schema
    def _whole_coordinate(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("long") is None):
            missing = "long" if data.get("long") is None else "lat"
            raise ValidationError("lat and long are sent together", missing)


def _client(auth):
    auth.require()
    if not auth.has(CLIENT_ROLE) or not (auth.user_id or "").startswith(USER_PREFIX) or not auth.district:
        raise Forbidden("only an Open311 application, through its API key, files Open311 requests")
    return auth


def _reader(auth):
    auth.require()
    if not auth.has(READER_ROLE, CLIENT_ROLE) or not auth.district:
        raise Forbidden("Open311 reads go through the gateway's /open311/v2")
    return auth


def offered(category):
    """Services an Open311 client may file: issues, never personal help requests (求助)."""
    return category.get("kind", "issue") == "issue"


def _service(directory, district, code):
    category = next((c for c in directory.list_categories(district) if c["category"] == code), None)
    if category is None or not offered(category):
        raise NotFound(f"service_code {code!r} not found in jurisdiction {district!r}",
                       {"service_code": [f"{code!r} is not a service of {district!r}: GET services lists them"]})
    return category


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def attribute_values(category, raw):
    """The form's strings as the category's fields take them: numbers, one choice, a list of choices.

    What the category does not define, and whether required ones are there, is left to
    ``attributes.validate`` (through ``usecases.submit``), so the rules stay in one place.
    """
    kinds = {f["code"]: f["type"] for f in category.get("fields") or []}
    values, errors = {}, {}
    for code, value in raw.items():
        many = isinstance(value, list)
        kind = kinds.get(code)
        if kind == "multiple_choice":
            values[code] = list(value) if many else [value]
        elif many and len(value) != 1:
            errors[f"attributes.{code}"] = [f"takes one value, not {len(value)}"]
        else:
            value = value[0] if many else value
            if kind == "number":
                number = _number(value) if isinstance(value, str) else None
                if number is None:
                    errors[f"attributes.{code}"] = ["must be a number"]
                    continue
                value = number
            values[code] = value
    if errors:
        raise Invalid("invalid attributes: " + ", ".join(sorted(errors)), errors)
    return values


def open311_names(errors):
    """Errors keyed the way an Open311 client sent the request: ``attribute[code]``, ``service_code``."""
    named = {}
    for key, messages in (errors or {}).items():
        if key.startswith("attributes."):
            key = f"attribute[{key[len('attributes.'):]}]"
        else:
            key = PARAMETERS.get(key, key)
        named.setdefault(key, [])
        named[key] += messages if isinstance(messages, list) else [messages]
    return named


def submitter(auth, fields):
    """``(resident_id, account_id)``: who the platform takes the submitter to be."""
    if fields.get("email"):
        who = fields["email"].strip().lower()
    elif fields.get("account_id"):
        who = "account:" + fields["account_id"].strip()
    elif fields.get("device_id"):
        who = "device:" + fields["device_id"].strip()
    else:
        return f"{auth.user_id}:anonymous", None
    resident_id = f"{auth.user_id}:{who}"
    return resident_id, resident_id


def _title(category, description):
    line = (description or "").strip().splitlines()[0].strip() if (description or "").strip() else ""
    if not line:
        return category.get("name") or category["category"]
    return line if len(line) <= TITLE_LENGTH else line[:TITLE_LENGTH - 1] + "…"


class _Tagged:
    """The repository, adding the Open311 block to the petition it stores (one insert, nothing else)."""

    def __init__(self, repo, extra):
        self._repo = repo
        self._extra = extra

    def add(self, petition, events):
        self._repo.add(dict(petition, **self._extra), events)

    def __getattr__(self, name):
        return getattr(self._repo, name)


def submit(repo, directory, auth, request, now):
    """File an Open311 request as a petition; returns ``(petition, duplicates, receipt)``.

    Everything is checked before anything is written: an unknown service (``NotFound``),
    a missing or unplaceable location, bad or missing attributes (``Invalid``, keyed by
    the standard's parameter names).
    """
    _client(auth)
    district = auth.district
    try:
        fields_ = load(schema(RequestSchema), request)
    except Invalid as err:
        raise Invalid(err.message, open311_names(err.errors))
    category = _service(directory, district, fields_["service_code"])
    problems = {}
    try:
        values = attribute_values(category, fields_["attributes"])
    except Invalid as err:
        problems.update(open311_names(err.errors))
    if fields_["lat"] is None and not fields_["address_string"] and not fields_["address_id"]:
        problems["location"] = ["send lat and long, address_string or address_id"]
    if problems:
        raise Invalid("invalid request: " + ", ".join(sorted(problems)), problems)
    building = directory.match_building(district, fields_["address_id"], fields_["address_string"],
                                        fields_["lat"], fields_["long"])

    resident_id, account_id = submitter(auth, fields_)
    resident = AuthContext(user_id=resident_id, district=district, roles=("resident",),
                           name=" ".join(filter(None, (fields_["first_name"], fields_["last_name"]))) or None)
    location = {"lat": fields_["lat"], "lng": fields_["long"]} if fields_["lat"] is not None else None
    payload = {
        "category": category["category"], "title": _title(category, fields_["description"]),
        "description": fields_["description"], "building_id": building["building_id"],
        "attributes": values, "media": [fields_["media_url"]] if fields_["media_url"] else [],
        "location": location, "address": fields_["address_string"] or building["name"],
    }
    contact = {k: fields_[k] for k in ("email", "first_name", "last_name", "phone", "device_id", "account_id")
               if fields_[k]}
    block = {"open311": {"application": auth.user_id[len(USER_PREFIX):], "application_name": auth.name,
                         "contact": contact, "address_string": fields_["address_string"],
                         "address_id": fields_["address_id"], "matched_by": building["matched_by"]}}
    try:
        petition, duplicates = usecases.submit(_Tagged(repo, block), directory, resident, payload, now)
    except Invalid as err:
        raise Invalid(err.message, open311_names(err.errors))
    petition = dict(petition, **block)
    deadline = petition.get("deadline")
    receipt = {
        "service_request_id": petition["_id"], "account_id": account_id,
        "building": building["name"], "matched_by": building["matched_by"], "level": petition["level"],
        "deadline": deadline["kind"] if deadline else None,
        "due_at": isoformat(aware(deadline["due_at"])) if deadline else None,
        "possible_duplicates": len(duplicates),
    }
    return petition, duplicates, receipt


# -- reading ---------------------------------------------------------------------

def _comma_list(value, name, allowed=None, limit=LIMIT):
    if value in (None, ""):
        return None
    items = [v.strip() for v in str(value).split(",") if v.strip()]
    if not items:
        return None
    if len(items) > limit:
        raise Invalid(f"too many values in {name}", {name: [f"at most {limit}"]})
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise Invalid(f"invalid {name}", {name: [f"{', '.join(bad)}: use {' or '.join(allowed)}"]})
    return items


class QuerySchema(Schema):
    """GET requests: the gateway passes the query string as it came, dates already with an offset."""
    service_request_id = fields.String(load_default=None, allow_none=True)
    service_code = fields.String(load_default=None, allow_none=True)
    start_date = fields.AwareDateTime(load_default=None, allow_none=True)
    end_date = fields.AwareDateTime(load_default=None, allow_none=True)
    status = fields.String(load_default=None, allow_none=True)


def window(start, end, now):
    """The requested_datetime range: at most 90 days, the most recent 90 when nothing is given."""
    if start and end:
        if end < start:
            raise Invalid("end_date is before start_date", {"end_date": ["must not be before start_date"]})
        if end - start > WINDOW:
            raise Invalid("start_date and end_date may not span more than 90 days",
                          {"end_date": [f"spans {(end - start).days} days from start_date: at most 90"]})
        return start, end
    if start:
        return start, start + WINDOW
    if end:
        return end - WINDOW, end
    return now - WINDOW, now


def selector(district, query, now):
    params = load(schema(QuerySchema), query)
    base = {"district": district, "open311": {"$exists": True}}
    ids = _comma_list(params["service_request_id"], "service_request_id")
    if ids:
        # "This overrides all other arguments."
        return {**base, "_id": {"$in": ids}}
    clauses = dict(base)
    codes = _comma_list(params["service_code"], "service_code")
    if codes:
        clauses["category"] = {"$in": codes}
    statuses = _comma_list(params["status"], "status", allowed=tuple(STATUSES))
    if statuses:
        clauses["status"] = {"$in": [s for name in statuses for s in STATUSES[name]]}
    start, end = window(params["start_date"], params["end_date"], now)
    clauses["created_at"] = {"$gte": start, "$lte": end}
    return clauses


def requests(repo, directory, auth, query, now):
    """The Open311 view of the jurisdiction's Open311 requests, newest first, at most 1000."""
    _reader(auth)
    district = auth.district
    docs = repo.find(selector(district, query, now), limit=LIMIT, sort="newest")
    if not docs:
        return []
    names = {c["category"]: c.get("name") for c in directory.list_categories(district)}
    departments = {d["id"]: d["name"] for d in directory.list_departments(district)}
    merged = sorted({d["merged_into"] for d in docs if d["status"] == "merged" and d.get("merged_into")})
    originals = {o["_id"]: o for o in repo.find({"district": district, "_id": {"$in": merged}}, limit=len(merged))} \
        if merged else {}
    return [request_view(d, names, departments, originals, now) for d in docs]


def _time(moment):
    return isoformat(aware(moment)) if moment else None


def _last(doc, action):
    return next((e for e in reversed(doc.get("timeline") or []) if e["action"] == action), None)


def status_notes(doc, departments, originals=None, now=None):
    """The detailed state behind open/closed, in one line."""
    status, level = doc["status"], doc["level"]
    department = departments.get(doc.get("department_id")) or doc.get("department_id")
    if status == "submitted" and level == "party":
        note = "submitted: offered to the party members of the community (居民吹哨，党员报到)"
    elif status == "submitted":
        note = "submitted: waiting for the building leader or grid worker to take it on"
    elif status == "in_progress" and level in ("party", "grid"):
        note = "in_progress: being handled in the grid (小事不出网格)"
    elif status == "escalated":
        returned = _last(doc, "return")
        if returned and doc["timeline"][-1] is returned:
            note = f"escalated: returned to the community by the department ({returned.get('note')})"
        else:
            note = "escalated: whistled up to the community (网格吹哨，社区报到)"
    elif status == "in_progress" and level == "community":
        note = "in_progress: being handled by the community"
    elif status == "dispatched":
        note = f"dispatched: sent to {department} (社区吹哨，部门报到), waiting for it to accept"
    elif status == "in_progress":
        note = f"in_progress: accepted and being handled by {department}"
    elif status == "resolved":
        note = f"resolved: {doc.get('resolution')}"
    elif status == "closed":
        note = f"closed: resolved ({doc.get('resolution')})" if doc.get("resolution") else "closed"
    elif status == "withdrawn":
        note = "closed: withdrawn by the submitter"
    elif status == "merged":
        original = (originals or {}).get(doc.get("merged_into"))
        note = f"closed: duplicate of {doc.get('merged_into')}"
        if original is not None:
            note += f", which is {original['status']} at {original['level']} level"
    else:
        note = status
    if status in OPEN and now is not None and is_overdue(doc, now):
        note += "; overdue"
    return note


def request_view(doc, names, departments, originals=None, now=None):
    """One petition as a GeoReport v2 ``request`` (UTC times; the gateway shows them at the district's offset)."""
    deadline = doc.get("deadline")
    location = doc.get("location") or {}
    media = doc.get("media") or []
    return {
        "service_request_id": doc["_id"],
        "status": "open" if doc["status"] in OPEN else "closed",
        "status_notes": status_notes(doc, departments, originals, now),
        "service_name": names.get(doc["category"]) or doc["category"],
        "service_code": doc["category"],
        "description": doc.get("description") or None,
        "agency_responsible": departments.get(doc.get("department_id")) or doc.get("department_id"),
        "service_notice": None,
        "requested_datetime": _time(doc["created_at"]),
        "updated_datetime": _time(doc["updated_at"]),
        "expected_datetime": _time(deadline["due_at"]) if deadline and doc["status"] in OPEN else None,
        "address": doc.get("address") or None,
        "address_id": doc["building_id"],
        "zipcode": None,
        "lat": location.get("lat"),
        "long": location.get("lng"),
        "media_url": media[0] if media else None,
    }
