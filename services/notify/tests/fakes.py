"""文昌社区's people, as the grid service would answer the notify service."""
from civicgrid.errors import NotFound
from civicgrid.events import make_event

RESPONSIBLE = {
    "b28": {"district": "hb", "building_id": "b28",
            "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b28"],
            "building_leaders": ["daiyunzhong"], "grid_workers": ["limin"],
            "party_members": ["zhoudangyuan", "daiyunzhong"],
            "community_staff": ["wangshuji", "limin"], "district_admins": ["hbadmin"]},
    # as the grid service answered before party members were registered: no such list at all
    "b30": {"district": "hb", "building_id": "b30",
            "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b30"],
            "building_leaders": ["sunlouzhang"], "grid_workers": ["limin"],
            "community_staff": ["wangshuji", "limin"], "district_admins": ["hbadmin"]},
}
RESIDENT_ACTOR = {"id": "wenxiaohua", "role": "resident"}
SYSTEM_ACTOR = {"id": "system", "role": "system"}
DEPARTMENTS = {"chengjian": ["chengjian1", "chengjian2"]}


NODES = {
    "wenchang": {"id": "wenchang", "type": "community", "name": "文昌社区", "path": ["hb", "hebian", "wenchang"]},
    "wenchang-g1": {"id": "wenchang-g1", "type": "grid", "name": "经济适用房二期网格",
                    "path": ["hb", "hebian", "wenchang", "wenchang-g1"]},
    "b28": {"id": "b28", "type": "building", "name": "竹林湾路28栋",
            "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b28"]},
    "b30": {"id": "b30", "type": "building", "name": "竹林湾路30栋",
            "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b30"]},
}
# (user, scope, name, roles, community)
PEOPLE = [
    ("wenxiaohua", "b28", "文小华", ["resident"]),
    ("zhangyiqin", "b28", "张意琴", ["resident"]),
    ("daiyunzhong", "b28", "代云中", ["building_leader"]),
    ("sunlouzhang", "b30", "孙楼长", ["building_leader"]),
    ("zhoudangyuan", "b30", "周党员", ["party_member", "resident"]),
    ("limin", "wenchang-g1", "李敏", ["grid_worker"]),
    ("wangshuji", "wenchang", "王书记", ["community_staff"]),
    ("chengjian1", None, "城建办事员", ["department_staff"]),
]
DEPARTMENT_NAMES = {"chengjian": "镇城建办"}


class FakeDirectory:
    def __init__(self, extra_residents=0):
        self.calls = []
        # many residents in b30, for broadcasts: r0000, r0001 ...
        self.people = PEOPLE + [(f"r{i:04d}", "b30", f"居民{i}", ["resident"]) for i in range(extra_residents)]
        # what the grid's overdue_visits answers, by district
        self.overdue = {}

    def overdue_visits(self, district):
        self.calls.append(("overdue_visits", district))
        return self.overdue.get(district, {"district": district, "total": 0, "by_user": {}})

    def get_department(self, district, department_id):
        self.calls.append(("get_department", district, department_id))
        if district != "hb" or department_id not in DEPARTMENT_NAMES:
            raise NotFound("no such department")
        return {"id": department_id, "name": DEPARTMENT_NAMES[department_id], "categories": []}

    def members_under(self, district, node_id, roles=None):
        self.calls.append(("members_under", district, node_id))
        if district != "hb" or node_id not in NODES:
            raise NotFound("no such node")
        under = {n for n, node in NODES.items() if node_id in node["path"]}
        return {"node": NODES[node_id], "members": [
            {"user_id": u, "name": name, "roles": r} for u, scope, name, r in sorted(self.people)
            if scope in under and (roles is None or set(roles) & set(r))]}

    def community_staff(self, district, community):
        return [m["user_id"] for m in self.members_under(district, community, ["community_staff"])["members"]]

    def user_profile(self, district, user_id):
        self.calls.append(("user_profile", district, user_id))
        for u, scope, name, roles in self.people:
            if district == "hb" and u == user_id:
                return {"user_id": u, "name": name, "roles": roles, "scope": scope,
                        "community": "wenchang", "department": None}
        raise NotFound("no such user")

    def responsible_for_building(self, district, building_id):
        self.calls.append(("responsible_for_building", district, building_id))
        if district != "hb" or building_id not in RESPONSIBLE:
            raise NotFound("no such building")
        return RESPONSIBLE[building_id]

    def department_staff(self, district, department_id):
        self.calls.append(("department_staff", district, department_id))
        if district != "hb" or department_id not in DEPARTMENTS:
            raise NotFound("no such department")
        return DEPARTMENTS[department_id]


def petition_event(type_, building_id="b28", actor=RESIDENT_ACTOR, **data):
    """A full envelope of a petition_* event, as the petitions service publishes it."""
    body = {
        "petition_id": "p1", "title": "28栋路灯不亮", "category": "streetlight",
        "status": "submitted", "level": "grid", "building_id": building_id,
        "path": ["hb", "hebian", "wenchang", "wenchang-g1", building_id],
        "resident_id": "wenxiaohua", "department_id": None, "handler_id": None,
        "rating": None, "comment": None, "reason": None, "note": None,
    }
    body.update(data)
    return make_event(type_, "hb", actor, body)


def points_event(user_id="wenxiaohua", amount=2, balance=12, reason="petition_rated"):
    return make_event("points_awarded", "hb", {"id": "system:points", "role": "system"}, {
        "user_id": user_id, "amount": amount, "balance": balance, "reason": reason,
        "transaction_id": f"x:{user_id}:{reason}", "petition_id": "p1", "title": "28栋路灯不亮"})
