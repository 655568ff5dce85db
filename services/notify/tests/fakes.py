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


class FakeDirectory:
    def __init__(self):
        self.calls = []

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
