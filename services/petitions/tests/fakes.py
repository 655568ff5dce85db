"""A directory with 文昌社区's buildings and departments, as the grid service would answer."""
from civicgrid.errors import NotFound

BUILDINGS = {
    "b27": ["hb", "hebian", "wenchang", "wenchang-g1", "b27"],
    "b28": ["hb", "hebian", "wenchang", "wenchang-g1", "b28"],
    "b29": ["hb", "hebian", "wenchang", "wenchang-g1", "b29"],
}
CATEGORIES = [
    {"category": "streetlight", "department_id": "chengjian", "department_name": "镇城建办"},
    {"category": "slope", "department_id": "chengjian", "department_name": "镇城建办"},
    {"category": "security", "department_id": "zonghe", "department_name": "镇综治办"},
]


class FakeDirectory:
    def locate_building(self, district, building_id):
        if district != "hb" or building_id not in BUILDINGS:
            raise NotFound("no such building")
        path = BUILDINGS[building_id]
        return {"building_id": building_id, "name": building_id, "path": path,
                "grid": path[3], "community": path[2], "street": path[1]}

    def list_categories(self, district):
        return CATEGORIES if district == "hb" else []

    def get_department(self, district, department_id):
        if district == "hb" and department_id in ("chengjian", "zonghe"):
            return {"id": department_id, "name": department_id, "categories": []}
        raise NotFound("no such department")
