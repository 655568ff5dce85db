"""``make demo``: set up 河边镇 from the seed article and walk one petition through the whole loop.

Uses the platform at CIVICGRID_URL (default http://127.0.0.1:8000) when it answers;
otherwise starts one for the length of the demo, exactly as `make run` would.
"""
import contextlib
import json
import os
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from civicgrid import broker, config  # noqa: E402
from civicgrid.client import ApiError, Client  # noqa: E402
from civicgrid.harness import ROOT, Platform  # noqa: E402

PASSWORD = "demo1234"


@contextlib.contextmanager
def platform_url():
    url = os.environ.get("CIVICGRID_URL", "http://127.0.0.1:8000")
    with contextlib.suppress(requests.RequestException):
        if requests.get(url + "/readyz", timeout=2).status_code == 200:
            yield url
            return
    if not broker.reachable():
        sys.exit(broker.hint(config.amqp_uri()))
    print(f"demo: nothing answers at {url}; starting the platform for this demo")
    platform = Platform(config.amqp_uri(), log_path=os.path.join(ROOT, "demo-platform.log")).start()
    try:
        yield platform.url
    finally:
        platform.stop()


def set_up(admin, demo):
    code = demo["district"]["code"]
    try:
        admin.post("/api/v1/districts", demo["district"], expect=201)
    except ApiError as err:
        if err.status != 409:
            raise
    counts = admin.post(f"/api/v1/districts/{code}/import", {k: v for k, v in demo.items() if k != "district"})
    print(f"district {code} {demo['district']['name']}: {counts}")


def wait_for(check, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline and not check():
        time.sleep(0.2)


def main():
    with open(os.path.join(ROOT, "demo", "hebian.json"), encoding="utf-8") as f:
        demo = json.load(f)
    with platform_url() as url:
        anonymous = Client(url)
        admin_user, admin_password = config.admin_credentials()
        set_up(anonymous.login(admin_user, admin_password), demo)
        who = {name: anonymous.login(name, PASSWORD) for name in
               ("zhangyiqin", "daijiaqian", "wc-grid1", "wc-secretary", "cj-clerk")}
        resident, grid, community, clerk = who["zhangyiqin"], who["wc-grid1"], who["wc-secretary"], who["cj-clerk"]

        started = time.perf_counter()
        petition = resident.post("/api/v1/petitions", {
            "category": "slope", "title": "27栋楼后荒地雨后滑坡",
            "description": "坡度较大、土质松软，经雨水冲刷后出现滑坡，影响出行", "building_id": "b27"})
        pid = petition["id"]
        grid.act(pid, "escalate", {"reason": "需镇相关科室牵头加固（网格吹哨，社区报到）"})
        community.act(pid, "dispatch", {})
        clerk.act(pid, "accept")
        clerk.act(pid, "resolve", {"note": "已联系施工设备加固修缮，党员志愿者清理路面，荒地改种菜园"})
        closed = resident.act(pid, "rate", {"score": 5, "comment": "问题解决了，心里踏实"})
        wait_for(lambda: clerk.get("/api/v1/points/me")["balance"] > 0
                 and any(n["type"] == "points_awarded" for n in resident.get("/api/v1/notifications")["items"]))
        elapsed = time.perf_counter() - started

        print(f"\npetition {pid}「{closed['title']}」 → {closed['status']}, rated {closed['rating']}★")
        for entry in closed["timeline"]:
            print(f"  {entry['at']}  {entry['action']:<9} {entry['actor']:<13} ({entry['role']}) {entry['note'] or ''}")
        print("\npoints")
        for name, client in (("zhangyiqin", resident), ("cj-clerk", clerk)):
            print(f"  {name:<13} balance {client.get('/api/v1/points/me')['balance']}")
        print("\nnotices about this petition")
        for name, client in who.items():
            for n in client.get("/api/v1/notifications", params={"page_size": 100})["items"]:
                if n["petition_id"] == pid:
                    print(f"  → {name:<13} {n['title']}  {n['body']}")
        print(f"\nwhole loop, submit to points and notices: {elapsed:.2f}s")
        # The three rates (三率) and hotspots of a handful more petitions.
        from demo_analytics import run as analytics
        analytics(url)
        # The points supermarket (积分超市): an activity, a good deed, the shop, the reports.
        from demo_supermarket import run as supermarket
        supermarket(url)
        from demo_projects import run as projects  # 微项目: recurring petitions become one project
        projects(url)
        from demo_wishes import run as wishes  # 微心愿: wished, adopted, fulfilled, confirmed
        wishes(url)


if __name__ == "__main__":
    main()
