"""Micro-wishes (微心愿) of 文昌社区, after the seed articles: residents wish, a party member and the 驻区单位
区供销社河边分社 adopt and fulfil, residents confirm, and the points land (the unit's on its own account).

``run(url)`` is what ``scripts/demo.py`` calls after setting up 河边镇; on its own:

    python scripts/demo_wishes.py [--url http://127.0.0.1:8000]

Safe to run again: a wish whose title its resident has posted already is left as it is.
"""
import argparse
import os
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from civicgrid.client import Client  # noqa: E402

PASSWORD = "demo1234"
LOCAL = timezone(timedelta(hours=8))

# (resident, posted by, wish, adopter, for, fulfilment note, confirmed by); None: the wish stops there
WISHES = [
    # 宜川县北关街社区: 居民"微心愿"清单 → 对接驻社区单位, 建起车篷、安装了10个电动车充电桩 (seed 004)
    ("wenxiaohua", "wenxiaohua", {"title": "28栋楼下想装几个电动车充电桩",
                                  "reason": "楼里电动车多，拉线充电不安全，大家盼着有个充电的地方"},
     "gxs-he", "organisation", "已在28栋旁建起车篷，安装了10个电动车充电桩", "wenxiaohua"),
    # 在职党员认领办理"微心愿" (004): a grandmother raising her grandson alone
    ("zhangyiqin", "zhangyiqin", {"title": "给上初中的孙子买一套学习用品",
                                  "reason": "孙子刚上初中，家里困难，想给他买书包和文具"},
     "wc-party1", "person", "书包、文具和两本字典已送到家", None),
    # an elderly resident without a phone of their own: the community's secretary posts it for him
    ("huxingyou", "wc-secretary", {"title": "想学会用智能手机和孩子视频通话",
                                   "reason": "子女在外地打工，老人想常看看孙辈", "resident_id": "huxingyou"},
     None, None, None, None),
]


def local_day(days):
    return (datetime.now(LOCAL) + timedelta(days=days)).date().isoformat()


def run(url, out=print):
    sign_in = {}

    def who(name):
        if name not in sign_in:
            sign_in[name] = Client(url).login(name, PASSWORD)
        return sign_in[name]

    out("\nmicro-wishes (微心愿) of 文昌社区")
    for resident, poster, wish, adopter, kind, note, confirmer in WISHES:
        mine = {w["title"]: w for w in who(resident).get("/api/v1/wishes", params={"page_size": 100})["items"]}
        current = mine.get(wish["title"])
        if current is None:
            current = who(poster).post("/api/v1/wishes", dict(wish, wanted_by=local_day(14)), expect=201)
            if adopter:
                who(adopter).post(f"/api/v1/wishes/{current['id']}/adopt", {"adopter": kind})
                current = who(adopter).post(f"/api/v1/wishes/{current['id']}/fulfil", {"note": note})
            if confirmer:
                current = who(confirmer).post(f"/api/v1/wishes/{current['id']}/confirm", {"note": "谢谢！"})
        adopted = current.get("adopter") or {}
        by = adopted.get("organisation_name") or adopted.get("name") or "—"
        points = f", {current['points']} points to {adopted['account']}" if current["status"] == "confirmed" else ""
        out(f"  {current['id']} 「{current['title']}」 {current['status']}, adopted by {by}{points}")
    statement = who("gxs-he").get("/api/v1/points/accounts/org:hb:gxs/statement")
    out(f"  {statement['owner']} (org:hb:gxs): balance {statement['closing_balance']}")
    board = who("wc-party2").get("/api/v1/communities/wenchang/wishes")["items"]
    out(f"  open wishes a party member of 文昌社区 can adopt: {', '.join(w['title'] for w in board) or 'none'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("CIVICGRID_URL", "http://127.0.0.1:8000"))
    run(parser.parse_args().url)


if __name__ == "__main__":
    main()
