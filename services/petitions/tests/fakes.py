"""A directory with 文昌社区's buildings and departments, as the grid service would answer."""
from civicgrid.errors import NotFound

BUILDINGS = {
    "b27": ["hb", "hebian", "wenchang", "wenchang-g1", "b27"],
    "b28": ["hb", "hebian", "wenchang", "wenchang-g1", "b28"],
    "b29": ["hb", "hebian", "wenchang", "wenchang-g1", "b29"],
}
CATEGORIES = [
    {"category": "streetlight", "name": "路灯损坏", "department_id": "chengjian", "department_name": "镇城建办",
     "kind": "issue", "fields": [
         {"code": "location_type", "name": "位置", "type": "single_choice", "required": False,
          "choices": [{"key": "stairwell", "name": "楼道"}, {"key": "road", "name": "道路"}]},
         {"code": "lamp_count", "name": "不亮的灯数", "type": "number", "required": False}]},
    {"category": "slope", "name": "边坡滑坡", "department_id": "chengjian", "department_name": "镇城建办",
     "kind": "issue", "fields": []},
    {"category": "security", "name": "治安", "department_id": "zonghe", "department_name": "镇综治办",
     "kind": "issue", "fields": [
         {"code": "kinds", "name": "类型", "type": "multiple_choice", "required": True,
          "choices": [{"key": "theft", "name": "盗窃"}, {"key": "fight", "name": "纠纷"}]},
         {"code": "floor", "name": "楼层", "type": "string", "required": False}]},
    {"category": "help_errand", "name": "求助·生活帮办", "department_id": None, "department_name": None,
     "kind": "help", "fields": []},
]


class FakeDirectory:
    def locate_building(self, district, building_id):
        if district != "hb" or building_id not in BUILDINGS:
            raise NotFound("no such building")
        path = BUILDINGS[building_id]
        return {"building_id": building_id, "name": building_id, "path": path,
                "grid": path[3], "community": path[2], "street": path[1]}

    def list_categories(self, district, fresh=False):
        return CATEGORIES if district == "hb" else []

    def get_department(self, district, department_id):
        if district == "hb" and department_id in ("chengjian", "zonghe"):
            return {"id": department_id, "name": department_id, "categories": []}
        raise NotFound("no such department")
