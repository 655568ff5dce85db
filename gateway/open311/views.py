"""Open311 GeoReport v2 under ``/open311/v2``: discovery, services, requests (GET and POST).

Every endpoint answers ``.xml`` (the standard's required format) and ``.json``. Reads are
public, as the standard has them; a POST needs an ``api_key`` a district administrator
issued to the application (``/api/v1/districts/<code>/api-keys``), and writes to that
district only. ``jurisdiction_id`` is the district code and is required (one deployment
serves many districts).

The gateway talks to the services with short-lived tokens it signs for the occasion,
never handed out: ``open311:public`` with role ``open311_reader`` for reads, and
``open311:<application>`` with role ``open311_client`` for a POST whose key checked out.
Every service verifies them as it verifies a signed-in user's.
"""
import re
from datetime import datetime, time

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import HTTPException

from civicgrid import config
from civicgrid.auth import issue_token
from civicgrid.errors import NotFound

from ..security import origin
from . import errors
from .errors import Open311Error
from .render import district_timezone, local_time, local_times, respond

bp = Blueprint("open311", __name__, url_prefix="/open311")
errors.register(bp)

FORMAT = "<any(json, xml):fmt>"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-22T00:00:00+08:00"   # when these endpoints last changed
FORMATS = ["text/xml", "application/json"]
READER, CLIENT = "open311_reader", "open311_client"
TOKEN_SECONDS = 60

DATATYPES = {"string": "string", "number": "number", "single_choice": "singlevaluelist",
             "multiple_choice": "multivaluelist"}
DATATYPE_DESCRIPTIONS = {
    "string": "text of at most 500 characters",
    "number": "a number, e.g. 3 or 2.5",
    "single_choice": "one key of values",
    "multiple_choice": "one or more keys of values, sent as attribute[code][]=key for each",
}
CONTACT_FIELDS = ("email", "device_id", "account_id", "first_name", "last_name", "phone")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?\Z")


@bp.url_value_preprocessor
def _format(endpoint, values):
    if values and "fmt" in values:
        g.open311_format = values.pop("fmt")


# -- talking to the services ------------------------------------------------------

def _call(token, service, method, *args):
    return current_app.extensions["civicgrid_rpc"].call(token, service, method, *args,
                                                        origin=dict(origin(), channel="open311"))


def _token(district, user_id, role, name=None):
    return issue_token(user_id, district, [role], name=name, ttl=TOKEN_SECONDS)[0]


def _value(source, name):
    """An argument, ``None`` when absent or empty ("a null parameter ... equivalent to a non-declared one")."""
    value = source.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _jurisdiction(source):
    code = _value(source, "jurisdiction_id")
    if code is None:
        raise Open311Error(400, "jurisdiction_id was not provided: it is the district code, e.g. jurisdiction_id=hb")
    return code


def _reader(code):
    """A read token for the jurisdiction, once it is known to exist."""
    token = _token(code, "open311:public", READER)
    try:
        _call(token, "grid", "get_district", code)
    except NotFound:
        raise Open311Error(404, f"jurisdiction_id {code!r} not found")
    return token


# -- discovery ----------------------------------------------------------------------

def _base_url():
    configured = current_app.config.get("OPEN311_BASE_URL") or config.open311_setting("BASE_URL")
    return (configured or request.url_root.rstrip("/") + "/open311/v2").rstrip("/")


@bp.route(f"/discovery.{FORMAT}")
@bp.route(f"/v2/discovery.{FORMAT}")
def discovery():
    contact = current_app.config.get("OPEN311_CONTACT") or config.open311_setting("CONTACT") or \
        "the administrator of your district (jurisdiction_id = the district code)"
    document = {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": "API keys are issued per application by a district administrator: "
                       "POST /api/v1/districts/<jurisdiction_id>/api-keys",
        "endpoints": [{"specification": SPECIFICATION, "url": _base_url(), "changeset": CHANGESET,
                       "type": "production", "formats": FORMATS}],
    }
    return respond(g.open311_format, "discovery", document)


# -- services -------------------------------------------------------------------------

def _offered(category):
    return category.get("kind", "issue") == "issue"


def service_view(category):
    return {"service_code": category["category"], "service_name": category["name"],
            "description": category.get("description") or None, "metadata": bool(category.get("fields")),
            "type": "realtime", "keywords": None, "group": category.get("department_name")}


def attribute_view(order, field):
    description = field["name"] + (f": {field['description']}" if field.get("description") else "")
    attribute = {"variable": True, "code": field["code"], "datatype": DATATYPES[field["type"]],
                 "required": bool(field.get("required")),
                 "datatype_description": DATATYPE_DESCRIPTIONS[field["type"]], "order": order,
                 "description": description}
    if field["type"] in ("single_choice", "multiple_choice"):
        attribute["values"] = [{"key": c["key"], "name": c["name"]} for c in field.get("choices") or []]
    return attribute


@bp.route(f"/v2/services.{FORMAT}")
def services():
    code = _jurisdiction(request.args)
    categories = _call(_reader(code), "grid", "list_categories", code)
    return respond(g.open311_format, "services", [service_view(c) for c in categories if _offered(c)])


@bp.route(f"/v2/services/<service_code>.{FORMAT}")
def service_definition(service_code):
    code = _jurisdiction(request.args)
    token = _reader(code)
    try:
        category = _call(token, "grid", "get_category", code, service_code)
    except NotFound:
        category = None
    if category is None or not _offered(category):
        raise Open311Error(404, f"service_code {service_code!r} not found in jurisdiction {code!r}")
    document = {"service_code": category["category"],
                "attributes": [attribute_view(i, f) for i, f in enumerate(category.get("fields") or [], 1)]}
    return respond(g.open311_format, "service_definition", document)


# -- requests: reading -------------------------------------------------------------------

def _date(name):
    """A W3C date-time; without an offset it is the district's local time, a bare date its midnight."""
    text = _value(request.args, name)
    if text is None:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            moment = datetime.combine(datetime.fromisoformat(text).date(), time())
        else:
            # an unencoded "+" in a query string arrives as a space
            moment = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise Open311Error(400, f"{name}: {text!r} is not a W3C date-time such as 2026-11-01T00:00:00Z")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=district_timezone())
    return moment.isoformat()


def _listed(name):
    """A filter that takes several values: comma-delimited and/or "declared multiple times"
    (``status=open&status=closed``), as the standard's ``status`` is; ``None`` when absent or empty."""
    given = [v.strip() for v in request.args.getlist(name) if v and v.strip()]
    return ",".join(given) or None


def _requests(token, query):
    tz = district_timezone()
    return [local_times(item, tz) for item in _call(token, "petitions", "open311_requests", query)]


@bp.route(f"/v2/requests.{FORMAT}", methods=["GET"])
def list_requests():
    code = _jurisdiction(request.args)
    token = _reader(code)
    query = {name: _listed(name) for name in ("service_request_id", "service_code", "status")}
    query.update(start_date=_date("start_date"), end_date=_date("end_date"))
    return respond(g.open311_format, "service_requests", _requests(token, query))


@bp.route(f"/v2/requests/<service_request_id>.{FORMAT}", methods=["GET"])
def get_request(service_request_id):
    code = _jurisdiction(request.args)
    token = _reader(code)
    found = [] if "," in service_request_id else _requests(token, {"service_request_id": service_request_id})
    if not found:
        raise Open311Error(404, f"service_request_id {service_request_id!r} not found in jurisdiction {code!r}")
    return respond(g.open311_format, "service_requests", found)


@bp.route(f"/v2/tokens/<token>.{FORMAT}", methods=["GET"])
def token_(token):
    raise Open311Error(404, f"token {token!r} not found: this endpoint issues no tokens, POST requests answers "
                            "with the service_request_id right away")


# -- requests: filing ------------------------------------------------------------------------

def _form(name):
    """A POST argument: the form body, as the standard sends it, else the query string."""
    value = _value(request.form, name)
    return value if value is not None else _value(request.args, name)


def _attributes():
    """``attribute[code]=value`` and, for a multivaluelist, ``attribute[code][]=value`` repeated."""
    values = {}
    for source in (request.args, request.form):   # the form wins
        for key in source:
            match = _ATTRIBUTE.match(key)
            if not match:
                continue
            given = [v.strip() for v in source.getlist(key) if v.strip()]
            if not given:
                continue
            values[match.group(1)] = given if match.group(2) or len(given) > 1 else given[0]
    return values


def _application(code):
    """The application the api_key belongs to, if it may write to jurisdiction ``code``."""
    api_key = _form("api_key")
    if api_key is None:
        raise Open311Error(403, "api_key was not provided: ask the district's administrator for one")
    application = _call(None, "grid", "check_api_key", api_key)
    if application["district"] != code:
        _reader(code)   # 404 if the jurisdiction does not exist at all
        raise Open311Error(403, f"this api_key was issued by jurisdiction {application['district']!r} to "
                                f"{application['name']} and files requests there only, not in {code!r}")
    return application


def service_notice(receipt, code, fmt):
    """What happens next, in one sentence or three."""
    rid = receipt["service_request_id"]
    who = {"party": "the community's party members take it on",
           "grid": "the building leader or grid worker takes it on"}.get(receipt["level"], "it is taken on")
    notice = f"Received as {rid} for {receipt['building']} (placed by {receipt['matched_by']}); {who}"
    if receipt.get("due_at"):
        notice += f" by {local_time(receipt['due_at'])}"
    notice += f". Follow it at requests/{rid}.{fmt}?jurisdiction_id={code}."
    if receipt.get("possible_duplicates"):
        count = receipt["possible_duplicates"]
        notice += (f" {count} open request{'s' if count > 1 else ''} of this service in this building "
                   "came in during the last 7 days: it may be the same problem.")
    return notice


@bp.route(f"/v2/requests.{FORMAT}", methods=["POST"])
def create_request():
    if request.is_json:
        raise Open311Error(400, "send the request form-encoded (Content-Type: application/x-www-form-urlencoded), "
                                "as the standard says")
    code = _jurisdiction(request.form if _value(request.form, "jurisdiction_id") else request.args)
    application = _application(code)
    service_code = _form("service_code")
    if service_code is None:
        raise Open311Error(400, "service_code was not provided: GET services lists them")
    body = {"service_code": service_code, "attributes": _attributes()}
    for name in ("lat", "long", "address_string", "address_id", "description", "media_url") + CONTACT_FIELDS:
        value = _form(name)
        if value is not None:
            body[name] = value
    token = _token(code, f"open311:{application['application']}", CLIENT, name=application["name"])
    receipt = _call(token, "petitions", "open311_submit", body)
    answer = [{"service_request_id": receipt["service_request_id"],
               "service_notice": service_notice(receipt, code, g.open311_format),
               "account_id": receipt["account_id"]}]
    return respond(g.open311_format, "service_requests", answer)


# -- everything else under /open311 ---------------------------------------------------------

@bp.route("", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def elsewhere(rest):
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
    if allowed:
        raise Open311Error(405, f"{request.method} is not allowed here: use {' or '.join(allowed)}",
                           headers={"Allow": ", ".join(allowed)})
    raise Open311Error(404, f"no such resource: {request.path} (see /open311/v2/discovery.xml; every resource "
                            "ends in .xml or .json)")
