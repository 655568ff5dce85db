"""The texts of every notice: (event type, audience, locale) -> (heading, body).

Defaults live here in zh-CN (the platform's language) and en; a district may
replace any of them through the API (stored in ``templates``, checked when
saved). Rendering never fails: a district's text that cannot be rendered, or a
locale without its own text, falls back to the default, and the zh-CN default
is always there (a test checks every rule has one).

Templates are ``str.format`` texts with named fields only: the fields of the
event (``{title}``, ``{rating}``, ``{points}`` ...) and a few derived ones
(``{status_text}``, ``{department_name}``, ``{due_text}`` ...). Positional
fields, attribute or index access (``{title.__class__}``), conversions and
format specs are refused when saved. Fields an event lacks render as empty text.
Followers of a petition (residents of merged duplicates) read the resident's text.
"""
import logging
import string
from datetime import datetime, timezone

from civicgrid.events import CATALOGUE

from . import rules

log = logging.getLogger(__name__)

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
TITLE_MAX, BODY_MAX = 100, 1000

ZH = {
    ("petition_submitted", "resident"): ("诉求已提交", "您的诉求「{title}」已提交"),
    ("petition_submitted", "building"): ("楼栋新诉求", "楼栋有新诉求：「{title}」"),
    ("petition_submitted", "party"): ("居民吹哨", "居民吹哨：求助「{title}」等待党员认领"),
    ("petition_claimed", "resident"): ("诉求已接手", "您的诉求「{title}」已有人接手办理"),
    ("petition_escalated", "resident"): ("诉求已上报社区", "您的诉求「{title}」已上报社区"),
    ("petition_escalated", "community"): (
        "网格吹哨", "网格吹哨：诉求「{title}」需要社区处理，原因：{reason}"),
    ("petition_escalated", "community_overdue"): (
        "超时自动上报", "超时自动上报：诉求「{title}」需要社区处理"),
    ("petition_escalated", "resident_grid"): ("求助转网格", "您的求助「{title}」已转网格处理"),
    ("petition_escalated", "building"): (
        "党员吹哨", "党员吹哨：求助「{title}」需要网格处理，原因：{reason}"),
    ("petition_escalated", "building_unclaimed"): (
        "党员未接单", "党员未接单：求助「{title}」转网格处理"),
    ("petition_dispatched", "resident"): ("诉求已派单", "您的诉求「{title}」已派单至{department_name}"),
    ("petition_dispatched", "department"): (
        "社区吹哨", "社区吹哨：诉求「{title}」派至贵部门，请及时接单"),
    ("petition_accepted", "resident"): ("部门已接单", "您的诉求「{title}」已由{department_name}接单办理"),
    ("petition_returned", "resident"): (
        "诉求退回社区", "您的诉求「{title}」被部门退回社区重新处理，原因：{reason}"),
    ("petition_returned", "community"): (
        "部门退单", "部门退单：诉求「{title}」已退回社区，原因：{reason}"),
    ("petition_resolved", "resident"): (
        "诉求已办结", "您的诉求「{title}」已办结：{note}。请对办理结果进行评价"),
    ("petition_closed", "resident"): ("诉求已归档", "您的诉求「{title}」已办结归档"),
    ("petition_closed", "resident_unrated"): (
        "诉求已归档", "您的诉求「{title}」超过评价时限，已自动归档"),
    ("petition_closed", "handler"): ("收到评价", "您办理的诉求「{title}」获得{rating}星评价"),
    ("petition_closed", "handler_unrated"): (
        "诉求已归档", "您办理的诉求「{title}」已办结归档，居民未评价"),
    ("petition_withdrawn", "resident"): ("诉求已撤回", "您的诉求「{title}」已撤回"),
    ("petition_overdue", "handler"): (
        "诉求超时", "您办理的诉求「{title}」已超过{deadline_text}时限，请尽快处理"),
    ("petition_overdue", "building"): ("诉求超时", "诉求「{title}」已超过{deadline_text}时限"),
    ("petition_overdue", "community"): ("诉求超时", "诉求「{title}」已超过{deadline_text}时限"),
    ("petition_overdue", "district"): ("诉求超时", "诉求「{title}」已超过{deadline_text}时限，请督办"),
    ("petition_overdue", "department"): (
        "诉求超时", "诉求「{title}」已超过{deadline_text}时限，请尽快处理"),
    ("petition_merged", "resident"): (
        "诉求已合并", "您的诉求「{title}」与已有诉求合并办理，后续进展将同步通知您"),
    ("follow_up_opened", "community"): (
        "差评回访", "差评回访：诉求「{title}」获得{rating}星评价，请回访"),
    ("follow_up_recorded", "resident"): ("回访结果", "您的诉求「{title}」{outcome_text}：{note}"),
    ("points_awarded", "awardee"): (
        "积分到账", "您获得{amount}积分（{reason_text}），当前余额{balance}分"),
    ("activity_cancelled", "attendee"): (
        "活动取消", "您报名的活动「{title}」（{starts_at_text}）已取消。{reason}"),
    ("claim_approved", "claimant"): ("申报已通过", "您申报的「{title}」已通过审核，获得{points}积分{reason_note}"),
    ("claim_rejected", "claimant"): ("申报未通过", "您申报的「{title}」未通过审核，原因：{reason}"),
    ("points_redeemed", "resident"): (
        "兑换成功", "您已用{points}积分兑换「{item_name}」×{quantity}，请到社区积分超市领取"),
    ("order_picked_up", "resident"): ("兑换已领取", "您兑换的「{item_name}」×{quantity}已领取"),
    ("order_cancelled", "resident"): (
        "兑换已取消", "您兑换的「{item_name}」×{quantity}已取消（{reason_text}），{points}积分已退回"),
    ("wish_adopted", "resident"): ("心愿已被认领", "您的微心愿「{title}」已由{adopter_text}认领，请留意联系"),
    ("wish_fulfilled", "resident"): (
        "心愿已圆，请确认", "您的微心愿「{title}」已完成：{note}。如已收到，请在“微心愿”中确认"),
    ("wish_confirmed", "adopter"): (
        "心愿圆梦确认", "您认领的微心愿「{title}」已由居民确认，获得{points}积分，感谢您的爱心"),
    ("wish_confirmed", "organisation"): (
        "心愿圆梦确认", "贵单位认领的微心愿「{title}」已由居民确认，{points}积分已记入{organisation_name}账户"),
    ("wish_expired", "resident"): (
        "心愿到期未被认领", "您的微心愿「{title}」到期（{wanted_by}）仍无人认领，可联系社区工作人员重新发布"),
    ("wish_flagged", "community"): (
        "微心愿久未认领", "微心愿「{title}」已发布{flag_days}天仍无人认领，请联系党员、志愿者或驻区单位认领"),
    ("broadcast", "recipient"): ("{title}", "{body}{confirm_text}"),
    ("digest", "staff"): (
        "今日待办（{date}）",
        "待认领/待派单/待接单{unclaimed}件，已超时{overdue}件，待回访{follow_ups}件，"
        "待审核积分申报{claims}件。{visits_text}{items_text}"),
}

EN = {
    ("petition_submitted", "resident"): ("Petition submitted", "Your petition \"{title}\" has been submitted"),
    ("petition_submitted", "building"): ("New petition in your building", "New petition in the building: \"{title}\""),
    ("petition_submitted", "party"): ("A resident asks for help",
                                      "A resident asks for help: \"{title}\" waits for a party member"),
    ("petition_claimed", "resident"): ("Petition taken on", "Someone is now handling your petition \"{title}\""),
    ("petition_escalated", "resident"): ("Sent to the community",
                                         "Your petition \"{title}\" has been sent up to the community"),
    ("petition_escalated", "community"): ("Escalated by the grid",
                                          "The grid escalated \"{title}\" to the community. Reason: {reason}"),
    ("petition_escalated", "community_overdue"): ("Escalated: time limit passed",
                                                  "\"{title}\" passed its time limit and needs the community"),
    ("petition_escalated", "resident_grid"): ("Sent to the grid", "Your request \"{title}\" is now with the grid"),
    ("petition_escalated", "building"): ("Escalated by a party member",
                                         "A party member escalated \"{title}\" to the grid. Reason: {reason}"),
    ("petition_escalated", "building_unclaimed"): ("Not taken by party members",
                                                   "No party member took \"{title}\": it is now with the grid"),
    ("petition_dispatched", "resident"): ("Dispatched", "Your petition \"{title}\" was dispatched to {department_name}"),
    ("petition_dispatched", "department"): ("Dispatched to your department",
                                            "\"{title}\" was dispatched to your department: please accept it"),
    ("petition_accepted", "resident"): ("Accepted", "{department_name} accepted your petition \"{title}\""),
    ("petition_returned", "resident"): ("Returned to the community",
                                        "Your petition \"{title}\" went back to the community. Reason: {reason}"),
    ("petition_returned", "community"): ("Returned by a department",
                                         "A department returned \"{title}\". Reason: {reason}"),
    ("petition_resolved", "resident"): ("Resolved", "Your petition \"{title}\" is resolved: {note}. Please rate it"),
    ("petition_closed", "resident"): ("Closed", "Your petition \"{title}\" is closed"),
    ("petition_closed", "resident_unrated"): ("Closed", "Your petition \"{title}\" closed without a rating"),
    ("petition_closed", "handler"): ("Rated", "\"{title}\", which you handled, was rated {rating} stars"),
    ("petition_closed", "handler_unrated"): ("Closed", "\"{title}\", which you handled, closed without a rating"),
    ("petition_withdrawn", "resident"): ("Withdrawn", "Your petition \"{title}\" was withdrawn"),
    ("petition_overdue", "handler"): ("Overdue", "\"{title}\", which you handle, passed its {deadline_text} time "
                                                 "limit: please act now"),
    ("petition_overdue", "building"): ("Overdue", "\"{title}\" passed its {deadline_text} time limit"),
    ("petition_overdue", "community"): ("Overdue", "\"{title}\" passed its {deadline_text} time limit"),
    ("petition_overdue", "district"): ("Overdue", "\"{title}\" passed its {deadline_text} time limit: please follow up"),
    ("petition_overdue", "department"): ("Overdue", "\"{title}\" passed its {deadline_text} time limit: please act now"),
    ("petition_merged", "resident"): ("Merged", "Your petition \"{title}\" was merged with an earlier one; "
                                                "you will hear of its progress"),
    ("follow_up_opened", "community"): ("Follow-up needed", "\"{title}\" was rated {rating} stars: please follow up"),
    ("follow_up_recorded", "resident"): ("Follow-up", "Your petition \"{title}\": {outcome_text}: {note}"),
    ("points_awarded", "awardee"): ("Points received", "You received {amount} points ({reason_text}); "
                                                       "balance {balance}"),
    ("activity_cancelled", "attendee"): ("Activity cancelled", "\"{title}\" ({starts_at_text}) is cancelled. {reason}"),
    ("claim_approved", "claimant"): ("Claim approved",
                                      "Your claim \"{title}\" was approved: {points} points{reason_note}"),
    ("claim_rejected", "claimant"): ("Claim rejected", "Your claim \"{title}\" was rejected. Reason: {reason}"),
    ("points_redeemed", "resident"): ("Redeemed", "You redeemed {quantity} × \"{item_name}\" for {points} points; "
                                                  "collect it at the community shop"),
    ("order_picked_up", "resident"): ("Collected", "You collected {quantity} × \"{item_name}\""),
    ("order_cancelled", "resident"): ("Order cancelled", "Your order of {quantity} × \"{item_name}\" was cancelled "
                                                         "({reason_text}); {points} points refunded"),
    ("wish_adopted", "resident"): ("Your wish was adopted",
                                   "Your micro-wish \"{title}\" was adopted by {adopter_text}: expect them in touch"),
    ("wish_fulfilled", "resident"): ("Your wish came true: please confirm",
                                     "Your micro-wish \"{title}\" is done: {note}. Once you have it, please "
                                     "confirm under Micro-wishes"),
    ("wish_confirmed", "adopter"): ("Wish confirmed", "The resident confirmed the micro-wish \"{title}\" you "
                                                      "adopted: {points} points. Thank you"),
    ("wish_confirmed", "organisation"): ("Wish confirmed", "The resident confirmed the micro-wish \"{title}\" your "
                                                           "organisation adopted: {points} points to "
                                                           "{organisation_name}'s account"),
    ("wish_expired", "resident"): ("Your wish expired", "Nobody adopted your micro-wish \"{title}\" by "
                                                        "{wanted_by}: community staff can post it again"),
    ("wish_flagged", "community"): ("A wish waits for an adopter", "The micro-wish \"{title}\" has waited "
                                                                   "{flag_days} days: please find a party member, "
                                                                   "volunteer or organisation to adopt it"),
    ("broadcast", "recipient"): ("{title}", "{body}{confirm_text}"),
    ("digest", "staff"): ("Today's work ({date})",
                          "{unclaimed} waiting to be taken on, {overdue} overdue, {follow_ups} follow-ups, "
                          "{claims} claims to approve. {visits_text}{items_text}"),
}

DEFAULTS = {"zh-CN": ZH, "en": EN}
TEMPLATES = ZH  # the platform's own texts, by (event type, audience)

# Words for the codes events carry, per locale.
TEXTS = {
    "zh-CN": {
        "points_reason": {"petition_rated": "诉求评价奖励", "petition_handled": "办理诉求获好评奖励",
                          "activity_attended": "参加志愿活动", "claim_approved": "自主申报通过"},
        "order_reason": {"resident": "您已取消", "staff": "工作人员取消", "expired": "超时未领取"},
        "deadline": {"claim": "认领", "resolve": "办结", "dispatch": "派单", "accept": "接单", "rate": "评价"},
        "outcome": {"contacted": "社区已回访", "reopened": "已重新立案办理", "closed": "回访已完结"},
        "status": {"submitted": "已提交", "in_progress": "办理中", "escalated": "已上报", "dispatched": "已派单",
                   "resolved": "已办结", "closed": "已归档", "withdrawn": "已撤回", "merged": "已合并"},
        "level": {"party": "党员", "grid": "网格", "community": "社区", "department": "部门"},
        "confirm": "（请确认已阅）",
        "note": "（{text}）",
        "item": "「{title}」", "item_more": "等{count}件", "item_sep": "、", "items_intro": "包括",
        "visits_intro": "逾期未走访{count}户：", "visits_end": "。", "visits_more": "等",
    },
    "en": {
        "points_reason": {"petition_rated": "rating a petition", "petition_handled": "a well-rated petition",
                          "activity_attended": "volunteer activity", "claim_approved": "approved claim"},
        "order_reason": {"resident": "cancelled by you", "staff": "cancelled by staff",
                         "expired": "not collected in time"},
        "deadline": {"claim": "claim", "resolve": "resolve", "dispatch": "dispatch", "accept": "accept",
                     "rate": "rating"},
        "outcome": {"contacted": "the community contacted you", "reopened": "reopened",
                    "closed": "follow-up closed"},
        "status": {"submitted": "submitted", "in_progress": "in progress", "escalated": "escalated",
                   "dispatched": "dispatched", "resolved": "resolved", "closed": "closed",
                   "withdrawn": "withdrawn", "merged": "merged"},
        "level": {"party": "party members", "grid": "grid", "community": "community", "department": "department"},
        "confirm": " (please confirm you have read it)",
        "note": " ({text})",
        "item": "\"{title}\"", "item_more": " and {count} more", "item_sep": ", ", "items_intro": "Including ",
        "visits_intro": "{count} household visits overdue: ", "visits_end": ". ", "visits_more": " and more",
    },
}

# Fields beyond the event's own, by the event types that have them.
DERIVED = {
    "points_awarded": ("reason_text",),
    "order_cancelled": ("reason_text",),
    "activity_cancelled": ("starts_at_text",),
    "claim_approved": ("reason_note",),
    "wish_adopted": ("adopter_text",),
    "petition_overdue": ("deadline_text",),
    "follow_up_opened": ("outcome_text",),
    "follow_up_recorded": ("outcome_text",),
}
PETITION_DERIVED = ("status_text", "level_text", "department_name", "due_text")
PSEUDO_FIELDS = {
    "broadcast": ("title", "body", "confirm_text", "node_name", "sender_name"),
    "digest": ("date", "unclaimed", "overdue", "follow_ups", "claims", "total", "items_text", "name",
               "visits", "visits_text"),
}


def fields_of(type_):
    """The field names a template of ``type_`` may use."""
    if type_ in PSEUDO_FIELDS:
        return tuple(PSEUDO_FIELDS[type_])
    schema = CATALOGUE[type_][2]()
    own = [name for name, field in schema.fields.items() if field.__class__.__name__ != "List"]
    derived = list(DERIVED.get(type_, ()))
    if "petition_id" in schema.fields:
        derived = list(PETITION_DERIVED) + derived
    return tuple(dict.fromkeys(own + derived))


def known(type_, audience):
    return (type_, audience) in ZH


def catalogue():
    """Every (type, audience) with its fields, category and the default texts per locale."""
    categories = {(r.event, r.audience): r.category for r in rules.RULES}
    categories[rules.BROADCAST[:2]] = rules.BROADCAST[2]
    categories[rules.DIGEST[:2]] = rules.DIGEST[2]
    return [{"type": t, "audience": a, "category": categories.get((t, a)), "fields": list(fields_of(t)),
             "defaults": {loc: {"title": DEFAULTS[loc][(t, a)][0], "body": DEFAULTS[loc][(t, a)][1]}
                          for loc in LOCALES if (t, a) in DEFAULTS[loc]}}
            for (t, a) in ZH]


# -- checking a template -------------------------------------------------------

def _check_text(text, allowed, limit):
    """Problems of one template text, each naming where and what."""
    if not isinstance(text, str):
        return ["must be a string"]
    if not text.strip():
        return ["must not be blank"]
    if len(text) > limit:
        return [f"must be at most {limit} characters (has {len(text)})"]
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as err:
        return [f"malformed placeholder: {err} (write '{{{{' or '}}}}' for a literal brace)"]
    problems = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name == "" or name.isdigit():
            problems.append("positional placeholders ({} or {0}) are not allowed: name a field, e.g. {title}")
        elif not name.isidentifier():
            problems.append(f"placeholder {{{name}}}: attribute or index access is not allowed, "
                            f"use a plain field name")
        elif name not in allowed:
            problems.append(f"unknown field {{{name}}}; this notice has: {', '.join(sorted(allowed))}")
        if conversion or spec:
            problems.append(f"placeholder {{{name}}}: conversions and format specs (!r, :>5) are not allowed")
    return problems


def check(type_, title, body):
    """{field: [problems]} of a district's template; empty when it may be saved."""
    allowed = set(fields_of(type_))
    errors = {}
    for name, text, limit in (("title", title, TITLE_MAX), ("body", body, BODY_MAX)):
        problems = _check_text(text, allowed, limit)
        if problems:
            errors[name] = problems
    return errors


# -- rendering -----------------------------------------------------------------

class _Values(dict):
    """Event fields for ``format_map``: what is missing renders empty; some are worked out on demand."""

    def __init__(self, values, lazy):
        super().__init__(values)
        self.lazy = lazy

    def __missing__(self, key):
        make = self.lazy.get(key)
        value = "" if make is None else make()
        value = "" if value is None else value
        self[key] = value
        return value


def _local_text(iso, tz):
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(tz or timezone.utc).strftime("%Y-%m-%d %H:%M")


def values(type_, data, locale, context=None):
    """The values a template of ``type_`` reads: the event's data, and derived texts in ``locale``."""
    context = context or {}
    words = TEXTS.get(locale) or TEXTS[DEFAULT_LOCALE]
    plain = {k: "" if v is None else v for k, v in (data or {}).items()}
    tz = context.get("tz")

    def word(kind, code):
        return words[kind].get(code, "" if code is None else code)

    lazy = {
        "status_text": lambda: word("status", data.get("status")),
        "level_text": lambda: word("level", data.get("level")),
        "deadline_text": lambda: word("deadline", data.get("deadline")),
        "outcome_text": lambda: word("outcome", data.get("outcome")),
        "due_text": lambda: _local_text(data.get("due_at"), tz),
        # an aside only when there is something to say (a capped award says why it is smaller)
        "reason_note": lambda: words["note"].format(text=data["reason"]) if data.get("reason") else "",
        "starts_at_text": lambda: _local_text(data.get("starts_at"), tz),
        # 「党员 张三」, or the organisation's name: who the resident should expect at the door
        "adopter_text": lambda: data.get("organisation_name") or data.get("adopter_name") or "",
        "department_name": lambda: (context["department_name"]() if callable(context.get("department_name"))
                                    else context.get("department_name")) or data.get("department_id") or "",
    }
    if type_ == "order_cancelled":
        lazy["reason_text"] = lambda: word("order_reason", data.get("reason"))
    elif "reason" in (data or {}):
        lazy["reason_text"] = lambda: word("points_reason", data.get("reason"))
    for name, value in (context.get("extra") or {}).items():
        plain[name] = value
    return _Values(plain, lazy)


def default(type_, audience, locale):
    """The platform's text for a locale, else zh-CN's."""
    return DEFAULTS.get(locale, {}).get((type_, audience)) or ZH[(type_, audience)]


def render(type_, audience, data, locale=DEFAULT_LOCALE, override=None, context=None):
    """(heading, body) for one audience of one event in one locale.

    ``override`` is a district's (title, body) for this (type, audience, locale), if any; it
    falls back to the default should it fail (it was checked when saved, so it should not).
    """
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    vals = values(type_, data, locale, context)
    if override:
        try:
            return override[0].format_map(vals), override[1].format_map(vals)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as err:
            log.error("district template %s/%s/%s failed (%s): default used", type_, audience, locale, err)
    heading, body = default(type_, audience, locale)
    return heading.format_map(vals), body.format_map(vals)


def items_text(titles, total, locale):
    """'包括「a」、「b」等7件' for a digest: the first few titles of what waits."""
    if not titles:
        return ""
    words = TEXTS.get(locale) or TEXTS[DEFAULT_LOCALE]
    text = words["items_intro"] + words["item_sep"].join(words["item"].format(title=t) for t in titles)
    if total > len(titles):
        text += words["item_more"].format(count=total)
    return text


def visits_text(names, total, locale):
    """'逾期未走访5户：「李家」、「王家」等。' for a digest: the households whose visit is overdue (入户走访)."""
    if not total:
        return ""
    words = TEXTS.get(locale) or TEXTS[DEFAULT_LOCALE]
    text = words["visits_intro"].format(count=total) + words["item_sep"].join(
        words["item"].format(title=n) for n in names)
    if total > len(names):
        text += words["visits_more"]
    return text + words["visits_end"]


def confirm_text(required, locale):
    return (TEXTS.get(locale) or TEXTS[DEFAULT_LOCALE])["confirm"] if required else ""


# -- a district's own texts ----------------------------------------------------

def overrides(db, district, type_):
    """{(audience, locale): (title, body)} a district set for one event type."""
    return {(t["audience"], t["locale"]): (t["title"], t["body"])
            for t in db.templates.find({"district": district, "type": type_})}
