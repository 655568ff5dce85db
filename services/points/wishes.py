"""Micro-wishes (微心愿): a resident wishes, a party member, volunteer or organisation adopts and fulfils it.

open ─ adopt ─► adopted ─ fulfil ─► fulfilled ─ confirm ─► confirmed (the adopter's points)
  ├─ withdraw (the resident or staff, before anyone adopts) ─► withdrawn
  └─ its wanted_by day passes with nobody adopting ─► expired (the timer)

Every move is one conditional update on the wish (its status as read), carrying its event
in the wish's outbox: of two people adopting at once one wins, the other hears 409. The
timer flags a wish open and unadopted for the district's ``flag_days`` (once: the write
is conditioned on ``flagged`` being false) and expires one past its day.

Confirming fixes the amount by the rule in force (``wish_fulfilled`` for a person, capped
like any earning; ``wish_fulfilled_organisation`` for an organisation, to its account
``org:<district>:<id>``, uncapped) and marks the wish ``awarded: false`` in the same
write; the ledger transaction ``wish:<id>`` is booked right after (once, whatever
retries) and recorded with the ``wish_confirmed`` event. A crash in between leaves
``awarded: false``, which the repair sweep finishes with the same amount.
"""
import uuid
from datetime import timedelta

from civicgrid.errors import CivicGridError, Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import make_event, utcnow
from civicgrid.validation import load, schema

from . import accounts, ledger, periods, rules
from .ids import next_id
from .periods import aware
from .schemas import AdoptIn, ConfirmIn, FulfilIn, WishIn, WishQuery, WishSettingsSchema, WithdrawWishIn

EVENT_NS = uuid.UUID("3f9b2c1e-6d4a-4e8b-9c7f-1a2b3c4d5e6f")
GRACE = timedelta(seconds=10)
DEFAULT_FLAG_DAYS = 7
MAX_AHEAD = timedelta(days=366)
PERSON_ROLES = ("party_member", "volunteer")
SYSTEM = {"id": "system:points", "role": "system"}

TRANSITIONS = {
    ("open", "adopt"): "adopted",
    ("open", "withdraw"): "withdrawn",
    ("open", "expire"): "expired",
    ("adopted", "fulfil"): "fulfilled",
    ("fulfilled", "confirm"): "confirmed",
}
DONE = {"adopt": "adopted", "withdraw": "withdrawn", "expire": "expired", "fulfil": "fulfilled",
        "confirm": "confirmed"}


def next_status(status, action):
    """The status ``action`` leads to from ``status``; ``Conflict`` when the lifecycle forbids it."""
    after = TRANSITIONS.get((status, action))
    if after is None:
        raise Conflict(f"a wish that is {status} cannot be {DONE[action]}", {"status": [status]})
    return after


# -- settings ---------------------------------------------------------------------------

def flag_days(db, district):
    doc = db.settings.find_one({"_id": f"wishes:{district}"}) or {}
    return int(doc.get("flag_days", DEFAULT_FLAG_DAYS))


def get_settings(db, auth, district):
    auth.require()
    auth.require_district(district)
    return {"flag_days": flag_days(db, district)}


def set_settings(db, auth, district, payload, now):
    accounts.require_admin(auth, district)
    changes = load(schema(WishSettingsSchema), payload)
    if changes:
        db.settings.update_one({"_id": f"wishes:{district}"},
                               {"$set": dict(changes, district=district, updated_at=now, updated_by=auth.user_id)},
                               upsert=True)
    return {"flag_days": flag_days(db, district)}


# -- who is who ----------------------------------------------------------------------------

def organisation_of(db, auth, lookup=None, now=None):
    """The organisation the caller acts for, as the points service knows it (asked of the grid when new)."""
    if not (auth.organisation and auth.has("organisation_member") and auth.district):
        return None
    doc = accounts.organisation(db, auth.district, auth.organisation)
    if (doc is None or auth.user_id not in doc.get("members", [])) and lookup is not None:
        found = lookup(auth.district, auth.organisation)
        if found:
            doc = accounts.open_organisation(db, auth.district, {
                "organisation_id": found["id"], "name": found["name"], "kind": found["kind"],
                "community": found["community"], "members": [m["user_id"] for m in found["members"]]},
                now or utcnow())
    if doc is None or auth.user_id not in doc.get("members", []):
        return None
    return doc


def adopts_in(db, auth, community, lookup=None, now=None):
    """How the caller may adopt in ``community``: {"person", "organisation"} (empty: not at all)."""
    ways = set()
    if auth.has(*PERSON_ROLES) and auth.community == community:
        ways.add("person")
    org = organisation_of(db, auth, lookup, now)
    if org is not None and org["community"] == community:
        ways.add("organisation")
    return ways


def _is_staff(auth, doc):
    return accounts.is_staff(auth, doc["district"], doc["community"]) or accounts.is_admin(auth, doc["district"])


def _is_adopter(auth, doc):
    adopter = doc.get("adopter")
    if not adopter or auth.district != doc["district"]:
        return False
    return adopter["user_id"] == auth.user_id or (
        adopter["kind"] == "organisation" and auth.organisation == adopter["organisation_id"]
        and auth.has("organisation_member"))


def _visible(db, auth, doc, lookup=None):
    if (doc is None or not (auth.is_system or auth.is_platform_admin or auth.district == doc["district"])):
        raise NotFound("no such wish", {"wish_id": ["not found"]})
    if (_is_staff(auth, doc) or doc["resident_id"] == auth.user_id or _is_adopter(auth, doc)
            or (doc["status"] == "open" and adopts_in(db, auth, doc["community"], lookup))):
        return doc
    raise NotFound("no such wish", {"wish_id": [f"{doc['_id']} not found"]})


def _get(db, auth, wish_id, lookup=None):
    auth.require()
    doc = db.wishes.find_one({"_id": wish_id}, {"outbox": 0}) if isinstance(wish_id, str) else None
    return _visible(db, auth, doc, lookup)


def _wish_in_district(db, auth, wish_id):
    """For commands: another district's wish (or a made-up id) is 404 before anything else is said."""
    district = accounts.require_member(auth)
    doc = db.wishes.find_one({"_id": wish_id, "district": district}, {"outbox": 0}) \
        if isinstance(wish_id, str) else None
    if doc is None:
        raise NotFound("no such wish", {"wish_id": [f"{wish_id} not found"]})
    return doc


# -- events ------------------------------------------------------------------------------

def _event(type_, wish, actor, now, **extra):
    adopter = wish.get("adopter") or {}
    data = {"wish_id": wish["_id"], "title": wish["title"], "community": wish["community"],
            "building_id": wish.get("building_id"), "resident_id": wish["resident_id"], "status": wish["status"],
            "wanted_by": wish.get("wanted_by"), "adopter_kind": adopter.get("kind"),
            "adopter_id": adopter.get("user_id"), "adopter_name": adopter.get("name"),
            "organisation_id": adopter.get("organisation_id"),
            "organisation_name": adopter.get("organisation_name")}
    data.update(extra)
    return make_event(type_, wish["district"], actor, data, occurred_at=now,
                      event_id=uuid.uuid5(EVENT_NS, f"{wish['_id']}:{type_}"))


def _move(db, doc, action, changes, event_type, actor, now, **extra):
    """One conditional write: the status as read, the changes, the event; ``Conflict`` if someone moved first."""
    after = dict(doc, **changes, status=next_status(doc["status"], action), updated_at=now)
    done = db.wishes.update_one(
        {"_id": doc["_id"], "status": doc["status"]},
        {"$set": dict(changes, status=after["status"], updated_at=now), "$inc": {"version": 1},
         "$push": {"outbox": _event(event_type, after, actor, now, **extra)}})
    if not done.matched_count:
        current = db.wishes.find_one({"_id": doc["_id"]}, {"status": 1})
        raise Conflict(f"the wish was {current['status']} meanwhile", {"status": [current["status"]]})
    return db.wishes.find_one({"_id": doc["_id"]}, {"outbox": 0})


# -- commands ------------------------------------------------------------------------------

def post(db, auth, payload, now, profile=None):
    """A resident posts a wish; community staff post one for a resident of their community (``resident_id``).

    ``profile(district, user_id)`` answers who a resident is (the grid), or ``None``.
    """
    district = accounts.require_member(auth)
    fields = load(WishIn(), payload)
    today = periods.local_date(now)
    if fields["wanted_by"] < today:
        raise Invalid("the day has passed", {"wanted_by": [f"must be today ({today.isoformat()}) or later"]})
    if fields["wanted_by"] > periods.local_date(now + MAX_AHEAD):
        raise Invalid("too far ahead", {"wanted_by": ["must be within a year"]})
    resident_id = fields.pop("resident_id")
    if resident_id is not None and resident_id != auth.user_id:
        if not auth.has("community_staff"):
            raise Forbidden("only community staff post a wish for someone else")
        found = profile(district, resident_id) if profile else None
        if not found or found.get("community") != auth.scope or "resident" not in (found.get("roles") or []):
            raise Invalid("not a resident of your community",
                          {"resident_id": [f"{resident_id} is no resident of community {auth.scope}"]})
        resident = {"id": resident_id, "name": found.get("name"), "community": found["community"],
                    "building": found.get("scope")}
        poster_role = "community_staff"
    else:
        if not auth.has("resident"):
            if auth.has("community_staff"):
                raise Invalid("name the resident", {"resident_id": ["staff post a wish for a resident: name them"]})
            raise Forbidden("residents post wishes (community staff for them)")
        if not auth.community:
            raise Invalid("you belong to no community", {"community": ["wishes go to your community"]})
        resident = {"id": auth.user_id, "name": auth.name, "community": auth.community, "building": auth.scope}
        poster_role = "resident"
    wish = dict(fields, _id=next_id(db, district, "wish"), district=district, community=resident["community"],
                building_id=resident["building"], resident_id=resident["id"], resident_name=resident["name"],
                wanted_by=fields["wanted_by"].isoformat(),
                due_at=periods.start_of(fields["wanted_by"] + timedelta(days=1)), status="open", version=1,
                posted_by={"id": auth.user_id, "name": auth.name, "role": poster_role},
                on_behalf=resident["id"] != auth.user_id, adopter=None, adopted_at=None, fulfilment=None,
                confirmation=None, amount=None, points=None, capped=False, awarded=None, flagged=False,
                flagged_at=None, attention=0, withdraw_reason=None, created_at=now, updated_at=now)
    wish["outbox"] = [_event("wish_posted", wish, auth.as_actor(poster_role), now)]
    accounts.touch(db, auth, now)
    db.wishes.insert_one(wish)
    wish.pop("outbox")
    return wish


def adopt(db, auth, wish_id, payload, now, lookup=None):
    """First wins: the write is conditioned on the wish being open still."""
    fields = load(AdoptIn(), payload)
    doc = _wish_in_district(db, auth, wish_id)
    ways = adopts_in(db, auth, doc["community"], lookup, now)
    if doc["resident_id"] == auth.user_id:
        raise Forbidden("nobody adopts their own wish")
    if not ways:
        if not (_is_staff(auth, doc) or auth.community == doc["community"]):
            raise NotFound("no such wish", {"wish_id": [f"{doc['_id']} not found"]})  # another community's
        raise Forbidden(f"party members, volunteers and organisations of community {doc['community']} adopt "
                        "its wishes")
    way = fields["adopter"] or ("person" if "person" in ways else "organisation")
    if way not in ways:
        wanted = ("you are no party member or volunteer of this community" if way == "person"
                  else "your organisation is not registered with this community")
        raise Forbidden(wanted, {"adopter": [wanted]})
    next_status(doc["status"], "adopt")
    adopter = {"kind": way, "user_id": auth.user_id, "name": auth.name, "organisation_id": None,
               "organisation_name": None, "account": ledger.user_account(auth.user_id)}
    if way == "organisation":
        org = organisation_of(db, auth)
        adopter.update(organisation_id=org["organisation_id"], organisation_name=org["name"],
                       account=org["account"])
    role = "organisation_member" if way == "organisation" else next(r for r in PERSON_ROLES if auth.has(r))
    accounts.touch(db, auth, now)
    return _move(db, doc, "adopt", {"adopter": adopter, "adopted_at": now, "attention": 0}, "wish_adopted",
                 auth.as_actor(role), now)


def fulfil(db, auth, wish_id, payload, now):
    """The adopter (or another member of the adopting organisation) says it is done, with a note and photos."""
    fields = load(FulfilIn(), payload)
    doc = _get(db, auth, wish_id)
    if not _is_adopter(auth, doc):
        raise Forbidden("only whoever adopted the wish marks it fulfilled")
    next_status(doc["status"], "fulfil")
    fulfilment = {"note": fields["note"], "media": fields["media"], "by": auth.user_id, "at": now}
    return _move(db, doc, "fulfil", {"fulfilment": fulfilment}, "wish_fulfilled",
                 auth.as_actor(doc["adopter"]["kind"]), now, note=fields["note"])


def confirm(db, auth, wish_id, payload, now):
    """The resident (or community staff for them) confirms; the adopter's points are fixed in the same write."""
    fields = load(ConfirmIn(), payload)
    doc = _get(db, auth, wish_id)
    by_staff = doc["resident_id"] != auth.user_id
    if by_staff and not accounts.is_staff(auth, doc["district"], doc["community"]):
        raise Forbidden("the resident (or the community's staff for them) confirms a wish")
    if auth.user_id == (doc.get("adopter") or {}).get("user_id"):
        raise Forbidden("nobody confirms what they fulfilled themselves")
    next_status(doc["status"], "confirm")
    table = rules.rules_of(db, doc["district"])
    organisation = doc["adopter"]["kind"] == "organisation"
    amount = table["wish_fulfilled_organisation"] if organisation else table["wish_fulfilled"]
    role = "community_staff" if by_staff else "resident"
    confirmation = {"by": auth.user_id, "on_behalf": by_staff, "note": fields["note"], "at": now}
    done = db.wishes.update_one(
        {"_id": doc["_id"], "status": "fulfilled"},
        {"$set": {"status": "confirmed", "confirmation": confirmation, "amount": amount, "awarded": False,
                  "actor": auth.as_actor(role), "updated_at": now}, "$inc": {"version": 1}})
    if not done.matched_count:
        current = db.wishes.find_one({"_id": doc["_id"]}, {"status": 1})
        raise Conflict(f"the wish was {current['status']} meanwhile", {"status": [current["status"]]})
    return award(db, db.wishes.find_one({"_id": doc["_id"]}, {"outbox": 0}), now)


def award(db, wish, now):
    """Book the confirmed wish's points (transaction ``wish:<id>``: once) and record them with the event."""
    adopter, district, tx = wish["adopter"], wish["district"], f"wish:{wish['_id']}"
    counter = ledger.community_account(wish["community"])
    common = dict(actor=wish["actor"], source={"type": "wish", "id": wish["_id"]}, community=wish["community"])
    if adopter["kind"] == "organisation":
        # an organisation's account: per-person caps do not apply, and a retry books nothing new
        entry = ledger.transfer(db, district, None, wish["amount"], counter, tx, "wish_fulfilled", now=now,
                                earning="wish", account=adopter["account"], **common) if wish["amount"] else None
        booked, capped = (entry["amount"] if entry else 0), False
    else:
        booked, capped = rules.award(db, district, adopter["user_id"], wish["amount"], counter, tx, "wish_fulfilled",
                                     rules.rules_of(db, district), now, **common)
    event = _event("wish_confirmed", dict(wish, status="confirmed"), wish["actor"], now, points=booked,
                   note=(wish.get("confirmation") or {}).get("note"))
    db.wishes.update_one({"_id": wish["_id"], "awarded": False},
                         {"$set": {"awarded": True, "points": booked, "capped": capped},
                          "$push": {"outbox": event}})
    return db.wishes.find_one({"_id": wish["_id"]}, {"outbox": 0})


def withdraw(db, auth, wish_id, payload, now):
    """The resident (or staff) takes back a wish nobody has adopted yet."""
    reason = load(WithdrawWishIn(), payload)["reason"]
    doc = _get(db, auth, wish_id)
    by_staff = doc["resident_id"] != auth.user_id
    if by_staff and not accounts.is_staff(auth, doc["district"], doc["community"]):
        raise Forbidden("the resident (or the community's staff for them) withdraws a wish")
    next_status(doc["status"], "withdraw")
    return _move(db, doc, "withdraw", {"withdraw_reason": reason, "attention": 0}, "wish_withdrawn",
                 auth.as_actor("community_staff" if by_staff else "resident"), now, note=reason)


# -- reading -------------------------------------------------------------------------------

def get(db, auth, wish_id, lookup=None):
    return _get(db, auth, wish_id, lookup)


def list_for(db, auth, query, lookup=None, now=None, directory=None):
    """``directory`` asks the grid whether a community the caller names is one of their district's: another
    district's (or none) is 404 to everyone, its administrator included, before any role is asked."""
    district = accounts.require_member(auth)
    query = load(WishQuery(), query)
    view = query["view"] or ("community" if query["community"] else "mine")
    selector = {"district": district}
    sort = [("created_at", -1), ("_id", -1)]
    if view == "mine":
        selector["$or"] = [{"resident_id": auth.user_id}, {"posted_by.id": auth.user_id}]
    elif view == "adopted":
        mine = [{"adopter.user_id": auth.user_id}]
        if auth.organisation and auth.has("organisation_member"):
            mine.append({"adopter.organisation_id": auth.organisation})
        selector["$or"] = mine
    else:
        community = query["community"] or (auth.scope if auth.has("community_staff") else None) or auth.community
        if not community:
            raise Invalid("name the community", {"community": ["required: you belong to no community"]})
        if query["community"]:
            accounts.require_community(directory, district, community)
        selector["community"] = community
        if accounts.is_staff(auth, district, community) or accounts.is_admin(auth, district):
            sort = [("attention", -1)] + sort  # flagged wishes nobody adopted come first
        elif adopts_in(db, auth, community, lookup, now):
            if query["status"] not in (None, "open"):
                raise Forbidden("adopters see a community's open wishes", {"status": ["only open"]})
            selector["status"] = "open"
            sort = [("attention", -1), ("due_at", 1), ("_id", 1)]  # long waiting, then the soonest wanted
        elif community == auth.community:
            raise Forbidden(f"party members, volunteers and organisations of community {community} see its "
                            "open wishes; residents see their own")
        else:
            raise NotFound("no such community", {"community": [f"{community} not found"]})
    if query["status"]:
        selector["status"] = query["status"]
    if query["flagged"] is not None:
        selector["flagged"] = query["flagged"]
    total = db.wishes.count_documents(selector)
    cursor = (db.wishes.find(selector, {"outbox": 0}).sort(sort)
              .skip((query["page"] - 1) * query["page_size"]).limit(query["page_size"]))
    return list(cursor), total, query


# -- the timer ---------------------------------------------------------------------------------

def scan(db, now, limit=200):
    """Expire open wishes past their day; flag those open too long. ``(expired, flagged)``; each acts once."""
    expired = flagged = 0
    for doc in db.wishes.find({"status": "open", "due_at": {"$lte": now}}, {"outbox": 0}).limit(limit):
        try:
            _move(db, doc, "expire", {"attention": 0}, "wish_expired", SYSTEM, now)
            expired += 1
        except Conflict:
            pass  # adopted, withdrawn or expired by another replica meanwhile
    days = {}
    for doc in db.wishes.find({"status": "open", "flagged": False, "created_at": {"$lte": now - timedelta(days=1)}},
                              {"outbox": 0}).sort("created_at", 1).limit(limit):
        wait = days.setdefault(doc["district"], flag_days(db, doc["district"]))
        if now - aware(doc["created_at"]) < timedelta(days=wait):
            continue
        event = _event("wish_flagged", doc, SYSTEM, now, flag_days=wait)
        done = db.wishes.update_one({"_id": doc["_id"], "status": "open", "flagged": False},
                                    {"$set": {"flagged": True, "flagged_at": now, "attention": 1},
                                     "$push": {"outbox": event}})
        flagged += done.modified_count
    return expired, flagged


def repair(db, now, limit=100):
    """Confirmations whose award a crash interrupted: booked (idempotent) and recorded."""
    repaired = 0
    for wish in db.wishes.find({"status": "confirmed", "awarded": False}, {"outbox": 0}).limit(limit):
        if now - aware(wish["updated_at"]) >= GRACE:
            award(db, wish, now)
            repaired += 1
    return repaired


def lookup_organisation(proxy):
    """``lookup(district, id)`` over the grid's RPC: the organisation, or ``None``."""
    def lookup(district, organisation_id):
        try:
            return proxy.get_organisation(district, organisation_id)
        except CivicGridError:
            return None
    return lookup


def lookup_person(proxy):
    def profile(district, user_id):
        try:
            return proxy.user_profile(district, user_id)
        except CivicGridError:
            return None
    return profile
