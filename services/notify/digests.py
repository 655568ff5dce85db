"""The morning digest: one notice per staff member of what waits for them.

A timer cannot ask ``petitions.list(queue=mine)`` on a staff member's behalf (that
needs their token), and notify reads no other service's collections. So notify keeps
a small read model of its own from the events it receives anyway:

- ``petition_view``: each petition as its latest event describes it (status, level,
  building, department, handler, deadline), whether its time limit passed
  (``petition_overdue``, cleared by the next move) and whether a follow-up is open;
- ``claims_view``: points claims (自主申报) waiting for a decision, from
  ``claim_submitted`` until ``claim_approved`` / ``claim_rejected``.

Events may arrive out of order: a petition is only updated by an event that
occurred no earlier than the one it shows (and an overdue warning stamped at the
same instant as a move never undoes the move).

At the district's digest hour (local time, Asia/Shanghai unless set), the first tick
of a new local day claims the day's run (a unique id, so one replica does it) and
writes the digests: for building leaders and grid workers the petitions waiting to
be claimed in their buildings; for community staff those waiting to be dispatched,
open follow-ups and claims to approve in their community; for department staff those
waiting to be accepted; and for everyone the overdue ones the overdue rules send them.
The people come from the (cached) grid directory, as for any notice. Nobody with
nothing waiting gets a digest.

Household visits (入户走访) are the grid's to know: a visit falls due by the passing of
time, not by an event, so the digest asks the grid once per district and run
(``overdue_visits``, as notify's system identity) how many households each grid worker
and community staff member should have visited by now, and the first few of them.
"""
import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from pymongo.errors import DuplicateKeyError

from civicgrid.errors import NotFound
from civicgrid.events import PETITION_EVENTS
from civicgrid.idempotency import insert_once

from . import deliveries, district_settings, preferences, rules, templates

log = logging.getLogger(__name__)

OPEN = ("submitted", "in_progress", "escalated", "dispatched")
KINDS = ("overdue", "unclaimed", "follow_ups", "claims", "visits")
RUN_LEASE = timedelta(minutes=10)
_PETITION_TYPES = frozenset(PETITION_EVENTS)
FOLLOW_UP_TYPES = ("follow_up_opened", "follow_up_recorded")
_FIELDS = ("petition_id", "title", "status", "level", "kind", "building_id", "path", "department_id", "handler_id",
           "due_at", "resident_id")


def _moment(text):
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def observe(db, event, now):
    """Keep the read model up to date with one event (idempotent: replaying it changes nothing)."""
    type_, data, district = event["type"], event["data"], event["district"]
    if type_ in _PETITION_TYPES:
        at = _moment(event["occurred_at"])
        fields = {k: data.get(k) for k in _FIELDS}
        fields.update(district=district, occurred_at=at, updated_at=now)
        if type_ == "petition_overdue":
            fields["overdue"] = {"deadline": data.get("deadline"), "level": data.get("overdue_level")}
            newer = {"$or": [{"occurred_at": {"$lt": at}},
                             {"occurred_at": at, "status": data.get("status"), "level": data.get("level")}]}
        else:
            if type_ not in FOLLOW_UP_TYPES:
                fields["overdue"] = None
            newer = {"occurred_at": {"$lte": at}}
        key = f"{district}:{data['petition_id']}"
        _upsert_if_newer(db.petition_view, {"_id": key, **newer}, fields)
        if type_ in FOLLOW_UP_TYPES:
            # a follow-up has a clock of its own: the petition's later events (closed) must not hide it
            _upsert_if_newer(db.petition_view, {"_id": key, "$or": [{"follow_up_at": None},
                                                                    {"follow_up_at": {"$lt": at}}]},
                             {"district": district, "follow_up_open": type_ == "follow_up_opened", "follow_up_at": at})
    elif type_ == "claim_submitted":
        db.claims_view.update_one(
            {"_id": f"{district}:{data['claim_id']}"},
            {"$setOnInsert": {"district": district, "claim_id": data["claim_id"], "community": data["community"],
                              "title": data["title"], "user_id": data["user_id"], "status": "pending",
                              "created_at": now}}, upsert=True)
    elif type_ in ("claim_approved", "claim_rejected"):
        db.claims_view.update_one(
            {"_id": f"{district}:{data['claim_id']}"},
            {"$set": {"status": "decided", "decided_at": now},
             "$setOnInsert": {"district": district, "claim_id": data["claim_id"], "title": data["title"],
                              "user_id": data["user_id"], "community": None}}, upsert=True)


def _upsert_if_newer(collection, selector, fields):
    try:
        collection.update_one(selector, {"$set": fields}, upsert=True)
    except DuplicateKeyError:
        pass  # it shows a later event already


def _as_event(district, view, type_="petition_submitted", **extra):
    data = {k: view.get(k) for k in _FIELDS}
    data.update(extra)
    return {"type": type_, "district": district, "actor": {"id": "system", "role": "system"}, "data": data}


class Buckets(defaultdict):
    """{user: {kind: [items]}}, and ``visit_totals``: {user: overdue households}, of which ``visits`` lists the first few."""

    def __init__(self):
        super().__init__(lambda: {k: [] for k in KINDS})
        self.visit_totals = {}


def build(db, directory, district):
    """{user: {kind: [items]}} of what waits for each staff member of a district."""
    buckets = Buckets()

    def add(users, kind, item):
        for user in users:
            if user and item not in buckets[user][kind]:
                buckets[user][kind].append(item)

    for p in db.petition_view.find({"district": district, "status": {"$in": list(OPEN)}}).sort("due_at", 1):
        item = {"petition_id": p["petition_id"], "title": p["title"], "due_at": p.get("due_at")}
        event = _as_event(district, p)
        state = (p.get("status"), p.get("level"))
        if state == ("submitted", "grid"):
            add(rules.BUILDING_TEAM(event, directory), "unclaimed", item)
        elif state == ("escalated", "community"):
            add(rules.COMMUNITY_STAFF(event, directory), "unclaimed", item)
        elif state == ("dispatched", "department"):
            add(rules.DEPARTMENT_STAFF(event, directory), "unclaimed", item)
        if p.get("overdue"):
            overdue = _as_event(district, p, "petition_overdue", overdue_level=p["overdue"]["level"],
                                deadline=p["overdue"]["deadline"])
            add([user for user, _ in rules.recipients(overdue, directory)], "overdue", item)
    for p in db.petition_view.find({"district": district, "follow_up_open": True}):
        add(rules.COMMUNITY_STAFF(_as_event(district, p), directory), "follow_ups",
            {"petition_id": p["petition_id"], "title": p["title"], "due_at": None})
    for c in db.claims_view.find({"district": district, "status": "pending"}).sort("created_at", 1):
        try:
            staff = directory.community_staff(district, c["community"])
        except Exception as err:  # a community the grid no longer knows: nobody
            log.warning("claims of %s/%s: %s", district, c["community"], err)
            staff = []
        add(staff, "claims", {"claim_id": c["claim_id"], "title": c["title"]})
    try:
        visits = directory.overdue_visits(district)
    except NotFound:  # a district the grid no longer knows
        visits = {"by_user": {}}
    for user, mine in visits["by_user"].items():
        buckets[user]["visits"] = list(mine["items"])
        buckets.visit_totals[user] = mine["count"]
    return buckets


def digest_event_id(district, date):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicgrid:digest:{district}:{date}"))


def write(db, district, date, buckets, now, settings):
    """One digest notice per user with something waiting (and its push deliveries); returns how many were new."""
    from .domain import notice, push_deliveries
    tz = district_settings.tz_of(settings)
    event_id = digest_event_id(district, date)
    prefs = preferences.load_many(db, district, list(buckets))
    own = templates.overrides(db, district, "digest")
    written, queued = 0, []
    for user, waiting in sorted(buckets.items()):
        pref = prefs[user]
        locale = pref.get("locale") or settings["locale"]
        counts = {k: len(v) for k, v in waiting.items()}
        counts["visits"] = getattr(buckets, "visit_totals", {}).get(user, counts.get("visits", 0))
        titles = list(dict.fromkeys(i["title"] for k in KINDS if k != "visits" for i in waiting[k]))
        values = {"date": date, **counts, "total": sum(counts.values()),
                  "items_text": templates.items_text(titles[:3], len(titles), locale),
                  "visits_text": templates.visits_text([i["name"] for i in waiting.get("visits", [])[:3]],
                                                       counts["visits"], locale)}
        title, body = templates.render("digest", "staff", values, locale, own.get(("staff", locale)), {"tz": tz})
        doc = notice(event_id=event_id, district=district, user=user, type_="digest", category="digest",
                     title=title, body=body, locale=locale, now=now,
                     data={"date": date, "counts": counts, "items": waiting})
        written += insert_once(db.notifications, doc)
        queued += push_deliveries(pref, district=district, event_id=event_id, type_="digest", category="digest",
                                  user=user, title=title, body=body, locale=locale, now=now, tz=tz, nid=doc["_id"])
    deliveries.enqueue(db, queued)
    return written


def districts(db):
    return sorted(set(db.petition_view.distinct("district")) | set(db.claims_view.distinct("district"))
                  | set(db.district_settings.distinct("district")))


def run(db, directory, now):
    """Write today's digests of every district whose digest hour has come; [(district, date, notices)]."""
    done = []
    for district in districts(db):
        settings = district_settings.get(db, district)
        if not settings["digest_enabled"]:
            continue
        local = now.astimezone(district_settings.tz_of(settings))
        if local.hour < settings["digest_hour"]:
            continue
        date = local.date().isoformat()
        run_id = f"{district}:{date}"
        if not insert_once(db.digest_runs, {"_id": run_id, "district": district, "date": date,
                                            "status": "running", "started_at": now}):
            # someone has it: take over only a run that was left running long ago (its process died)
            if not db.digest_runs.update_one({"_id": run_id, "status": "running",
                                              "started_at": {"$lt": now - RUN_LEASE}},
                                             {"$set": {"started_at": now}}).modified_count:
                continue
        try:
            written = write(db, district, date, build(db, directory, district), now, settings)
        except Exception:
            log.exception("digest of %s for %s failed: retried after %s", district, date, RUN_LEASE)
            continue
        db.digest_runs.update_one({"_id": run_id}, {"$set": {"status": "done", "finished_at": now,
                                                             "notices": written}})
        log.info("digest of %s for %s: %d notices", district, date, written)
        done.append((district, date, written))
    return done


def ensure_indexes(db):
    db.petition_view.create_index([("district", 1), ("status", 1)])
    db.petition_view.create_index([("district", 1), ("follow_up_open", 1)])
    db.claims_view.create_index([("district", 1), ("status", 1)])
