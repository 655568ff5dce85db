"""Who hears what: the one table of recipient rules.

Each row says: for this event (when the condition holds), these people read the
text of this audience (``templates``: (event, audience)), in this category
(``preferences``: what a user may switch off; ``dispatch`` and ``overdue`` are
critical and cannot be). Rows of one event are read top to bottom; someone in two
rows hears once, with the first row's text. The last column names the practice
of the seed articles the row carries out, so the table can be checked against them.

The people come from the grid service (``directory``: cached, see directory.py);
a building or department the grid no longer knows reaches nobody, never an error.
Petitions filed through Open311 name as resident an id of the form
``open311:<application>:<who>``: nobody signs in with it, so it is no recipient (their
application follows the request over Open311 itself); the staff rows still apply.
"""
import logging
from dataclasses import dataclass

from civicgrid.auth import SYSTEM
from civicgrid.errors import NotFound

log = logging.getLogger(__name__)


# -- conditions ----------------------------------------------------------------

@dataclass(frozen=True)
class When:
    """A named condition on an event; ``&`` combines two."""
    name: str
    test: object

    def __call__(self, event):
        return self.test(event)

    def __and__(self, other):
        return When(f"{self.name} and {other.name}", lambda e: self(e) and other(e))

    def __str__(self):
        return self.name


ALWAYS = When("always", lambda e: True)
BY_SYSTEM = When("by the system (a time limit)", lambda e: e["actor"]["role"] == SYSTEM)
BY_PERSON = When("by a person", lambda e: e["actor"]["role"] != SYSTEM)
RATED = When("rated", lambda e: e["data"].get("rating") is not None)
UNRATED = When("unrated", lambda e: e["data"].get("rating") is None)


def level(*levels):
    return When(f"level {'/'.join(levels)}", lambda e: e["data"].get("level") in levels)


def level_not(*levels):
    return When(f"level not {'/'.join(levels)}", lambda e: e["data"].get("level") not in levels)


def overdue_at(*levels):
    return When(f"overdue at {'/'.join(levels)}", lambda e: e["data"].get("overdue_level") in levels)


def overdue_not_at(*levels):
    return When(f"overdue elsewhere (community)",
                lambda e: e["data"].get("overdue_level") not in levels)


# -- people --------------------------------------------------------------------

EXTERNAL_PREFIXES = ("open311:",)


def is_platform_user(user_id):
    """Whether someone signs in with this id; Open311 requesters (``open311:...``) do not."""
    return isinstance(user_id, str) and bool(user_id) and not user_id.startswith(EXTERNAL_PREFIXES)


@dataclass(frozen=True)
class People:
    """A named way to find user ids from an event and the grid directory (platform users only)."""
    name: str
    find: object

    def __call__(self, event, directory):
        return [u for u in (self.find(event, directory) or []) if is_platform_user(u)]

    def __str__(self):
        return self.name


def _responsible(*roles):
    def find(event, directory):
        data = event["data"]
        try:
            people = directory.responsible_for_building(event["district"], data.get("building_id")) or {}
        except NotFound:
            # The building left the grid since: the resident still hears, nobody else can.
            log.warning("no building %s in %s: staff not notified", data.get("building_id"), event["district"])
            return []
        return [user for role in roles for user in people.get(role) or []]
    return find


def _department(event, directory):
    department_id = event["data"].get("department_id")
    if not department_id:
        return []
    try:
        return directory.department_staff(event["district"], department_id) or []
    except NotFound:
        log.warning("no department %s in %s: staff not notified", department_id, event["district"])
        return []


RESIDENT = People("the resident and followers (residents of merged duplicates); never an Open311 requester",
                  lambda e, d: [e["data"].get("resident_id"), *(e["data"].get("followers") or [])])
BUILDING_TEAM = People("building leaders and grid workers of the building",
                       _responsible("building_leaders", "grid_workers"))
PARTY_MEMBERS = People("party members registered with the building's community",
                       _responsible("party_members"))
COMMUNITY_STAFF = People("community staff of the building's community", _responsible("community_staff"))
DISTRICT_ADMINS = People("district admins", _responsible("district_admins"))
DEPARTMENT_STAFF = People("staff of the petition's department", _department)
HANDLER = People("whoever handles the petition", lambda e, d: [e["data"].get("handler_id")])
SUBJECT = People("the user the event is about (data.user_id)", lambda e, d: [e["data"].get("user_id")])
ATTENDEES = People("everyone signed up (data.attendees)", lambda e, d: list(e["data"].get("attendees") or []))


def _wish_staff(event, directory):
    try:
        return directory.community_staff(event["district"], event["data"].get("community")) or []
    except NotFound:
        log.warning("no community %s in %s: staff not told of the wish", event["data"].get("community"),
                    event["district"])
        return []


WISHER = People("the resident who made the wish (data.resident_id)", lambda e, d: [e["data"].get("resident_id")])
ADOPTER = People("whoever adopted the wish (data.adopter_id)", lambda e, d: [e["data"].get("adopter_id")])
WISH_STAFF = People("community staff of the wish's community", _wish_staff)
FOR_ORGANISATION = When("for an organisation", lambda e: e["data"].get("adopter_kind") == "organisation")
FOR_A_PERSON = When("for a person", lambda e: e["data"].get("adopter_kind") != "organisation")


# -- the table -----------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    event: str
    when: When
    audience: str
    people: People
    category: str
    practice: str


R = Rule
RULES = (
    # 点单: a petition starts in the grid (小事不出网格) or, as a help request, with the party members
    R("petition_submitted", level_not("party"), "resident", RESIDENT, "progress", "居民点单，回执"),
    R("petition_submitted", level_not("party"), "building", BUILDING_TEAM, "task",
      "楼栋长、网格员先知道 (小事不出网格)"),
    R("petition_submitted", level("party"), "resident", RESIDENT, "progress", "居民吹哨"),
    R("petition_submitted", level("party"), "party", PARTY_MEMBERS, "task", "居民吹哨，党员报到"),
    R("petition_claimed", ALWAYS, "resident", RESIDENT, "progress", "接单回执"),
    # 吹哨: a help request to the grid, or the grid to the community
    R("petition_escalated", level("grid"), "resident_grid", RESIDENT, "progress", "求助转网格"),
    R("petition_escalated", level("grid") & BY_PERSON, "building", BUILDING_TEAM, "task", "党员吹哨，网格报到"),
    R("petition_escalated", level("grid") & BY_SYSTEM, "building_unclaimed", BUILDING_TEAM, "task",
      "党员未在时限内接单，转网格"),
    R("petition_escalated", level_not("grid"), "resident", RESIDENT, "progress", "上报回执"),
    R("petition_escalated", level_not("grid") & BY_PERSON, "community", COMMUNITY_STAFF, "task",
      "网格吹哨，社区报到"),
    R("petition_escalated", level_not("grid") & BY_SYSTEM, "community_overdue", COMMUNITY_STAFF, "task",
      "超时自动上报社区"),
    R("petition_dispatched", ALWAYS, "resident", RESIDENT, "progress", "派单回执"),
    R("petition_dispatched", ALWAYS, "department", DEPARTMENT_STAFF, "dispatch",
      "社区吹哨，部门报到 (critical)"),
    R("petition_accepted", ALWAYS, "resident", RESIDENT, "progress", "部门接单回执"),
    R("petition_returned", ALWAYS, "resident", RESIDENT, "progress", "退单告知"),
    R("petition_returned", ALWAYS, "community", COMMUNITY_STAFF, "task", "部门退单，社区重新处理"),
    R("petition_resolved", ALWAYS, "resident", RESIDENT, "progress", "办结，请评单"),
    R("petition_closed", RATED, "resident", RESIDENT, "progress", "评单归档"),
    R("petition_closed", UNRATED, "resident_unrated", RESIDENT, "progress", "超时未评，自动归档"),
    R("petition_closed", RATED, "handler", HANDLER, "feedback", "办理人得知评价"),
    R("petition_closed", UNRATED, "handler_unrated", HANDLER, "feedback", "办理人得知归档"),
    R("petition_withdrawn", ALWAYS, "resident", RESIDENT, "progress", "撤回回执"),
    # time limits: whoever is late and the level above them, never the resident (critical)
    R("petition_overdue", overdue_at("party", "grid"), "handler", HANDLER, "overdue", "超时提醒办理人"),
    R("petition_overdue", overdue_at("party", "grid"), "building", BUILDING_TEAM, "overdue",
      "超时提醒楼栋长、网格员"),
    R("petition_overdue", overdue_at("department"), "department", DEPARTMENT_STAFF, "overdue",
      "部门超时，部门与社区督办"),
    R("petition_overdue", overdue_at("department"), "community", COMMUNITY_STAFF, "overdue",
      "部门超时，社区督办"),
    R("petition_overdue", overdue_not_at("party", "grid", "department"), "community", COMMUNITY_STAFF,
      "overdue", "社区超时"),
    R("petition_overdue", overdue_not_at("party", "grid", "department"), "district", DISTRICT_ADMINS,
      "overdue", "社区超时，区（镇）督办"),
    R("petition_merged", ALWAYS, "resident", RESIDENT, "progress", "重复诉求合并办理"),
    R("follow_up_opened", ALWAYS, "community", COMMUNITY_STAFF, "task", "差评回访"),
    R("follow_up_recorded", ALWAYS, "resident", RESIDENT, "progress", "回访结果告知"),
    # the points supermarket (积分超市)
    R("points_awarded", ALWAYS, "awardee", SUBJECT, "points", "积分到账"),
    R("activity_cancelled", ALWAYS, "attendee", ATTENDEES, "activity", "志愿活动取消，告知每位报名者"),
    R("claim_approved", ALWAYS, "claimant", SUBJECT, "claim", "自主申报通过"),
    R("claim_rejected", ALWAYS, "claimant", SUBJECT, "claim", "自主申报未通过，说明原因"),
    R("points_redeemed", ALWAYS, "resident", SUBJECT, "shop", "积分兑换，待领取"),
    R("order_picked_up", ALWAYS, "resident", SUBJECT, "shop", "兑换已领取"),
    R("order_cancelled", ALWAYS, "resident", SUBJECT, "shop", "兑换取消，积分退回"),
    # micro-wishes (微心愿): residents wish, party members, volunteers and 驻区单位 adopt them
    R("wish_adopted", ALWAYS, "resident", WISHER, "wish", "微心愿被认领，告知居民"),
    R("wish_fulfilled", ALWAYS, "resident", WISHER, "wish", "心愿已圆，请居民确认"),
    R("wish_confirmed", FOR_A_PERSON, "adopter", ADOPTER, "wish", "居民确认，认领人获得积分"),
    R("wish_confirmed", FOR_ORGANISATION, "organisation", ADOPTER, "wish", "居民确认，积分记入单位账户"),
    R("wish_expired", ALWAYS, "resident", WISHER, "wish", "心愿到期无人认领，告知居民"),
    R("wish_flagged", ALWAYS, "community", WISH_STAFF, "task", "心愿久未认领，提醒社区工作人员"),
)

# Notices that come from no event of the bus, with their one audience each.
BROADCAST = ("broadcast", "recipient", "broadcast")  # type, audience, category: 公示 / 楼栋群通知
DIGEST = ("digest", "staff", "digest")  # the morning digest of what waits for staff

EVENT_TYPES = tuple(dict.fromkeys(rule.event for rule in RULES))
RULES_BY_EVENT = {t: tuple(r for r in RULES if r.event == t) for t in EVENT_TYPES}
AUDIENCES = {(r.event, r.audience) for r in RULES} | {BROADCAST[:2], DIGEST[:2]}


def recipients(event, directory):
    """[(user_id, rule)] without repeats; someone in two rows gets the first row's text."""
    seen = {}
    for rule in RULES_BY_EVENT.get(event["type"], ()):
        if not rule.when(event):
            continue
        for user in rule.people(event, directory):
            if user not in seen:
                seen[user] = rule
    return list(seen.items())


def table():
    """The table as rows of text, for the docs and for a reader checking it against the seeds."""
    return [(r.event, str(r.when), r.audience, str(r.people), r.category, r.practice) for r in RULES]
