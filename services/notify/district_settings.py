"""A district's notification settings: its timezone, its default locale, its digest hour.

Unset, a district lives in Asia/Shanghai, reads zh-CN and gets its digest at 08:00.
"""
import functools
from datetime import timedelta, timezone

from civicgrid.errors import Invalid
from civicgrid.events import utcnow

DEFAULTS = {"timezone": "Asia/Shanghai", "locale": "zh-CN", "digest_hour": 8, "digest_enabled": True}
# Without the IANA database (a slim image without tzdata) the zones of the seed districts still work.
_FIXED = {"Asia/Shanghai": timezone(timedelta(hours=8), "CST"), "Asia/Chongqing": timezone(timedelta(hours=8), "CST"),
          "UTC": timezone.utc, "Etc/UTC": timezone.utc}


@functools.lru_cache(maxsize=256)
def zone(name):
    """The tzinfo of an IANA name, or ``None`` for an unknown one."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo(name)
    except Exception:
        return _FIXED.get(name)


def get(db, district):
    stored = db.district_settings.find_one({"district": district}) or {}
    return {k: stored.get(k, v) for k, v in DEFAULTS.items()}


def tz_of(settings):
    return zone(settings["timezone"]) or _FIXED["Asia/Shanghai"]


def save(db, district, changes, now=None):
    from . import templates
    if not isinstance(changes, dict):
        raise Invalid("settings must be an object", {"_schema": ["must be an object"]})
    errors, update = {}, {}
    for key, value in changes.items():
        if key == "timezone":
            if zone(value) is None:
                errors[key] = [f"unknown timezone {value!r}: use an IANA name such as Asia/Shanghai"]
        elif key == "locale":
            if value not in templates.LOCALES:
                errors[key] = [f"unsupported locale {value!r}; supported: {', '.join(templates.LOCALES)}"]
        elif key == "digest_hour":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 23:
                errors[key] = ["must be an hour 0-23"]
        elif key == "digest_enabled":
            if not isinstance(value, bool):
                errors[key] = ["must be true or false"]
        else:
            errors[key] = ["unknown field"]
            continue
        update[key] = value
    if errors:
        raise Invalid(f"invalid settings: {', '.join(sorted(errors))}", errors)
    now = now or utcnow()
    db.district_settings.update_one({"district": district},
                                    {"$set": {**update, "updated_at": now}, "$setOnInsert": {"created_at": now}},
                                    upsert=True)
    return get(db, district)
