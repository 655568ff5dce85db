"""Open311 intake on the grid's side: applications' API keys, and the building a request lands in.

API keys. A district administrator issues a key per application (a 311 hotline, a
WeChat mini-program, a civic-tech map): ``application`` is the application's code,
``name`` how people know it. The key itself is shown once, when it is created; only
its SHA-256 is stored, with its last four characters as a hint. A key writes to its
own district only. Revoking is final; an application rotates by creating a new key
under the same ``application`` code (the submitters it knows keep their identity,
``open311:<application>:<email>``) and revoking the old one.

Where a request lands. An Open311 request locates itself by ``address_id``,
``address_string`` or ``lat``/``long``; a petition lives in a building, because the
building decides who handles it first (小事不出网格). ``match_building`` answers, in
this order of trust:

- ``address_id``: a building id of the district (the district's own address register);
- ``address_string``: the building whose name the address contains ("重庆市河边镇文昌社区
  竹林湾路28栋2单元" → 竹林湾路28栋); names of the building's community, grid or estate
  found in the address break ties between buildings of the same name, and a number is
  never matched inside a longer one (28栋 is not in 128栋);
- ``lat``/``long``: the nearest building with a recorded coordinate (a building node's
  ``location: {lat, lng}``) within ``MAX_DISTANCE_M``.

A request none of them places is refused with the reason, naming the parameter:
filing it nowhere would leave it with nobody to handle it.

Plain functions of a database and an ``AuthContext``, like ``domain.py``.
"""
import hashlib
import math
import re
import secrets
import unicodedata

from marshmallow import Schema, ValidationError, fields, validate
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from civicgrid.errors import Forbidden, Invalid, NotFound
from civicgrid.events import isoformat, utcnow

from .domain import _district, _member, _require_district_admin, _text
from .schemas import KEY, NAME

KEY_PREFIX = "o311_"
MAX_DISTANCE_M = 300


# -- shapes -------------------------------------------------------------------

class ApiKeyIn(Schema):
    application = fields.String(required=True, validate=KEY, metadata={
        "description": "the application's code (letters, digits, '_' or '-'); submitters are known to the "
                       "platform as open311:<application>:<email>, so keep it when rotating keys"})
    name = fields.String(required=True, validate=NAME, metadata={"description": "how people know the application"})
    contact = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                            metadata={"description": "who runs the application (for the district's records)"})


class ApiKeyOut(Schema):
    id = fields.String()
    district = fields.String()
    application = fields.String()
    name = fields.String()
    contact = fields.String(allow_none=True)
    key_hint = fields.String(metadata={"description": "the key's last four characters"})
    created_at = fields.String()
    created_by = fields.String()
    last_used_at = fields.String(allow_none=True)
    revoked_at = fields.String(allow_none=True)
    revoked_by = fields.String(allow_none=True)


class ApiKeyCreatedOut(ApiKeyOut):
    key = fields.String(metadata={"description": "the API key: shown this once, only its hash is kept"})


def _time(moment):
    return isoformat(moment) if moment else None


def _view(doc):
    return ApiKeyOut().dump({**doc, "created_at": _time(doc["created_at"]),
                             "last_used_at": _time(doc.get("last_used_at")),
                             "revoked_at": _time(doc.get("revoked_at"))})


def _digest(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# -- administration (the district's administrator, the platform) ----------------

def create_api_key(db, auth, district, application):
    """Issue a key for an application; the answer is the only place the key ever appears."""
    _require_district_admin(auth, _text(district, "district"), "issue Open311 API keys")
    _district(db, district)
    if not isinstance(application, dict):
        raise Invalid("the application must be an object", {"_schema": ["must be an object"]})
    try:
        fields_ = ApiKeyIn().load(application)
    except ValidationError as err:
        raise Invalid(f"invalid API key request: {', '.join(sorted(err.messages))}", err.messages)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    doc = {"id": "ak-" + secrets.token_hex(6), "district": district, **fields_,
           "key_hash": _digest(key), "key_hint": key[-4:], "created_at": utcnow(), "created_by": auth.user_id,
           "last_used_at": None, "revoked_at": None, "revoked_by": None}
    try:
        db.api_keys.insert_one(doc)
    except DuplicateKeyError:  # 256 random bits colliding: try once more rather than fail
        return create_api_key(db, auth, district, application)
    return ApiKeyCreatedOut().dump({**_view(doc), "key": key})


def list_api_keys(db, auth, district):
    _require_district_admin(auth, _text(district, "district"), "see Open311 API keys")
    return [_view(doc) for doc in db.api_keys.find({"district": district}).sort([("created_at", 1), ("id", 1)])]


def revoke_api_key(db, auth, district, key_id):
    """Revoke for good (idempotent): requests signed with it are refused from now on."""
    _require_district_admin(auth, _text(district, "district"), "revoke Open311 API keys")
    doc = db.api_keys.find_one_and_update(
        {"district": district, "id": _text(key_id, "key_id"), "revoked_at": None},
        {"$set": {"revoked_at": utcnow(), "revoked_by": auth.user_id}}, return_document=ReturnDocument.AFTER)
    if doc is None:
        doc = db.api_keys.find_one({"district": district, "id": key_id})
        if doc is None:
            raise NotFound(f"no API key {key_id!r} in district {district!r}", {"key_id": "not found"})
    return _view(doc)


# -- the gateway asks: whose key is this? ---------------------------------------

def check_api_key(db, api_key, now=None):
    """``{district, application, name, key_id}`` of a valid key; ``Forbidden`` naming the problem otherwise.

    Anyone may ask (the gateway does, before it knows anything about the caller):
    the answer reveals nothing a key's holder does not know already.
    """
    if not isinstance(api_key, str) or not api_key.strip():
        raise Forbidden("api_key was not provided", {"api_key": "required"})
    doc = db.api_keys.find_one({"key_hash": _digest(api_key.strip())})
    if doc is None:
        raise Forbidden("invalid api_key: no application holds this key", {"api_key": "unknown"})
    if doc.get("revoked_at"):
        raise Forbidden(f"api_key revoked by district {doc['district']!r} on {_time(doc['revoked_at'])[:10]}: "
                        "ask its administrator for a new one", {"api_key": "revoked"})
    db.api_keys.update_one({"_id": doc["_id"]}, {"$set": {"last_used_at": now or utcnow()}})
    return {"district": doc["district"], "application": doc["application"], "name": doc["name"],
            "key_id": doc["id"]}


# -- where a request lands -------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-_,，.。·・、;；:：#＃/\\()（）\[\]【】\"'“”‘’]+")


def normalise(text):
    """Compare addresses as people write them: full-width forms, case, spaces and punctuation do not count."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def _occurs(name, address):
    """``name`` occurs in ``address``, and a number in it is not part of a longer number there."""
    if not name:
        return False
    start = address.find(name)
    while start != -1:
        end = start + len(name)
        before = address[start - 1] if start else ""
        after = address[end] if end < len(address) else ""
        if not (name[0].isdigit() and before.isdigit()) and not (name[-1].isdigit() and after.isdigit()):
            return True
        start = address.find(name, start + 1)
    return False


def _distance_m(lat1, lng1, lat2, lng2):
    """Great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(min(1.0, a)))


def _match(building, matched_by, **extra):
    return {"building_id": building["id"], "name": building["name"], "matched_by": matched_by, **extra}


def _by_address(db, district, address):
    wanted = normalise(address)
    if not wanted:
        return None
    buildings = list(db.nodes.find({"district": district, "type": "building"}, {"id": 1, "name": 1, "path": 1}))
    for building in buildings:
        if normalise(building["id"]) == wanted:
            return _match(building, "address_string")
    places = {n["id"]: normalise(n["name"]) for n in db.nodes.find(
        {"district": district, "type": {"$ne": "building"}}, {"id": 1, "name": 1})}
    scored = []
    for building in buildings:
        name = normalise(building["name"])
        if _occurs(name, wanted):
            around = sum(len(places[p]) for p in building["path"][1:-1] if _occurs(places.get(p), wanted))
            scored.append((len(name) + around, building))
    if not scored:
        return None
    scored.sort(key=lambda s: -s[0])
    best = [b for score, b in scored if score == scored[0][0]]
    if len(best) > 1:
        names = "、".join(sorted(f"{b['name']} ({b['id']})" for b in best[:5]))
        raise Invalid("address_string matches several buildings",
                      {"address_string": f"matches several buildings of district {district!r}: {names}; "
                                         "add the community or estate, or send address_id"})
    return _match(best[0], "address_string")


def _by_coordinate(db, district, lat, lng):
    nearest = None
    located = 0
    for building in db.nodes.find({"district": district, "type": "building", "location": {"$ne": None}},
                                  {"id": 1, "name": 1, "location": 1}):
        where = building.get("location") or {}
        if not isinstance(where.get("lat"), (int, float)) or not isinstance(where.get("lng"), (int, float)):
            continue
        located += 1
        distance = _distance_m(lat, lng, where["lat"], where["lng"])
        if nearest is None or distance < nearest[0]:
            nearest = (distance, building)
    if nearest is None:
        raise Invalid("no building of the district has a coordinate",
                      {"lat/long": f"district {district!r} has recorded no building coordinates yet, so lat/long "
                                   "alone cannot place a request: send address_string (the building's name) "
                                   "or address_id (its id)"})
    distance, building = nearest
    if distance > MAX_DISTANCE_M:
        raise Invalid("no building near lat/long",
                      {"lat/long": f"({lat}, {lng}) is {distance:.0f} m from the nearest building of district "
                                   f"{district!r} ({building['name']}), more than {MAX_DISTANCE_M} m: send "
                                   "address_string or address_id"})
    return _match(building, "lat/long", distance_m=round(distance))


def match_building(db, auth, district, address_id=None, address=None, lat=None, lng=None):
    """The building an Open311 request is about: ``{building_id, name, matched_by[, distance_m]}``."""
    _member(auth, district)
    if address_id not in (None, ""):
        found = db.nodes.find_one({"district": district, "id": _text(address_id, "address_id"), "type": "building"})
        if found is None:
            raise Invalid("unknown address_id",
                          {"address_id": f"{address_id!r} is not a building of district {district!r}"})
        return _match(found, "address_id")
    has_coordinate = lat is not None and lng is not None
    if has_coordinate and (isinstance(lat, bool) or isinstance(lng, bool)
                           or not isinstance(lat, (int, float)) or not isinstance(lng, (int, float))):
        raise Invalid("lat/long must be numbers", {"lat/long": "must be numbers"})
    unmatched = {}
    if address not in (None, ""):
        found = _by_address(db, district, _text(address, "address_string"))
        if found:
            return found
        unmatched["address_string"] = (f"names no building of district {district!r}: include the building's name "
                                       "as the district's register has it (e.g. 竹林湾路28栋), or send address_id")
    if has_coordinate:
        try:
            return _by_coordinate(db, district, float(lat), float(lng))
        except Invalid as err:
            unmatched.update(err.errors)
    if unmatched:
        raise Invalid("the location matches no building: " + ", ".join(sorted(unmatched)), unmatched)
    raise Invalid("a location is required",
                  {"location": "send lat and long, address_string or address_id"})
