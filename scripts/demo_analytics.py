"""``make demo``, part three: a handful of petitions down other paths, then the three rates (三率) and hotspots
the read model computed from their events (GET /api/v1/districts/hb/analytics/…)."""
import time

from civicgrid.client import Client

PASSWORD = "demo1234"


def file(client, category, title, building):
    return client.post("/api/v1/petitions", {"category": category, "title": title, "building_id": building})["id"]


def walk(who):
    """Six more petitions: in the grid, merged, whistled up and returned, withdrawn, left waiting."""
    w = who
    lamp = file(w["wenxiaohua"], "streetlight", "28栋二单元楼道灯不亮", "b28")
    again = file(w["zhangyiqin"], "streetlight", "28栋楼道灯坏了", "b28")
    w["daiyunzhong"].act(again, "merge", {"into": lamp})
    w["daiyunzhong"].act(lamp, "claim")
    w["daiyunzhong"].act(lamp, "resolve", {"note": "更换了声控开关"})
    w["wenxiaohua"].act(lamp, "rate", {"score": 5})
    rubbish = file(w["huxingyou"], "garbage", "29栋楼道堆放杂物", "b29")
    w["wc-grid1"].act(rubbish, "claim")
    w["wc-grid1"].act(rubbish, "resolve", {"note": "已清理"})
    w["huxingyou"].act(rubbish, "rate", {"score": 4})
    throw = file(w["zhangyiqin"], "high_fall", "28栋有人高空抛物", "b28")
    w["wc-grid1"].act(throw, "escalate", {"reason": "需综治办处理"})
    w["wc-secretary"].act(throw, "dispatch", {})
    w["zz-clerk"].act(throw, "return", {"reason": "请社区先行劝导"})
    w["wc-secretary"].act(throw, "claim")
    w["wc-secretary"].act(throw, "resolve", {"note": "上门劝导，张贴提示"})
    w["zhangyiqin"].act(throw, "rate", {"score": 2, "comment": "还是有人扔"})
    slip = file(w["wenxiaohua"], "slope", "28栋旁边坡有裂缝", "b28")
    w["wenxiaohua"].act(slip, "withdraw")
    file(w["huxingyou"], "streetlight", "29栋路灯闪烁", "b29")   # left waiting for the grid


def show(admin):
    base = "/api/v1/districts/hb/analytics"
    r = admin.get(f"{base}/rates")
    print(f"\nthe three rates, {r['period']['from']} to {r['period']['to']} (UTC days), the whole district")
    print(f"  响应率 response     {r['response']['rate']}  = {r['response']['responded_in_time']} claimed/accepted "
          f"in time / {r['response']['had_to_respond']} claim or accept limits settled")
    print(f"  解决率 resolution   {r['resolution']['rate']}  = {r['resolution']['resolved']} resolved / "
          f"{r['resolution']['due']} fallen due ({r['resolution']['resolved_in_time']} in time)")
    print(f"  满意率 satisfaction {r['satisfaction']['rate']}  = {r['satisfaction']['satisfied']} rated 4–5 / "
          f"{r['satisfaction']['rated']} rated")
    print(f"  whistle rate {r['whistle']['rate']} = {r['whistle']['escalated']} / {r['whistle']['submitted']}; "
          f"overdue {r['overdue']['total']}")
    spots = admin.get(f"{base}/hotspots", params={"limit": 5})
    print("hotspots (category × building, vs the previous 30 days)")
    for row in spots["by_building"]:
        print(f"  {row['category']:<12} {row['node']:<6} {row['count']} (before {row['previous']}, {row['change']:+d})")
    for row in admin.get(f"{base}/rankings")["departments"]:
        print(f"  department {row['id']:<10} response {row['response']['rate']} resolution {row['resolution']['rate']}"
              f" satisfaction {row['satisfaction']['rate']}")
    return r, spots


def run(url):
    anonymous = Client(url)
    who = {name: anonymous.login(name, PASSWORD) for name in (
        "wenxiaohua", "zhangyiqin", "huxingyou", "daiyunzhong", "wc-grid1", "wc-secretary", "zz-clerk", "hb-admin")}
    walk(who)
    admin = who["hb-admin"]
    # the read model follows the events a moment later
    deadline = time.time() + 15
    while time.time() < deadline and admin.get("/api/v1/districts/hb/analytics/rates")["whistle"]["submitted"] < 7:
        time.sleep(0.3)
    return show(admin)
