"""Reports for a district or one community over a period (local dates, both inclusive).

Every figure comes from the ledger and the documents that caused it:
issued (by rule) and redeemed are the people's entries in the period, the
outstanding points are all their entries up to the end, activities held are
activities starting in the period that somebody attended. Leaderboards leave
out everyone who opted out.
"""
from civicgrid.errors import Forbidden
from civicgrid.validation import load

from . import accounts, periods
from .schemas import LeaderboardQuery, ReportQuery
from .views import yuan

SPENDING = ("redeem", "refund")


def _scope(selector, community, field="community"):
    if community:
        selector[field] = community
    return selector


def _user_entries(db, district, community, start, end):
    selector = _scope({"district": district, "account": {"$regex": "^user:"},
                       "created_at": {"$gte": start, "$lt": end}}, community)
    return list(db.entries.find(selector, {"account": 1, "amount": 1, "reason": 1, "earning": 1,
                                           "created_at": 1, "community": 1, "reverses_reason": 1}))


def rule_of(entry):
    """The rule an earning counts under: a correction nets against the rule of the award it reverses."""
    return entry.get("reverses_reason") or entry["reason"]


def _outstanding(db, district, end):
    """Points people hold at ``end``, by community (``None``: people of no community)."""
    rows = db.entries.aggregate([
        {"$match": {"district": district, "account": {"$regex": "^user:"}, "created_at": {"$lt": end}}},
        {"$group": {"_id": "$community", "total": {"$sum": "$amount"}}},
    ])
    return {row["_id"]: int(row["total"]) for row in rows}


def _registered(db, district, end):
    counts = {}
    for doc in db.accounts.find({"district": district, "kind": "user", "opened_at": {"$lt": end}}, {"community": 1}):
        counts[doc.get("community")] = counts.get(doc.get("community"), 0) + 1
    return counts


def _counts(db, collection, district, community, start, end, statuses=None):
    selector = _scope({"district": district, "created_at": {"$gte": start, "$lt": end}}, community)
    counts = {status: 0 for status in statuses or ()}
    for doc in db[collection].find(selector, {"status": 1}):
        if statuses is None or doc["status"] in counts:
            counts[doc["status"]] = counts.get(doc["status"], 0) + 1
    return counts


def _earners(db, district, entries, top):
    totals = {}
    for entry in entries:
        if entry.get("earning"):
            totals[entry["account"]] = totals.get(entry["account"], 0) + entry["amount"]
    hidden = accounts.hidden(db, district)
    ranked = sorted(((points, account) for account, points in totals.items()
                     if points > 0 and account[5:] not in hidden), key=lambda p: (-p[0], p[1]))[:top]
    names = {doc["user_id"]: doc for doc in db.accounts.find(
        {"district": district, "user_id": {"$in": [a[5:] for _, a in ranked]}},
        {"user_id": 1, "name": 1, "community": 1})}
    return [{"rank": rank, "user_id": account[5:], "name": names.get(account[5:], {}).get("name"),
             "community": names.get(account[5:], {}).get("community"), "points": points, "yuan": yuan(points)}
            for rank, (points, account) in enumerate(ranked, start=1)]


def _figures(entries, activities):
    issued = sum(e["amount"] for e in entries if e.get("earning"))
    redeemed = -sum(e["amount"] for e in entries if e["reason"] in SPENDING)
    held = [a for a in activities if a["status"] != "cancelled" and a.get("attendance")]
    return issued, redeemed, held


def _access(auth, district, community):
    if accounts.is_admin(auth, district) or accounts.is_staff(auth, district, community):
        return
    accounts.require_admin(auth, district)
    raise Forbidden("district administrators, or the community's staff, see points reports")


def report(db, auth, district, query, now, directory=None):
    query = load(ReportQuery(), query)
    district = district or accounts.require_member(auth)
    community = query["community"]
    auth.require_district(district)  # another district is not found, whoever asks
    if community:
        accounts.require_community(directory, district, community)
    _access(auth, district, community)
    first, last = periods.default_period(now, {"from": query["from_"], "to": query["to"]})
    start, end = periods.window(first, last)

    entries = _user_entries(db, district, community, start, end)
    activities = list(db.activities.find(_scope({"district": district, "starts_at": {"$gte": start, "$lt": end}},
                                                community),
                                         {"status": 1, "attendance": 1, "signups": 1, "starts_at": 1,
                                          "community": 1}))
    issued, redeemed, held = _figures(entries, activities)
    by_rule = {}
    for entry in entries:
        if entry.get("earning"):
            by_rule[rule_of(entry)] = by_rule.get(rule_of(entry), 0) + entry["amount"]
    outstanding = _outstanding(db, district, end)
    registered = _registered(db, district, end)

    months = {key: {"month": key, "issued": 0, "redeemed": 0, "activities_held": 0, "attendance": 0}
              for key in periods.months_between(first, last)}
    for entry in entries:
        row = months.get(periods.month_key(entry["created_at"]))
        if row is None:
            continue
        if entry.get("earning"):
            row["issued"] += entry["amount"]
        elif entry["reason"] in SPENDING:
            row["redeemed"] -= entry["amount"]
    for activity in held:
        row = months.get(periods.month_key(activity["starts_at"]))
        if row:
            row["activities_held"] += 1
            row["attendance"] += len(activity["attendance"])

    answer = {
        "district": district, "community": community,
        "from": first.isoformat(), "to": last.isoformat(),
        "registered_accounts": registered.get(community, 0) if community else sum(registered.values()),
        "issued": issued, "issued_yuan": yuan(issued), "issued_by_rule": by_rule,
        "redeemed": redeemed, "redeemed_yuan": yuan(redeemed),
        "activities_held": len(held),
        "activities_cancelled": sum(1 for a in activities if a["status"] == "cancelled"),
        "attendance": sum(len(a["attendance"]) for a in held),
        "signups": sum(len(a.get("signups", [])) for a in activities if a["status"] != "cancelled"),
        "claims": _counts(db, "claims", district, community, start, end, ("pending", "approved", "rejected")),
        "orders": _counts(db, "orders", district, community, start, end, ("reserved", "picked_up", "cancelled")),
        "top_earners": _earners(db, district, entries, query["top"]),
        "monthly": list(months.values()),
        "communities": [],
    }
    held_outstanding = outstanding.get(community, 0) if community else sum(outstanding.values())
    answer.update(outstanding=held_outstanding, outstanding_yuan=yuan(held_outstanding))
    if not community:
        answer["communities"] = _by_community(entries, activities, outstanding, registered)
    return answer


def _by_community(entries, activities, outstanding, registered):
    names = sorted({c for c in list(outstanding) + list(registered) if c}
                   | {e["community"] for e in entries if e.get("community")}
                   | {a["community"] for a in activities})
    rows = []
    for community in names:
        mine = [e for e in entries if e.get("community") == community]
        issued, redeemed, held = _figures(mine, [a for a in activities if a["community"] == community])
        rows.append({
            "community": community, "registered_accounts": registered.get(community, 0),
            "issued": issued, "issued_yuan": yuan(issued), "redeemed": redeemed, "redeemed_yuan": yuan(redeemed),
            "outstanding": outstanding.get(community, 0), "outstanding_yuan": yuan(outstanding.get(community, 0)),
            "activities_held": len(held), "attendance": sum(len(a["attendance"]) for a in held),
        })
    return rows


def leaderboard(db, auth, district, community, query, now, directory=None):
    """Top earners of the period (光荣榜) for the district's members; opted-out people never appear."""
    query = load(LeaderboardQuery(), query)
    district = district or accounts.require_member(auth)
    if not accounts.is_admin(auth, district):
        auth.require()
        auth.require_district(district)
    if community:
        accounts.require_community(directory, district, community)
    first, last = periods.default_period(now, {"from": query["from_"], "to": query["to"]})
    start, end = periods.window(first, last)
    entries = _user_entries(db, district, community, start, end)
    return {"district": district, "community": community, "from": first.isoformat(),
            "to": last.isoformat(), "items": _earners(db, district, entries, query["top"])}
