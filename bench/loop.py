"""How long one whole loop takes, and how many petitions the gateway takes in per second.

Prints figures; passes or fails on nothing. Starts its own platform (as `make run`
does, in a throwaway vhost) unless CIVICGRID_URL names a running one.

    make bench                      # or: .venv/bin/python bench/loop.py --loops 30 --seconds 10
"""
import argparse
import contextlib
import os
import statistics
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from civicgrid import config  # noqa: E402
from civicgrid.client import Client  # noqa: E402
from civicgrid.harness import ROOT, Platform, temporary_vhost  # noqa: E402
from bench.scenarios import demo_directory  # noqa: E402


@contextlib.contextmanager
def platform_url():
    if os.environ.get("CIVICGRID_URL"):
        yield os.environ["CIVICGRID_URL"]
        return
    with temporary_vhost("civicgrid_bench") as uri:
        platform = Platform(uri, log_path=os.path.join(ROOT, "bench-platform.log")).start()
        try:
            yield platform.url
        finally:
            platform.stop()


def set_up(url):
    """A district of its own per run: usernames are platform-wide, so they carry the run's suffix."""
    run = uuid.uuid4().hex[:6]
    code = f"bench{run}"
    directory, rename, _scopes = demo_directory(code, run)
    admin = Client(url).login(*config.admin_credentials())
    admin.post("/api/v1/districts", {"code": code, "name": "基准测试区"}, expect=201)
    admin.post(f"/api/v1/districts/{code}/import", directory)
    anonymous = Client(url)
    return {name: anonymous.login(renamed, "demo1234") for name, renamed in rename.items()}


def wait_for(check, timeout=30):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if check():
            return
        time.sleep(0.005)
    raise RuntimeError("the loop did not complete")


def one_loop(who, path):
    """Submit to points credited and the handler notified; returns seconds."""
    resident, clerk, leader = who["wenxiaohua"], who["cj-clerk"], who["daiyunzhong"]
    handler = leader if path == "grid" else clerk
    before = handler.get("/api/v1/points/me")["balance"]
    started = time.perf_counter()
    pid = resident.post("/api/v1/petitions", {"category": "streetlight", "title": "路灯不亮"})["id"]
    if path == "grid":
        leader.act(pid, "claim")
        leader.act(pid, "resolve", {"note": "已修复"})
    else:
        who["wc-grid1"].act(pid, "escalate", {"reason": "需部门处理"})
        who["wc-secretary"].act(pid, "dispatch", {})
        clerk.act(pid, "accept")
        clerk.act(pid, "resolve", {"note": "已修复"})
    resident.act(pid, "rate", {"score": 5})
    wait_for(lambda: handler.get("/api/v1/points/me")["balance"] == before + 10)
    return time.perf_counter() - started


def submit_rate(who, threads, seconds):
    """Concurrent residents filing petitions for a fixed time: accepted per second and latency."""
    latencies, stop = [], time.perf_counter() + seconds
    lock = threading.Lock()

    def work():
        client = Client(who["zhangyiqin"].base_url, who["zhangyiqin"].token)
        while time.perf_counter() < stop:
            t = time.perf_counter()
            client.post("/api/v1/petitions", {"category": "garbage", "title": "楼道垃圾"})
            with lock:
                latencies.append(time.perf_counter() - t)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies


def describe(name, samples):
    samples = sorted(samples)
    p90 = samples[int(0.9 * (len(samples) - 1))]
    print(f"{name:<34} n={len(samples):<5} median {statistics.median(samples) * 1000:7.1f} ms"
          f"   p90 {p90 * 1000:7.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with platform_url() as url:
        who = set_up(url)
        one_loop(who, "grid")  # warm the proxies and queues
        describe("whole loop, grid path", [one_loop(who, "grid") for _ in range(args.loops)])
        describe("whole loop, department path", [one_loop(who, "department") for _ in range(args.loops)])
        latencies = submit_rate(who, args.threads, args.seconds)
        describe(f"submit, {args.threads} concurrent clients", latencies)
        print(f"{'submit throughput':<34} {len(latencies) / args.seconds:.0f} petitions/s "
              f"({os.cpu_count()} cores, gateway 2 workers x 8 threads)")


if __name__ == "__main__":
    main()
