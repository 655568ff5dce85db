"""People's points accounts, and who may see what.

An account is opened when the grid announces a member (``member_assigned``) or
when a person first uses the points service; it records the person's name and
community (for reports, leaderboards and statements) and whether they stay off
leaderboards. Balances are never stored here: they live in the ledger.
"""
from civicgrid.errors import Forbidden, NotFound, Unauthorized

from . import ledger


def _id(district, account):
    return f"{district}|{account}"


def get(db, district, user_id):
    return db.accounts.find_one({"_id": _id(district, ledger.user_account(user_id))})


def open_user(db, district, user_id, now, name=None, community=None, roles=None):
    """Open (or refresh) a person's account; fields given as ``None`` keep what is stored."""
    account = ledger.user_account(user_id)
    current = db.accounts.find_one({"_id": _id(district, account)})
    fresh = {k: v for k, v in (("name", name), ("community", community), ("roles", list(roles or []) or None))
             if v is not None and (current is None or current.get(k) != v)}
    if current is not None and not fresh:
        return current
    db.accounts.update_one(
        {"_id": _id(district, account)},
        {"$set": fresh, "$setOnInsert": {"district": district, "account": account, "kind": "user",
                                         "user_id": user_id, "opened_at": now, "show_on_leaderboard": True}},
        upsert=True)
    return db.accounts.find_one({"_id": _id(district, account)})


def touch(db, auth, now):
    """The signed-in person's account, opened on first use."""
    if not auth.authenticated or not auth.district or auth.is_system:
        return None
    return open_user(db, auth.district, auth.user_id, now, name=auth.name, community=auth.community,
                     roles=auth.roles)


def organisation(db, district, organisation_id):
    """The organisation's account document (name, community, members), as the grid last announced it."""
    if not isinstance(organisation_id, str):
        return None
    return db.accounts.find_one({"_id": _id(district, ledger.organisation_account(district, organisation_id))})


def open_organisation(db, district, data, now):
    """Open (or refresh) an organisation's account from the grid's ``organisation_registered`` (or its answer)."""
    account = ledger.organisation_account(district, data["organisation_id"])
    db.accounts.update_one(
        {"_id": _id(district, account)},
        {"$set": {"name": data["name"], "organisation_kind": data["kind"], "community": data["community"],
                  "members": list(data["members"]), "updated_at": now},
         "$setOnInsert": {"district": district, "account": account, "kind": "organisation",
                          "organisation_id": data["organisation_id"], "opened_at": now}},
        upsert=True)
    return db.accounts.find_one({"_id": _id(district, account)})


def community_of(db, district, user_id):
    doc = get(db, district, user_id)
    return doc.get("community") if doc else None


def set_leaderboard(db, auth, show, now):
    auth.require()
    if not auth.district:
        raise Forbidden("only members of a district have a points account")
    touch(db, auth, now)
    db.accounts.update_one({"_id": _id(auth.district, ledger.user_account(auth.user_id))},
                           {"$set": {"show_on_leaderboard": bool(show)}})
    return get(db, auth.district, auth.user_id)


def hidden(db, district):
    """User ids that opted out of leaderboards."""
    return {a["user_id"] for a in db.accounts.find({"district": district, "kind": "user",
                                                    "show_on_leaderboard": False}, {"user_id": 1})}


# -- access -------------------------------------------------------------------------

def is_admin(auth, district):
    return auth.is_system or auth.is_platform_admin or (auth.has("district_admin") and auth.district == district)


def is_staff(auth, district, community):
    """Community staff act for their own community only (scope == community id)."""
    return (bool(community) and auth.has("community_staff") and auth.district == district
            and auth.scope == community)


def require_admin(auth, district):
    auth.require_in_district(district, "district_admin", "platform_admin")


def require_community(directory, district, community):
    """A community of another district, or of none, is not found: the same answer for both.

    ``directory`` asks the grid (as the caller); without one (the domain's own tests) the community
    is taken as given."""
    if directory is not None and not directory.is_community(district, community):
        raise NotFound(f"no community {community!r}", {"community": ["not found"]})
    return community


def require_member(auth):
    """A signed-in person of a district; returns the district."""
    if not auth.authenticated:
        raise Unauthorized("authentication required")
    if not auth.district:
        raise Forbidden("sign in as a member of a district")
    return auth.district


def visible(auth, doc, what, owner_field="user_id"):
    """The document if the caller may see it; another district's (or another person's) is 404."""
    if doc is None:
        raise NotFound(f"no such {what}", {f"{what}_id": ["not found"]})
    district = doc["district"]
    if (is_admin(auth, district) or is_staff(auth, district, doc.get("community"))
            or (auth.district == district and owner_field and doc.get(owner_field) == auth.user_id)):
        return doc
    raise NotFound(f"no such {what}", {f"{what}_id": [f"{doc['_id']} not found"]})


def statement_access(db, auth, district, account, directory=None):
    """May the caller read this account's statement? Returns ``(kind, owner, community)``."""
    kind = ledger.kind_of(account)
    if kind == "user":
        user_id = ledger.user_of(account)
        doc = get(db, district, user_id)
        community = doc.get("community") if doc else None
        known = doc is not None or db.entries.count_documents({"district": district, "account": account}, limit=1)
        if known and ((auth.user_id == user_id and auth.district == district) or is_admin(auth, district)
                      or is_staff(auth, district, community)):
            return kind, (doc or {}).get("name"), community
        if auth.user_id == user_id and auth.district == district:
            return kind, auth.name, auth.community  # my own account, before its first entry
    elif kind in ("community", "shop"):
        community = account.split(":", 1)[1]
        if is_admin(auth, district) or is_staff(auth, district, community):
            require_community(directory, district, community)
            return kind, None, community
    elif kind == "org":
        doc = db.accounts.find_one({"_id": _id(district, account)})
        if doc is not None and (is_admin(auth, district) or is_staff(auth, district, doc.get("community"))
                                or (auth.district == district and auth.organisation == doc["organisation_id"])):
            return kind, doc.get("name"), doc.get("community")
    elif kind == "issuance" and account == ledger.issuance_account(district):
        if is_admin(auth, district):
            return kind, None, None
    raise NotFound("no such account", {"account": [f"{account} not found"]})
