"""How long a broadcast to 1,000 residents of one building takes to answer and to fan out.

Prints figures; passes or fails on nothing. Starts its own platform (as `make run` does, in a
throwaway vhost) unless CIVICGRID_URL names a running one, sets up a district with one
building of ``--residents`` residents (imported in chunks: the grid hashes every password,
about 0.1 s each, so the set-up takes a while and is not measured), then sends ``--runs``
broadcasts from the community's staff and measures, for each:

- answer: the POST /api/v1/broadcasts round trip (the broadcast is queued, nothing fanned out);
- fanned out: from sending until the broadcast reads ``status: sent`` (every notice written);
- first / last inbox: until the first and the last resident's inbox shows it (sampled residents).

    .venv/bin/python bench/broadcast.py                    # 1,000 residents, 5 broadcasts
    .venv/bin/python bench/broadcast.py --residents 200 --runs 3
"""
import argparse
import contextlib
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from civicgrid import config  # noqa: E402
from civicgrid.client import ApiError, Client  # noqa: E402
from civicgrid.harness import ROOT, Platform, temporary_vhost  # noqa: E402

PASSWORD = "bench1234"
CHUNK = 20  # users per import: about 2 s of password hashing, well inside the gateway's RPC timeout


@contextlib.contextmanager
def platform_url():
    if os.environ.get("CIVICGRID_URL"):
        yield os.environ["CIVICGRID_URL"]
        return
    with temporary_vhost("civicgrid_bench") as uri:
        # the set-up imports residents in chunks and each costs a password hash apiece: on a busy machine a
        # chunk can outlast the gateway's default RPC timeout (10 s), which measures nothing here
        platform = Platform(uri, log_path=os.path.join(ROOT, "bench-platform.log"),
                            env={"CIVICGRID_RPC_TIMEOUT": "120"}).start()
        try:
            yield platform.url
        finally:
            platform.stop()


def set_up(url, residents):
    run = uuid.uuid4().hex[:6]
    code = f"bc{run}"
    admin = Client(url).login(*config.admin_credentials())
    admin.post("/api/v1/districts", {"code": code, "name": "广播基准测试区"}, expect=201)
    nodes = [{"id": f"{code}-street", "type": "street", "name": "基准街道", "parent": code},
             {"id": f"{code}-comm", "type": "community", "name": "基准社区", "parent": f"{code}-street"},
             {"id": f"{code}-grid", "type": "grid", "name": "基准网格", "parent": f"{code}-comm"},
             {"id": f"{code}-b1", "type": "building", "name": "基准1栋", "parent": f"{code}-grid"}]
    staff = f"staff.{run}"
    admin.post(f"/api/v1/districts/{code}/import", {"nodes": nodes, "users": [
        {"username": staff, "password": PASSWORD, "name": "社区书记", "roles": ["community_staff"],
         "scope": f"{code}-comm"}]})
    names = [f"r{i:04d}.{run}" for i in range(residents)]
    started = time.perf_counter()
    for i in range(0, residents, CHUNK):
        chunk = {"users": [{"username": name, "password": PASSWORD, "name": f"居民{name[:5]}", "roles": ["resident"],
                            "scope": f"{code}-b1"} for name in names[i:i + CHUNK]]}
        for attempt in range(5):  # a busy machine may outlast the gateway's RPC timeout; importing again is harmless
            try:
                admin.post(f"/api/v1/districts/{code}/import", chunk)
                break
            except ApiError as err:
                if err.status != 503 or attempt == 4:
                    raise
                time.sleep(2)
        print(f"\r  imported {min(i + CHUNK, residents)}/{residents} residents", end="", flush=True)
    print(f" in {time.perf_counter() - started:.0f} s")
    anonymous = Client(url)
    sample = [names[0], names[len(names) // 2], names[-1]]
    return code, anonymous.login(staff, PASSWORD), [anonymous.login(n, PASSWORD) for n in sample]


POLL_SECONDS = 0.05  # the resolution of the inbox times; faster polling slows the fan-out it measures


def wait_for(check, timeout=120, interval=POLL_SECONDS):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("not reached in time")


def one_broadcast(code, staff, sample, n):
    started = time.perf_counter()
    sent = staff.post("/api/v1/broadcasts", {"target_kind": "building", "node_id": f"{code}-b1",
                                             "title": f"停水通知 {n}", "body": "明天8:00-12:00停水检修，请提前储水",
                                             "confirm_required": True}, expect=202)
    answered = time.perf_counter() - started
    seen = {}

    def done():
        for i, client in enumerate(sample):
            if i not in seen and client.get("/api/v1/notifications",
                                            params={"broadcast_id": sent["id"], "page_size": 1})["total"]:
                seen[i] = time.perf_counter() - started
        view = staff.get(f"/api/v1/broadcasts/{sent['id']}")
        return view if view["status"] == "sent" and len(seen) == len(sample) else None

    view = wait_for(done)
    fanned = time.perf_counter() - started
    assert view["fanned_out"] == view["total"], view
    return {"answer": answered, "fanned_out": fanned, "first_inbox": min(seen.values()),
            "last_inbox": max(seen.values()), "recipients": view["total"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    store = "MongoDB" if config.mongo_uri() else "mongomock (in-process)"
    print(f"broadcast fan-out: {args.residents} residents in one building, {args.runs} broadcasts, store: {store}")
    with platform_url() as url:
        code, staff, sample = set_up(url, args.residents)
        one_broadcast(code, staff, sample, 0)  # warm-up: caches, connections
        results = [one_broadcast(code, staff, sample, n) for n in range(1, args.runs + 1)]
    recipients = results[0]["recipients"]
    print(f"\n{'run':>4} {'answer ms':>10} {'first inbox s':>14} {'last inbox s':>13} {'fanned out s':>13}")
    for i, r in enumerate(results, 1):
        print(f"{i:>4} {r['answer'] * 1000:>10.1f} {r['first_inbox']:>14.2f} {r['last_inbox']:>13.2f} "
              f"{r['fanned_out']:>13.2f}")
    med = {k: statistics.median(r[k] for r in results) for k in ("answer", "first_inbox", "last_inbox", "fanned_out")}
    print(f"\nmedian over {len(results)} broadcasts to {recipients} recipients "
          f"(inboxes polled every {POLL_SECONDS * 1000:.0f} ms):")
    print(f"  POST /api/v1/broadcasts answered in  {med['answer'] * 1000:7.1f} ms (nothing fanned out yet)")
    print(f"  first sampled inbox shows it after   {med['first_inbox']:7.2f} s")
    print(f"  every notice written (status sent)   {med['fanned_out']:7.2f} s "
          f"= {recipients / med['fanned_out']:,.0f} notices/s (timer tick {os.environ.get('CIVICGRID_FANOUT_SCAN_SECONDS', '0.5')} s included)")


if __name__ == "__main__":
    main()
