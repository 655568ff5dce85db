"""How fast the points supermarket takes reservations, and what contention does to them.

Prints figures; passes or fails on nothing. Starts its own platform (as `make run` does, in a
throwaway vhost) unless CIVICGRID_URL names a running one. A district of its own per run: N
residents imported through the API, paid by one activity check-in, then M reservations at once
from T threads against two items; it prints throughput, latency percentiles, the outcome counts,
and the ledger check.

    .venv/bin/python bench/supermarket.py --residents 50 --reservations 400 --threads 32
"""
import argparse
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from civicgrid import config  # noqa: E402
from civicgrid.auth import issue_token  # noqa: E402
from civicgrid.client import Client  # noqa: E402

from loop import platform_url  # noqa: E402

PASSWORD = "demo1234"


def set_up(url, residents, stock, points):
    run = uuid.uuid4().hex[:6]
    code, community, building = f"bsm{run}", f"bsmc-{run}", f"bsmb-{run}"
    admin = Client(url).login(*config.admin_credentials())
    admin.post("/api/v1/districts", {"code": code, "name": "超市基准测试"}, expect=201)
    nodes = [{"id": f"bsms-{run}", "type": "street", "name": "街道", "parent": code},
             {"id": community, "type": "community", "name": "社区", "parent": f"bsms-{run}"},
             {"id": f"bsmg-{run}", "type": "grid", "name": "网格", "parent": community},
             {"id": building, "type": "building", "name": "1栋", "parent": f"bsmg-{run}"}]
    staff = {"username": f"bsm{run}-staff", "password": PASSWORD, "name": "干部", "roles": ["community_staff"],
             "scope": community}
    admin.post(f"/api/v1/districts/{code}/import", {"nodes": nodes, "users": [staff]})
    people = [{"username": f"bsm{run}-r{n:03d}", "password": PASSWORD, "name": f"居民{n}", "roles": ["resident"],
               "scope": building} for n in range(residents)]
    for start in range(0, residents, 10):  # each import hashes its passwords inside one RPC: small batches
        admin.post(f"/api/v1/districts/{code}/import", {"users": people[start:start + 10]})
    staff_client = Client(url).login(staff["username"], PASSWORD)
    # tokens as signing in issues them (the benchmark measures reservations, not password hashing)
    tokens = [issue_token(p["username"], code, ["resident"], scope=building, community=community,
                          name=p["name"])[0] for p in people]
    starts = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    activity = staff_client.post(f"/api/v1/communities/{community}/activities", {
        "title": "大扫除", "place": "1栋", "starts_at": starts, "capacity": residents, "points": points}, expect=201)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda t: requests.post(f"{url}/api/v1/activities/{activity['id']}/signup",
                                              headers={"Authorization": f"Bearer {t}"}, timeout=30), tokens))
    staff_client.post(f"/api/v1/activities/{activity['id']}/check-ins", {"user_ids": [p["username"] for p in people]})
    items = [staff_client.post("/api/v1/shop/items", {"name": name, "price": price, "stock": stock,
                                                      "per_person_limit": limit}, expect=201)
             for name, price, limit in (("大米", 10, None), ("食用油", 8, 1))]
    return code, admin, tokens, items


def main():
    parser = argparse.ArgumentParser(description="Points supermarket reservation benchmark")
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--reservations", type=int, default=400)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--stock", type=int, default=100)
    parser.add_argument("--points", type=int, default=20)
    args = parser.parse_args()
    with platform_url() as url:
        code, admin, tokens, items = set_up(url, args.residents, args.stock, args.points)
        plan = [(tokens[n % len(tokens)], items[(n // len(tokens)) % 2]["id"]) for n in range(args.reservations)]
        latencies, statuses = [], Counter()

        def reserve(attempt):
            token, item_id = attempt
            started = time.perf_counter()
            response = requests.post(f"{url}/api/v1/orders", json={"item_id": item_id},
                                     headers={"Authorization": f"Bearer {token}"}, timeout=60)
            latencies.append(time.perf_counter() - started)
            body = response.json()
            outcome = response.status_code if response.ok else f"{response.status_code} {next(iter(body['errors']))}"
            statuses[outcome] += 1

        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(reserve, plan))
        elapsed = time.perf_counter() - started
        latencies.sort()
        check = admin.get(f"/api/v1/districts/{code}/ledger/check")
        print(f"{args.reservations} reservations, {args.residents} residents, {args.threads} threads, "
              f"stock {args.stock} x 2 items, {args.points} points each")
        print(f"  {elapsed:.2f}s: {args.reservations / elapsed:.0f} reservations/s")
        print(f"  latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
        print(f"  outcomes {dict(statuses)}")
        print(f"  ledger check: {check['entries']} entries, sum {check['sum']}, balanced {check['balanced']}, "
              f"orders {check['orders']}")


if __name__ == "__main__":
    main()
