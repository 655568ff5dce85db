"""Load for the suite: saturate an endpoint for a while, or hold it at a fixed rate.

``saturate`` uses wrk (Debian's package, C, a few percent of a core at these rates) when it is on
the PATH, else a multi-process Python client with keep-alive connections; both report the same
figures. A client in Python threads alone cannot saturate the gateway on two cores (the GIL makes it
the bottleneck), which is why the fallback spreads its connections over processes. ``paced`` always
runs the Python client: wrk cannot hold a rate. Bare and ours always get the same client.
"""
import http.client
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

WRK = os.environ.get("BENCH_WRK", "wrk")


def wrk_available():
    return os.environ.get("BENCH_CLIENT") != "python" and shutil.which(WRK) is not None


class Target:
    """One kind of request: method, paths, JSON body, headers; ``variants`` (dicts of path, body and headers
    that override those) are sent in turn, so a load can come from several users about several things."""

    def __init__(self, base_url, method, paths, body=None, headers=None, variants=None):
        self.base_url = base_url.rstrip("/")
        self.method = method
        paths = [paths] if isinstance(paths, str) else list(paths)
        self.variants = []
        for variant in variants or [{}]:
            for path in ([variant["path"]] if "path" in variant else paths):
                payload = variant.get("body", body)
                merged = dict(headers or {}, **variant.get("headers", {}))
                if payload is not None:
                    merged.setdefault("Content-Type", "application/json")
                encoded = None if payload is None else json.dumps(payload, ensure_ascii=False)
                self.variants.append((path, encoded, merged))
        self.paths = [v[0] for v in self.variants]


def summary(count, errors, seconds, latencies):
    latencies = sorted(latencies)

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")
    return {"requests": count, "errors": errors, "seconds": seconds, "rps": count / seconds if seconds else 0.0,
            "p50": pct(0.50), "p99": pct(0.99)}


# -- wrk --------------------------------------------------------------------------------------

def _lua_string(text):
    """A Lua 5.1 string literal of ``text``'s UTF-8 bytes (LuaJIT knows no \\u escapes)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _lua(target):
    quoted = _lua_string
    rows = []
    for path, body, headers in target.variants:
        fields = ", ".join(f"[{quoted(k)}] = {quoted(v)}" for k, v in headers.items())
        rows.append(f"  {{{quoted(path)}, {quoted(body) if body is not None else 'nil'}, {{{fields}}}}},")
    return "\n".join([
        f"wrk.method = {quoted(target.method)}",
        "local variants = {", *rows, "}",
        "local i = 0",
        "request = function()",
        "  i = i + 1",
        "  local v = variants[(i % #variants) + 1]",
        "  return wrk.format(nil, v[1], v[3], v[2])",
        "end"]) + "\n"


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def parse_wrk(output, seconds):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    count = int(re.search(r"(\d+) requests in", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    percent = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)\s*$", output, re.M))
    return {"requests": count, "errors": errors, "seconds": seconds, "rps": rps,
            "p50": _seconds(percent["50"]), "p99": _seconds(percent["99"]), "client": "wrk"}


def _wrk(target, connections, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(target))
    try:
        threads = max(1, min(2, connections))
        seconds = max(1, int(round(seconds)))  # wrk takes whole seconds
        out = subprocess.run([WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                              "--timeout", "10s", "-s", script.name, target.base_url + target.paths[0]],
                             capture_output=True, text=True, timeout=seconds + 30)
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed: {out.stderr.strip() or out.stdout.strip()}")
        return parse_wrk(out.stdout, seconds)
    finally:
        os.unlink(script.name)


# -- the Python client ------------------------------------------------------------------------

def _connection(base_url):
    parts = urllib.parse.urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)


def _worker(args):
    """One process: ``threads`` keep-alive connections, each sending back to back or at its own pace."""
    import threading
    target, threads, seconds, interval, first = args
    results, lock = [], threading.Lock()
    started = time.perf_counter()
    stop = started + seconds

    def run(index):
        conn = _connection(target.base_url)
        latencies, count, errors, n = [], 0, 0, first + index
        due = started + (index / threads) * (interval or 0)
        while True:
            if interval:
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                due += interval
            t = time.perf_counter()
            if t >= stop:
                break
            n += threads
            path, body, headers = target.variants[n % len(target.variants)]
            try:
                conn.request(target.method, path, body=None if body is None else body.encode(), headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = _connection(target.base_url)
            latencies.append(time.perf_counter() - t)
            count += 1
            errors += 0 if ok else 1
        conn.close()
        with lock:
            results.append((count, errors, latencies))

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


def python_client(target, connections, seconds, rate=None, processes=None):
    processes = processes or min(connections, max(1, os.cpu_count() or 1))
    per = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    # paced: every connection sends one request every `interval` seconds, so all of them add up to `rate`
    interval = connections / rate if rate else None
    jobs = [(target, n, seconds, interval, i * 1_000_000) for i, n in enumerate(per) if n]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        parts = pool.map(_worker, jobs)
    elapsed = max(seconds, time.perf_counter() - started - 0.0)
    count = errors = 0
    latencies = []
    for part in parts:
        for c, e, lat in part:
            count, errors = count + c, errors + e
            latencies.extend(lat)
    result = summary(count, errors, min(elapsed, seconds), latencies)
    result["client"] = "python"
    return result


def saturate(target, connections, seconds):
    """As many requests as ``connections`` clients send back to back for ``seconds``."""
    if wrk_available():
        return _wrk(target, connections, seconds)
    return python_client(target, connections, seconds)


class Background:
    """``paced`` load in a process of its own while the caller measures something else."""

    def __init__(self, target, rate, seconds, connections=8):
        self.args = (target, connections, seconds, rate)
        self.process = None
        self.queue = None

    def __enter__(self):
        ctx = multiprocessing.get_context("spawn")
        self.queue = ctx.Queue()
        self.process = ctx.Process(target=_background, args=(self.queue,) + self.args, daemon=False)
        self.process.start()
        return self

    def result(self, timeout=120):
        return self.queue.get(timeout=timeout)

    def __exit__(self, *exc):
        self.process.join(120)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def _background(queue, target, connections, seconds, rate):
    queue.put(python_client(target, connections, seconds, rate=rate, processes=1))
