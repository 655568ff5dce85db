"""Micro-projects (微项目) of 文昌社区, from the seed articles: residents keep reporting the stairwell lights
(楼道声控灯安装、路灯维修) and charging their e-bikes (电动车充电不便 → 车棚和充电桩, by a unit stationed in the
community, 驻社区单位). The secretary turns them into projects, the town approves, residents support and comment,
and once the lights are in, every linked petition is resolved together and its resident asked to rate.

``run(url)`` is what ``scripts/demo.py`` calls after setting up 河边镇; on its own:

    python scripts/demo_projects.py [--url http://127.0.0.1:8000]

Each run files new petitions and proposes new projects (the second one stays proposed, for the console).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from civicgrid.client import Client  # noqa: E402

PASSWORD = "demo1234"
LIGHTS = [
    ("wenxiaohua", {"title": "28栋二单元楼道灯坏了，晚上上下楼看不见", "attributes": {"location_type": "stairwell"}}),
    ("zhangyiqin", {"title": "28栋楼道灯时好时坏，老人摔过一跤", "attributes": {"location_type": "stairwell"}}),
    ("huxingyou", {"title": "29栋楼道灯不亮，希望装声控灯", "building_id": "b29"}),
]
CHARGING = [
    ("wenxiaohua", "28栋电动车没地方充电，有人从楼上拉电线"),
    ("huxingyou", "29栋楼下电动车乱停，充电不方便"),
]


def run(url, out=print):
    who = {name: Client(url).login(name, PASSWORD) for name in
           ("wenxiaohua", "zhangyiqin", "huxingyou", "wc-secretary", "hb-admin")}
    secretary, admin = who["wc-secretary"], who["hb-admin"]
    out("\n微项目 (micro-projects) of 文昌社区")
    lights = [who[name].post("/api/v1/petitions", {"category": "streetlight", **body})["id"] for name, body in LIGHTS]

    # a hotspot: every open stairwell-light petition of the grid, as the secretary sees it on the dashboard
    project = secretary.post("/api/v1/projects", {
        "title": "经济适用房二期楼道声控灯安装", "description": "居民反复反映楼道灯不亮，统一更换为声控LED灯",
        "hotspot": {"category": "streetlight", "grid_id": "wenchang-g1"},
        "budget": "3600.00", "sponsor_department_id": "chengjian"})
    pid = project["id"]
    out(f"  {pid}「{project['title']}」 {project['status']}: {project['petition_count']} petitions "
        f"({project['origin']['matched']} open in the grid), buildings {', '.join(project['buildings'])}, "
        f"budget ¥{project['budget']}, sponsor {project['sponsor']}")
    admin.post(f"/api/v1/projects/{pid}/transition", {"status": "approved", "note": "同意实施，城建办出资"})
    for name in ("wenxiaohua", "zhangyiqin", "huxingyou", "zhangyiqin"):  # a second tap counts once
        supported = who[name].post(f"/api/v1/projects/{pid}/support")
    out(f"  supporters {supported['supporters']}")
    who["wenxiaohua"].post(f"/api/v1/projects/{pid}/comments", {"text": "希望晚上灯光柔和一点"})
    secretary.post(f"/api/v1/projects/{pid}/comments", {"text": "已请施工方选用暖光灯"})
    secretary.post(f"/api/v1/projects/{pid}/transition", {"status": "in_progress"})
    secretary.post(f"/api/v1/projects/{pid}/transition", {"status": "done", "note": "声控灯已全部安装"})
    result = secretary.post(f"/api/v1/projects/{pid}/resolve-petitions",
                            {"note": "楼道灯已全部更换为声控LED灯，欢迎评价"})
    out(f"  done; resolved together: {', '.join(p['id'] for p in result['resolved'])}")
    for p in result["not_resolved"]:
        out(f"  not resolved: {p['id']} ({p['reason']}: {p['message']})")
    rated = who["wenxiaohua"].post(f"/api/v1/petitions/{lights[0]}/rate", {"score": 5, "comment": "楼道终于亮了"})
    out(f"  {lights[0]} rated {rated['rating']}★ by its resident → {rated['status']}")
    for entry in secretary.get(f"/api/v1/projects/{pid}")["timeline"]:
        out(f"    {entry['at']}  {entry['action']:<17} {entry['actor']:<13} {entry['note'] or ''}")

    charging = [who[name].post("/api/v1/petitions", {"category": "parking", "title": title,
                                                     "building_id": "b28" if name == "wenxiaohua" else "b29"})["id"]
                for name, title in CHARGING]
    second = secretary.post("/api/v1/projects", {
        "title": "28、29栋电动车棚和10个充电桩", "petition_ids": charging, "budget": "18000",
        "sponsor": "驻社区单位", "description": "根据居民反映，对接驻社区单位建车棚、装充电桩"})
    out(f"  {second['id']}「{second['title']}」 {second['status']}: petitions {', '.join(second['petition_ids'])}; "
        "waiting for the district administrator's approval in the console")
    return project


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("CIVICGRID_URL", "http://127.0.0.1:8000"))
    run(parser.parse_args().url)
