"""Two districts with one of every resource, for the isolation, authorization and property tests.

``hb`` (the demo district) and ``qj`` (conftest.second_district(), one person of every role) each get,
made through the API by their own people: petitions in every state an action needs, a help request,
a follow-up, a shop item, orders, an activity, claims, a broadcast (so everyone in the community has a
notice), an Open311 API key, a webhook and a delivery to it, a help category, micro-wishes in every state
an action needs, a visit to a household (households and an organisation come with the import), and
micro-projects proposed (supported, commented on) and done. ``Tenant.ids`` names
them by what a path parameter needs; ``Tenant.markers`` are strings only this district's data holds,
so a test can tell whether an answer leaked any of it.
"""
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests

from .conftest import eventually

# who plays each role in each district: one person holding that role alone (party members: the one
# registered straight with the community), so a cell of the matrix is that role and nothing else
CAST = {
    "hb": {"resident": "wenxiaohua", "building_leader": "daiyunzhong", "grid_worker": "wc-grid1",
           "community_staff": "wc-secretary", "party_member": "wc-party2", "department_staff": "cj-clerk",
           "district_admin": "hb-admin", "organisation_member": "gxs-he"},
    "qj": {"resident": "qj-resident", "building_leader": "qj-leader", "grid_worker": "qj-grid1",
           "grid_leader": "qj-gridlead", "community_staff": "qj-secretary", "party_member": "qj-party2",
           "department_staff": "qj-clerk", "volunteer": "qj-volunteer", "district_admin": "qj-admin",
           "organisation_member": "qj-org"},
}
# everyone of a district the walk signs in as (qj: every role; party1 is a resident and a party member)
PEOPLE = {
    "hb": ["wenxiaohua", "zhangyiqin", "huxingyou", "daiyunzhong", "daijiaqian", "wc-grid1", "wc-secretary",
           "cj-clerk", "zz-clerk", "hb-admin", "wc-party1", "wc-party2", "gxs-he"],
    "qj": ["qj-resident", "qj-leader", "qj-grid1", "qj-gridlead", "qj-secretary", "qj-clerk", "qj-admin",
           "qj-party1", "qj-party2", "qj-volunteer", "qj-org"],
}
PLACES = {
    "hb": {"building": "b28", "grid": "wenchang-g1", "community": "wenchang", "department": "chengjian",
           "category": "streetlight", "household": "b28-1-201", "organisation": "gxs"},
    "qj": {"building": "qs-b1", "grid": "qs-g1", "community": "qingshan", "department": "qj-cj",
           "category": "streetlight", "household": "qs-b1-101", "organisation": "qs-wy"},
}
# the organisations' names as imported: a change of organisation in a test keeps them
ORGANISATION_NAMES = {"gxs": "区供销社河边分社", "qs-wy": "青山物业"}
LOCAL = timedelta(hours=8)   # wishes' days and visits' days are local (UTC+8)
HELP_CATEGORY = "tenancy_help"


@dataclass
class Tenant:
    code: str
    clients: dict                      # username -> signed-in Client
    ids: dict = field(default_factory=dict)
    markers: set = field(default_factory=set)

    def as_role(self, role):
        return self.clients[CAST[self.code][role]]

    @property
    def admin(self):
        return self.as_role("district_admin")

    def place(self, kind):
        return PLACES[self.code][kind]


class Builder:
    """Makes one district's resources through the API, as its own people would."""

    def __init__(self, tenant, now):
        self.t = tenant
        self.now = now
        self.tag = f"【{tenant.code}-{uuid.uuid4().hex[:6]}】"  # in every title: a marker no other data holds
        tenant.markers.add(self.tag)

    def who(self, role):
        return self.t.as_role(role)

    def submit(self, title, category=None):
        body = {"category": category or self.t.place("category"), "title": f"{self.tag}{title}",
                "building_id": self.t.place("building")}
        return self.who("resident").post("/api/v1/petitions", body, expect=201)["id"]

    def act(self, role, petition_id, action, body=None):
        return self.who(role).act(petition_id, action, body or {})

    # -- petitions, one per state an action needs -----------------------------------

    def grid_submitted(self, title="路灯不亮"):
        return self.submit(title)

    def grid_in_progress(self):
        pid = self.submit("楼道灯坏了")
        self.act("building_leader", pid, "claim")
        return pid

    def escalated(self):
        pid = self.submit("边坡有裂缝")
        self.act("building_leader", pid, "escalate", {"reason": "需要社区协调"})
        return pid

    def community_in_progress(self):
        pid = self.escalated()
        self.act("community_staff", pid, "claim")
        return pid

    def dispatched(self):
        pid = self.escalated()
        self.act("community_staff", pid, "dispatch", {"department_id": self.t.place("department")})
        return pid

    def department_in_progress(self):
        pid = self.dispatched()
        self.act("department_staff", pid, "accept")
        return pid

    def resolved(self):
        pid = self.grid_in_progress()
        self.act("building_leader", pid, "resolve", {"note": "已修好"})
        return pid

    def closed(self, score=5):
        pid = self.resolved()
        self.act("resident", pid, "rate", {"score": score, "comment": "谢谢"})
        return pid

    def low_rated(self):
        return self.closed(score=1)

    def help_submitted(self):
        return self.submit("帮忙换灯泡", HELP_CATEGORY)

    def help_in_progress(self):
        pid = self.help_submitted()
        self.act("party_member", pid, "claim")
        return pid

    # -- the rest ------------------------------------------------------------------------

    def help_category(self):
        self.t.admin.put(f"/api/v1/districts/{self.t.code}/categories/{HELP_CATEGORY}",
                         {"name": "求助", "kind": "help", "department_id": None})

    def item(self, price=1, stock=50):
        body = {"name": f"{self.tag}肥皂", "price": price, "stock": stock}
        return self.who("community_staff").post("/api/v1/shop/items", body, expect=201)["id"]

    def claim(self):
        return self.who("resident").post("/api/v1/claims", {"title": f"{self.tag}帮邻居搬家"}, expect=201)["id"]

    def order(self, item_id):
        return self.who("resident").post("/api/v1/orders", {"item_id": item_id}, expect=201)["id"]

    def activity(self):
        starts = (self.now + timedelta(days=30)).isoformat()
        body = {"title": f"{self.tag}清扫楼道", "place": "小区广场", "starts_at": starts, "capacity": 20}
        path = f"/api/v1/communities/{self.t.place('community')}/activities"
        activity_id = self.who("community_staff").post(path, body, expect=201)["id"]
        self.who("resident").post(f"/api/v1/activities/{activity_id}/signup")
        return activity_id

    def broadcast(self, title="停水通知"):
        body = {"target_kind": "community", "node_id": self.t.place("community"), "title": f"{self.tag}{title}",
                "body": "明天上午停水", "confirm_required": True}
        return self.who("community_staff").post("/api/v1/broadcasts", body, expect=202)["id"]

    def api_key(self):
        body = {"application": f"tenancy-{self.t.code}", "name": f"{self.tag}随手拍"}
        return self.t.admin.post(f"/api/v1/districts/{self.t.code}/api-keys", body, expect=201)["id"]

    # -- micro-wishes, households, micro-projects ----------------------------------------

    def wish(self, adopter=None, fulfilled=False, title="想要一把轮椅"):
        """A wish of the resident's, open; or adopted by ``adopter`` (a role); or fulfilled by them too."""
        wanted_by = (self.now + LOCAL + timedelta(days=200)).date().isoformat()
        body = {"title": f"{self.tag}{title}", "reason": "腿脚不便", "wanted_by": wanted_by}
        wish_id = self.who("resident").post("/api/v1/wishes", body, expect=201)["id"]
        if adopter:
            way = "organisation" if adopter == "organisation_member" else "person"
            self.who(adopter).post(f"/api/v1/wishes/{wish_id}/adopt", {"adopter": way}, expect=200)
        if fulfilled:
            self.who(adopter).post(f"/api/v1/wishes/{wish_id}/fulfil", {"note": f"{self.tag}送到了"}, expect=200)
        return wish_id

    def visit(self):
        body = {"visited_on": self.today(), "notes": f"{self.tag}入户走访", "needs_found": ["助餐"]}
        path = f"/api/v1/households/{self.t.place('household')}/visits"
        return self.who("grid_worker").post(path, body, expect=201)["id"]

    def today(self):
        return (self.now + LOCAL).date().isoformat()

    def project(self, done=False):
        """A project of the community from a petition of its own, with a budget and a sponsor: proposed
        (the resident supports it and comments), or approved, carried out and done."""
        staff = self.who("community_staff")
        body = {"title": f"{self.tag}楼道灯改造", "petition_ids": [self.grid_submitted("楼道灯又坏了")],
                "budget": "1000.00", "sponsor": "物业"}
        project_id = staff.post("/api/v1/projects", body, expect=201)["id"]
        if done:
            self.t.admin.post(f"/api/v1/projects/{project_id}/transition", {"status": "approved"}, expect=200)
            for status in ("in_progress", "done"):
                staff.post(f"/api/v1/projects/{project_id}/transition", {"status": status}, expect=200)
        else:
            resident = self.who("resident")
            resident.post(f"/api/v1/projects/{project_id}/support", expect=200)
            resident.post(f"/api/v1/projects/{project_id}/comments", {"text": f"{self.tag}早该修了"}, expect=201)
        return project_id

    def webhook(self, department=None):
        # a district webhook for broadcasts only: one delivery per broadcast, to a host that never answers;
        # a department's hears of petitions dispatched to it
        body = {"url": f"https://{self.t.code}.hooks.invalid/civicgrid", "description": f"{self.tag}",
                "events": ["petition_dispatched"] if department else ["broadcast_sent"], "department_id": department}
        return self.t.admin.post(f"/api/v1/districts/{self.t.code}/webhooks", body, expect=201)["id"]


def build(tenant, now):
    """Every resource the walk and the matrix fill path parameters with; ids by parameter."""
    b = Builder(tenant, now)
    code, ids = tenant.code, tenant.ids
    b.help_category()
    resident = b.who("resident")
    rated = lambda: [e["reason"] for e in resident.get("/api/v1/points/me")["entries"]].count("petition_rated")  # noqa: E731
    ratings_before = rated()
    webhook = b.webhook()
    petitions = {
        "grid_submitted": b.grid_submitted(), "grid_in_progress": b.grid_in_progress(),
        "escalated": b.escalated(), "community_in_progress": b.community_in_progress(),
        "dispatched": b.dispatched(), "department_in_progress": b.department_in_progress(),
        "resolved": b.resolved(), "closed": b.closed(), "low_rated": b.low_rated(),
        "help_submitted": b.help_submitted(), "help_in_progress": b.help_in_progress(),
    }
    # the resident's points: 2 for each rating; a claim approved adds some
    claim = b.claim()
    b.who("community_staff").post(f"/api/v1/claims/{claim}/approve", {})
    eventually(lambda: rated() >= ratings_before + 2)
    item = b.item()
    orders = [b.order(item), b.order(item)]
    broadcast = b.broadcast()
    api_key = b.api_key()
    admin = tenant.admin
    delivery = eventually(lambda: admin.get(f"/api/v1/districts/{code}/deliveries",
                                            params={"recipient": webhook})["items"])[0]["id"]
    award = next(e["transaction_id"] for e in resident.get("/api/v1/points/me")["entries"]
                 if e["reason"] == "petition_rated")
    template = admin.get(f"/api/v1/districts/{code}/notification-templates", params={"locale": "zh-CN"})[0]
    ids.update(
        code=code, petition_id=petitions["grid_submitted"], petitions=petitions, category=b.t.place("category"),
        help_category=HELP_CATEGORY, key_id=api_key, webhook_id=webhook, delivery_id=delivery,
        event_type=template["type"], audience=template["audience"], locale="zh-CN",
        user_id=CAST[code]["resident"], broadcast_id=broadcast, item_id=item, order_id=orders[0], orders=orders,
        community=b.t.place("community"), activity_id=b.activity(), claim_id=claim, pending_claim=b.claim(),
        transaction_id=award, building=b.t.place("building"), grid=b.t.place("grid"),
        department=b.t.place("department"), account=f"user:{CAST[code]['resident']}")
    ids.update(spare_webhook=b.webhook(), spare_key=b.api_key(), spare_claim=b.claim(),
               department_webhook=b.webhook(department=b.t.place("department")))
    # a wish in the state each action moves it from (wish_id: the open one)
    ids["wishes"] = {"open": b.wish(), "open_withdraw": b.wish(title="想要一副老花镜"),
                     "adopted": b.wish(adopter="party_member", title="想有人陪我去医院"),
                     "fulfilled": b.wish(adopter="party_member", fulfilled=True, title="想修好收音机")}
    ids.update(wish_id=ids["wishes"]["open"], household_id=b.t.place("household"),
               organisation_id=b.t.place("organisation"), visit_id=b.visit(),
               projects={"proposed": b.project(), "done": b.project(done=True)})
    ids["project_id"] = ids["projects"]["proposed"]
    ids["notification_id"] = eventually(
        lambda: resident.get("/api/v1/notifications", params={"broadcast_id": broadcast})["items"])[0]["id"]
    # everyone of the community heard of the broadcast by now: each one's own newest notice
    ids["notifications"] = {}
    for name in PEOPLE[code]:
        items = tenant.clients[name].get("/api/v1/notifications", params={"page_size": 1})["items"]
        if items:
            ids["notifications"][name] = items[0]["id"]
    tenant.markers |= {v for k, v in ids.items() if isinstance(v, str) and k not in (
        "code", "category", "locale", "event_type", "audience", "help_category")}
    tenant.markers |= (set(petitions.values()) | set(orders) | set(PEOPLE[code]) | set(ids["wishes"].values())
                       | set(ids["projects"].values())) | {
        place for kind, place in PLACES[code].items() if kind != "category"} | {ORGANISATION_NAMES[ids["organisation_id"]]}
    return tenant


def platform_now(offset_seconds):
    """The platform's clock: the real time moved by the session's MovableClock."""
    return datetime.now(timezone.utc) + timedelta(seconds=offset_seconds)


def _strings(value):
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def leaks(body, other, sent=()):
    """Strings of ``other`` district's data found in ``body`` (an answer's JSON), or an empty set.

    What the request itself named (``sent``: its path, query and body) does not count: an error may
    repeat the id it did not find."""
    found = set()
    echoed = sorted({s for piece in _strings(sent) for s in [piece, *re.split(r"[/:]", piece)] if len(s) > 1},
                    key=len, reverse=True)

    def unsent(text):
        for piece in echoed:
            text = text.replace(piece, " ")
        return text

    def walk(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "district" and v == other.code:
                    found.add(f"district={v}")
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str):
            rest = unsent(value)
            words = {part for word in re.split(r"[^\w.@:-]+", rest) for part in [word, *word.split(":")]}
            found.update(w for w in words if w in other.markers or w.startswith(f"{other.code}-"))
            found.update(m for m in other.markers if m.startswith("【") and m in rest)
    walk(body)
    return found


def setup(users, clock_offset):
    """``{"hb": Tenant, "qj": Tenant}``, each built by its own people."""
    now = platform_now(clock_offset)
    return {code: build(Tenant(code, {name: users[name] for name in PEOPLE[code]}), now) for code in ("hb", "qj")}


# -- calling many at once, and what a district holds -------------------------------------

class Caller:
    """Many requests at once, each thread with its own connection pool."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.local = threading.local()

    def __call__(self, client, method, path, json=None, params=None):
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        headers = {"Authorization": f"Bearer {client.token}"} if client is not None else {}
        response = session.request(method, self.base_url + path, json=json, params=params, headers=headers,
                                   timeout=60)
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        return response.status_code, answer

    def many(self, calls):
        """``calls``: [(client, method, path, json, params)] -> [(status, answer)], in order."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda call: self(*call), calls))


def snapshot(tenant, admin, call):
    """What the district holds, as its administrator and staff see it, and its audit trail's length."""
    a, code, staff = tenant.admin, tenant.code, tenant.as_role("community_staff")
    community, resident = tenant.ids["community"], tenant.ids["user_id"]
    district = f"/api/v1/districts/{code}"
    paged = {   # name -> (who, path, what of each item counts)
        "petitions": (a, "/api/v1/petitions", lambda p: (p["id"], p["status"], p["level"], p["handler_id"],
                                                         p["rating"], p["updated_at"], len(p["timeline"]),
                                                         tuple(p["followers"]))),
        "orders": (a, "/api/v1/orders", lambda o: (o["id"], o["status"])),
        "claims": (a, "/api/v1/claims", lambda c: (c["id"], c["status"], c["points"])),
        "activities": (a, f"/api/v1/communities/{community}/activities",
                       lambda x: (x["id"], x["status"], x["signed_up"], x["checked_in"])),
        "broadcasts": (a, "/api/v1/broadcasts", lambda b: b["id"]),
        "inbox": (tenant.clients[resident], "/api/v1/notifications", lambda n: (n["id"], n["read"], n["confirmed"])),
        "wishes": (a, f"/api/v1/communities/{community}/wishes",
                   lambda w: (w["id"], w["status"], (w["adopter"] or {}).get("user_id"), w["points"], w["updated_at"])),
        "projects": (a, "/api/v1/projects", lambda p: (p["id"], p["status"], p["budget_fen"], p["sponsor"],
                                                       p["supporters"], p["comment_count"], p["updated_at"],
                                                       tuple(p["petition_ids"]), len(p["timeline"]))),
        "households": (a, "/api/v1/households", lambda h: (h["id"], h["care_level"], h["care_reason"],
                                                           h["visit_count"], h["last_visit_on"])),
    }
    single = {  # name -> (who, path, params, what of the answer counts)
        "ledger": (a, f"{district}/ledger/check", None, lambda b: (b["entries"], b["sum"], b["orders"])),
        "items": (staff, "/api/v1/shop/items", {"community": community},
                  lambda b: sorted((i["id"], i["price"], i["stock"], i["active"], i["updated_at"]) for i in b)),
        "api_keys": (a, f"{district}/api-keys", None, lambda b: sorted((k["id"], k["revoked_at"]) for k in b)),
        "webhooks": (a, f"{district}/webhooks", None, lambda b: sorted(w["id"] for w in b)),
        "categories": (a, f"{district}/categories", None, None),
        "time_limits": (a, f"{district}/time-limits", None, None),
        "point_rules": (a, f"{district}/point-rules", None, None),
        "shop_settings": (a, f"{district}/shop-settings", None, None),
        "notification_settings": (a, f"{district}/notification-settings", None, None),
        "templates": (a, f"{district}/notification-templates", None,
                      lambda b: sorted((t["type"], t["audience"], t["locale"], t["source"]) for t in b)),
        "preferences": (a, f"{district}/users/{resident}/notification-preferences", None, None),
        "audit": (admin, f"{district}/audit", {"limit": 1}, lambda b: b["total"]),
        "organisations": (a, f"{district}/organisations", None, lambda b: sorted(
            (o["id"], o["name"], o["kind"], o["community"], o["updated_at"], tuple(m["user_id"] for m in o["members"]))
            for o in b)),
        "wish_settings": (a, f"{district}/wish-settings", None, None),
        "care_settings": (a, f"{district}/care-settings", None, None),
        "visits": (a, f"/api/v1/households/{tenant.ids['household_id']}/visits", {"page_size": 100},
                   lambda b: (b["total"], sorted(v["id"] for v in b["items"]))),
        "comments": (a, f"/api/v1/projects/{tenant.ids['project_id']}/comments", {"page_size": 50},
                     lambda b: b["total"]),
    }
    first = call.many([(who, "GET", path, None, params) for who, path, params, _ in single.values()]
                      + [(who, "GET", path, None, {"page_size": 100}) for who, path, _ in paged.values()])
    assert all(status == 200 for status, _ in first), [describe(*f) for f in first if f[0] != 200]
    out = {name: (pick or (lambda b: b))(answer) for (name, (*_, pick)), (_, answer) in zip(single.items(), first)}
    pages = dict(zip(paged, (answer for _, answer in first[len(single):])))
    more = [(name, page) for name, body in pages.items() for page in range(2, -(-body["total"] // 100) + 1)]
    rest = call.many([(paged[name][0], "GET", paged[name][1], None, {"page": page, "page_size": 100})
                      for name, page in more])
    items = {name: list(body["items"]) for name, body in pages.items()}
    for (name, _), (_, body) in zip(more, rest):
        items[name] += body["items"]
    out.update({name: sorted(paged[name][2](i) for i in items[name]) for name in paged})
    return out


def settled_snapshot(tenant, admin, call):
    """A snapshot two reads agree on: the asynchronous part of what happened before has finished."""
    return eventually(lambda: agreeing(lambda: snapshot(tenant, admin, call)), timeout=30)


def unchanged(before, tenant, admin, call):
    """What changed since ``before`` (an empty dict), once the district has settled."""
    changes = {}

    def same():
        now = snapshot(tenant, admin, call)
        changes.clear()
        changes.update({k: (before[k], now[k]) for k in before if before[k] != now[k]})
        return not changes
    try:
        eventually(same, timeout=10, interval=0.5)
    except AssertionError:
        pass
    return changes


def agreeing(read):
    first = read()
    time.sleep(0.3)
    return first if read() == first else None


def describe(status, answer):
    return f"{status} {answer.get('message') if isinstance(answer, dict) else str(answer)[:100]}"
