"""What each user wants to hear, where, and when.

Per user and per category (``rules.RULES`` names each notice's category), the
channels that are on. The inbox is always on. ``dispatch`` (a petition sent to my
department) and ``overdue`` (a time limit passed) are critical: they reach every
channel the user has an address for, whatever the preferences say, at any hour,
and a request to change them is refused. Quiet hours (local time, the user's
timezone or else the district's) delay the non-critical notices of the channels
that ring a phone (SMS, WeChat) to the end of the quiet period; the inbox, which
rings nothing, is written at once.
"""
import re
from datetime import datetime, time, timedelta

from civicgrid.errors import Invalid
from civicgrid.events import utcnow

from . import district_settings, templates

CATEGORIES = ("progress", "task", "dispatch", "overdue", "feedback", "points", "activity", "claim", "shop",
              "broadcast", "digest", "wish")
CATEGORY_TEXTS = {
    "progress": "my petitions' progress", "task": "new work for me (staff)",
    "dispatch": "petitions dispatched to my department (critical)", "overdue": "time limits passed (critical)",
    "feedback": "ratings of what I handled", "points": "points received", "activity": "volunteer activities",
    "claim": "my claims (自主申报)", "shop": "points-shop orders", "broadcast": "community notices (公示)",
    "digest": "the morning digest (staff)", "wish": "micro-wishes (微心愿) I wished for or adopted",
}
CRITICAL = frozenset({"dispatch", "overdue"})
CHANNELS = ("inbox", "sms", "wechat")  # a user's channels; webhooks belong to departments and districts
PUSH = ("sms", "wechat")
ALL_CHANNELS = CHANNELS + ("webhook",)
DEFAULT_CHANNELS = ("inbox", "wechat")  # WeChat when the user gave an openid; SMS when they ask for it

PHONE = re.compile(r"^\+?[0-9]{6,15}\Z")
OPENID = re.compile(r"^[\w-]{6,64}\Z")
HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])\Z")


def _blank(district, user_id):
    return {"district": district, "user_id": user_id, "locale": None, "timezone": None,
            "quiet_hours": None, "contacts": {}, "channels": {}}


def load(db, district, user_id):
    return db.preferences.find_one({"district": district, "user_id": user_id}) or _blank(district, user_id)


def load_many(db, district, user_ids):
    found = {p["user_id"]: p for p in db.preferences.find({"district": district, "user_id": {"$in": list(user_ids)}})}
    return {u: found.get(u) or _blank(district, u) for u in user_ids}


# -- checking a change ---------------------------------------------------------

def _channels_problem(category, value):
    if category not in CATEGORIES:
        return f"unknown category {category!r}; categories: {', '.join(CATEGORIES)}"
    if category in CRITICAL:
        return f"{category} notices are critical: they cannot be switched off or changed"
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        return "must be a list of channels"
    for channel in value:
        if channel == "webhook":
            return "webhook is not a user's channel: it is set per department or district"
        if channel not in CHANNELS:
            return f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}"
    return None


def check_change(changes):
    """The fields to $set for a change, or ``Invalid`` naming each bad one. Given keys replace, others stay."""
    if not isinstance(changes, dict):
        raise Invalid("preferences must be an object", {"_schema": ["must be an object"]})
    errors, update = {}, {}
    unknown = set(changes) - {"locale", "timezone", "quiet_hours", "contacts", "channels"}
    for key in sorted(unknown):
        errors[key] = ["unknown field"]
    if "locale" in changes:
        locale = changes["locale"]
        if locale is not None and locale not in templates.LOCALES:
            errors["locale"] = [f"unsupported locale {locale!r}; supported: {', '.join(templates.LOCALES)}"]
        update["locale"] = locale
    if "timezone" in changes:
        tz = changes["timezone"]
        if tz is not None and district_settings.zone(tz) is None:
            errors["timezone"] = [f"unknown timezone {tz!r}: use an IANA name such as Asia/Shanghai"]
        update["timezone"] = tz
    if "quiet_hours" in changes:
        quiet = changes["quiet_hours"]
        if quiet is not None:
            if not isinstance(quiet, dict) or set(quiet) != {"start", "end"}:
                errors["quiet_hours"] = ['must be {"start": "HH:MM", "end": "HH:MM"} or null']
            else:
                for edge in ("start", "end"):
                    if not isinstance(quiet[edge], str) or not HHMM.match(quiet[edge]):
                        errors[f"quiet_hours.{edge}"] = ["must be a time HH:MM (00:00-23:59)"]
                if quiet.get("start") == quiet.get("end") and "quiet_hours.start" not in errors:
                    errors["quiet_hours"] = ["start and end must differ"]
        update["quiet_hours"] = quiet
    if "contacts" in changes:
        contacts = changes["contacts"]
        if not isinstance(contacts, dict):
            errors["contacts"] = ["must be an object {sms, wechat}"]
        else:
            for channel, address in contacts.items():
                if channel not in PUSH:
                    errors[f"contacts.{channel}"] = [
                        f"unknown channel {channel!r}; a contact is one of: {', '.join(PUSH)}"]
                elif address is not None and not isinstance(address, str):
                    errors[f"contacts.{channel}"] = ["must be a string or null"]
                elif channel == "sms" and address is not None and not PHONE.match(address):
                    errors["contacts.sms"] = ["must be a phone number: digits, optionally a leading +"]
                elif channel == "wechat" and address is not None and not OPENID.match(address):
                    errors["contacts.wechat"] = ["must be a WeChat openid (6-64 letters, digits, '_' or '-')"]
                else:
                    update[f"contacts.{channel}"] = address
    if "channels" in changes:
        chosen = changes["channels"]
        if not isinstance(chosen, dict):
            errors["channels"] = ["must be an object {category: [channels]}"]
        else:
            for category, value in chosen.items():
                problem = _channels_problem(category, value)
                if problem:
                    errors[f"channels.{category}"] = [problem]
                else:
                    update[f"channels.{category}"] = sorted(set(value) | {"inbox"}, key=CHANNELS.index)
    if errors:
        raise Invalid(f"invalid preferences: {', '.join(sorted(errors))}", errors)
    return update


def save(db, district, user_id, changes, now=None):
    update = check_change(changes)
    now = now or utcnow()
    db.preferences.update_one(
        {"district": district, "user_id": user_id},
        {"$set": {**update, "updated_at": now}, "$setOnInsert": {"created_at": now}}, upsert=True)
    return load(db, district, user_id)


# -- what a notice does for one user -------------------------------------------

def channels_for(pref, category):
    """The push channels (sms, wechat) a notice of ``category`` goes to, besides the inbox."""
    contacts = pref.get("contacts") or {}
    if category in CRITICAL:
        wanted = PUSH
    else:
        wanted = (pref.get("channels") or {}).get(category, DEFAULT_CHANNELS)
    return [c for c in PUSH if c in wanted and contacts.get(c)]


def _in_quiet(local_time, start, end):
    return start <= local_time < end if start < end else (local_time >= start or local_time < end)


def release_time(pref, category, now, district_tz):
    """When a push notice of ``category`` may ring: ``now``, or the end of the user's quiet hours."""
    quiet = pref.get("quiet_hours")
    if category in CRITICAL or not quiet:
        return now
    tz = district_settings.zone(pref.get("timezone")) or district_tz
    local = now.astimezone(tz)
    start, end = (time(*map(int, quiet[k].split(":"))) for k in ("start", "end"))
    if not _in_quiet(local.time().replace(second=0, microsecond=0), start, end):
        return now
    release = datetime.combine(local.date(), end, tzinfo=tz)
    if release <= local:
        release += timedelta(days=1)
    return release.astimezone(now.tzinfo)


def view(pref, district_locale=templates.DEFAULT_LOCALE):
    chosen = pref.get("channels") or {}
    contacts = pref.get("contacts") or {}
    return {
        "locale": pref.get("locale") or district_locale,
        "timezone": pref.get("timezone"),
        "quiet_hours": pref.get("quiet_hours"),
        "contacts": {c: contacts.get(c) for c in PUSH},
        "categories": [
            {"category": c, "description": CATEGORY_TEXTS[c], "critical": c in CRITICAL,
             "channels": list(CHANNELS) if c in CRITICAL else
             sorted(set(chosen.get(c, DEFAULT_CHANNELS)) | {"inbox"}, key=CHANNELS.index),
             "default": c not in chosen}
            for c in CATEGORIES],
    }
