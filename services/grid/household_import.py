"""The import document's ``households`` section: checked with the rest of it, written after it.

Each entry names its building (in the document or already stored), its members (a member's
``user_id`` must be a user of the district, in the document or stored) and its initial care
level; orange and red need a reason. Re-importing updates the name, address and members, and
never the level: once a household is registered, its level is the grid workers' and the
community's to change, with a reason, through the API (a set-up document loaded again to add
a building must not quietly undo their judgement). A household does not move to another
building, as a node does not.
"""
from .care_levels import today
from .care_schemas import HouseholdIn

SECTION = "households"


def check(importer, load, problems, broken):
    """The entries that passed every check (each failure is in ``problems``)."""
    raw_entries = importer.sections[SECTION]
    ids = sorted({e["id"] for e in raw_entries if isinstance(e, dict) and isinstance(e.get("id"), str)})
    stored = {h["id"]: h for h in importer.db.households.find(
        {"district": importer.code, "id": {"$in": ids}}, {"id": 1, "building_id": 1})}
    linked = sorted({m["user_id"] for e in raw_entries if isinstance(e, dict) and isinstance(e.get("members"), list)
                     for m in e["members"] if isinstance(m, dict) and isinstance(m.get("user_id"), str)})
    known = {u["username"] for u in importer.sections["users"] if isinstance(u, dict)
             and isinstance(u.get("username"), str)}
    known |= {u["username"] for u in importer.db.users.find(
        {"district": importer.code, "username": {"$in": linked}}, {"username": 1})}
    seen, out = set(), []
    for i, raw in enumerate(raw_entries):
        key = f"{SECTION}[{i}]"
        entry, ok = load(HouseholdIn(), raw, key, problems)
        household_id = entry.get("id")
        if household_id is not None:
            if household_id in seen:
                problems.add(f"{key}.id", f"duplicate id {household_id!r}")
                continue
            seen.add(household_id)
        building = entry.get("building_id")
        if building is not None:
            kind = importer.kind_of(building)
            if kind is None:
                problems.add(f"{key}.building_id", f"unknown building {building!r}")
                ok = False
            elif kind is broken:
                ok = False
            elif kind != "building":
                what = "the district" if building == importer.code else f"a {kind}"
                problems.add(f"{key}.building_id", f"{building!r} is {what}, not a building")
                ok = False
            before = stored.get(household_id)
            if before and before["building_id"] != building:
                problems.add(f"{key}.building_id", f"cannot move household {household_id!r}: "
                                                   f"it is in building {before['building_id']!r}")
                ok = False
        for j, member in enumerate(entry.get("members") or ()):
            user_id = member.get("user_id") if isinstance(member, dict) else None
            if user_id is not None and user_id not in known:
                problems.add(f"{key}.members[{j}].user_id", f"no user {user_id!r} in this district")
                ok = False
        if ok:
            out.append(entry)
    return out


def apply(db, code, households, now, actor):
    """Upsert each household; the level, its history and the visits are set only when it is new."""
    for household in households:
        level, reason = household["care_level"], (household["care_reason"] or "").strip() or None
        db.households.update_one(
            {"_id": f"{code}:{household['id']}"},
            {"$set": {"district": code, "id": household["id"], "building_id": household["building_id"],
                      "path": household["path"], "name": household["name"], "address": household["address"],
                      "members": household["members"], "updated_at": now},
             "$setOnInsert": {"care_level": level, "care_reason": reason, "care_since": now,
                              "care_history": [{"at": now, "by": actor, "from_level": None, "to_level": level,
                                                "reason": reason, "source": "import"}],
                              "visits": [], "visit_count": 0, "visit_baseline": today(now).isoformat(),
                              "created_at": now, "outbox": []}},
            upsert=True)
