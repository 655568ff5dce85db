"""The points supermarket (积分超市) of 文昌社区: seed it, earn, redeem, and print the report figures.

``run(url)`` is what ``scripts/demo.py`` calls after setting up 河边镇; on its own:

    python scripts/demo_supermarket.py [--url http://127.0.0.1:8000]

It uses the platform at the URL (default CIVICGRID_URL or http://127.0.0.1:8000), imports 河边镇
from demo/hebian.json if it is not there yet, and is safe to run again (items, the activity, the
claim and the redemptions of demo/supermarket.json are made once).
"""
import argparse
import json
import os
import sys
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from civicgrid import config  # noqa: E402
from civicgrid.client import ApiError, Client  # noqa: E402
from civicgrid.harness import ROOT  # noqa: E402

PASSWORD = "demo1234"
LOCAL = timezone(timedelta(hours=8))


def load(name):
    with open(os.path.join(ROOT, "demo", name), encoding="utf-8") as f:
        return json.load(f)


def sign_in(url, username):
    return Client(url).login(username, PASSWORD)


def ensure_district(url):
    """河边镇 as demo/hebian.json has it (what `make demo` sets up first)."""
    try:
        sign_in(url, "wc-secretary")
        return
    except ApiError as err:
        if err.status != 401:
            raise
    hebian = load("hebian.json")
    admin = Client(url).login(*config.admin_credentials())
    try:
        admin.post("/api/v1/districts", hebian["district"], expect=201)
    except ApiError as err:
        if err.status != 409:
            raise
    admin.post(f"/api/v1/districts/{hebian['district']['code']}/import",
               {k: v for k, v in hebian.items() if k != "district"})


def seed(url, demo, out=print):
    district, community = demo["district"], demo["community"]
    staff, admin = sign_in(url, demo["staff"]), sign_in(url, demo["admin"])
    people = {}

    def person(name):
        if name not in people:
            people[name] = sign_in(url, name)
        return people[name]

    admin.put(f"/api/v1/districts/{district}/point-rules", demo["rules"])

    items = {i["name"]: i for i in staff.get("/api/v1/shop/items")}
    for item in demo["items"]:
        if item["name"] not in items:
            items[item["name"]] = staff.post("/api/v1/shop/items", item, expect=201)
    out(f"shop of {community}: " + ", ".join(f"{i['name']} {i['price']}分" for i in items.values()))

    spec = demo["activity"]
    listed = staff.get(f"/api/v1/communities/{community}/activities", params={"page_size": 100})["items"]
    activity = next((a for a in listed if a["title"] == spec["title"] and a["status"] == "open"), None)
    if activity is None:
        starts = datetime.now(timezone.utc) + timedelta(hours=spec["starts_in_hours"])
        activity = staff.post(f"/api/v1/communities/{community}/activities", {
            "title": spec["title"], "description": spec["description"], "place": spec["place"],
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=spec["hours"])).isoformat(),
            "capacity": spec["capacity"], "points": spec["points"]}, expect=201)
    for name in spec["attendees"]:
        person(name).post(f"/api/v1/activities/{activity['id']}/signup")
    checked = staff.post(f"/api/v1/activities/{activity['id']}/check-ins", {"user_ids": spec["attendees"]})
    out(f"activity {activity['id']}「{activity['title']}」: " + ", ".join(
        f"{r['user_id']} {r['status']} +{r['points']}" for r in checked["results"]))

    claim_spec = demo["claim"]
    claimant = person(claim_spec["by"])
    mine = claimant.get("/api/v1/claims", params={"page_size": 100})["items"]
    claim = next((c for c in mine if c["title"] == claim_spec["title"]), None)
    if claim is None:
        claim = claimant.post("/api/v1/claims", {k: v for k, v in claim_spec.items() if k != "by"}, expect=201)
    if claim["status"] == "pending":
        claim = staff.post(f"/api/v1/claims/{claim['id']}/approve", {})
    out(f"claim {claim['id']}「{claim['title']}」 by {claim['user_id']}: {claim['status']} +{claim['points']}")

    for spec in demo["redemptions"]:
        buyer, item = person(spec["by"]), items[spec["item"]]
        earlier = [o for o in buyer.get("/api/v1/orders", params={"page_size": 100})["items"]
                   if o["item_id"] == item["id"] and o["status"] != "cancelled"]
        order = earlier[0] if earlier else buyer.post("/api/v1/orders", {"item_id": item["id"],
                                                                         "quantity": spec["quantity"]}, expect=201)
        if spec["pickup"] and order["status"] == "reserved":
            order = staff.post(f"/api/v1/orders/{order['id']}/pickup")
        out(f"order {order['id']}: {order['user_id']} {order['item_name']} x{order['quantity']} "
            f"{order['points']}分 = {order['yuan']}元, {order['status']}")
    return admin, staff, {name: person(name) for name in spec_people(demo)}


def spec_people(demo):
    names = list(demo["activity"]["attendees"]) + [demo["claim"]["by"]] + [r["by"] for r in demo["redemptions"]]
    return list(dict.fromkeys(names))


def run(url, out=print):
    """Seed 文昌社区's supermarket at ``url`` and print the figures; returns the community's report."""
    demo = load("supermarket.json")
    ensure_district(url)
    out("\n积分超市 (points supermarket) of 文昌社区")
    admin, staff, people = seed(url, demo, out)

    out("\nbalances (1 point = 1 yuan)")
    for name, client in people.items():
        me = client.get("/api/v1/points/me")
        out(f"  {name:<12} {me['balance']:>4} points = {me['balance_yuan']} yuan")

    today = datetime.now(LOCAL).date()
    period = {"from": date(today.year, 1, 1).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    district, community = demo["district"], demo["community"]
    report = staff.get(f"/api/v1/communities/{community}/points-report", params=period)
    out(f"\nreport of {community}, {report['from']} to {report['to']}")
    out(f"  registered accounts  {report['registered_accounts']}")
    out(f"  issued               {report['issued']} points ({report['issued_yuan']} yuan): "
        + ", ".join(f"{rule} {points}" for rule, points in sorted(report["issued_by_rule"].items())))
    out(f"  redeemed             {report['redeemed']} points ({report['redeemed_yuan']} yuan); "
        f"orders {report['orders']}")
    out(f"  outstanding          {report['outstanding']} points ({report['outstanding_yuan']} yuan)")
    out(f"  activities held      {report['activities_held']}, attendance {report['attendance']}, "
        f"sign-ups {report['signups']}")
    out(f"  claims               {report['claims']}")
    out("  top earners          " + ", ".join(f"{e['rank']}. {e['name']} {e['points']}" for e in report["top_earners"]))
    for month in report["monthly"]:
        if month["issued"] or month["redeemed"] or month["attendance"]:
            out(f"  {month['month']}              issued {month['issued']}, redeemed {month['redeemed']}, "
                f"activities {month['activities_held']}, attendance {month['attendance']}")
    whole = admin.get(f"/api/v1/districts/{district}/points-report", params=period)
    out(f"\ndistrict {district}: issued {whole['issued']}, redeemed {whole['redeemed']}, "
        f"outstanding {whole['outstanding']}, accounts {whole['registered_accounts']}")
    for row in whole["communities"]:
        out(f"  {row['community']:<12} accounts {row['registered_accounts']}, issued {row['issued']}, "
            f"redeemed {row['redeemed']}, outstanding {row['outstanding']}")
    check = admin.get(f"/api/v1/districts/{district}/ledger/check")
    out(f"ledger check: {check['entries']} entries, sum {check['sum']}, "
        f"{'balanced' if check['balanced'] else 'BROKEN'}, orders {check['orders']}")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("CIVICGRID_URL", "http://127.0.0.1:8000"))
    args = parser.parse_args(argv)
    try:
        run(args.url)
    except ApiError as err:
        sys.exit(f"demo_supermarket: {err} {err.body.get('errors') or ''}")
    except OSError as err:
        sys.exit(f"demo_supermarket: nothing answers at {args.url} ({err.__class__.__name__}); "
                 f"start the platform with `make run`")


if __name__ == "__main__":
    main()
