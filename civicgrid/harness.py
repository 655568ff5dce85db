"""Start the whole platform as ``make run`` does, in a throwaway RabbitMQ vhost.

Used by the end-to-end tests, the demo (when nothing serves yet) and the
benchmarks, so that each starts exactly the processes an operator starts.
"""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid

import requests

from . import config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def management_url():
    return os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")


def _management(method, path, json=None):
    parts = urllib.parse.urlsplit(management_url())
    response = requests.request(
        method, f"{parts.scheme}://{parts.hostname}:{parts.port}/api{path}", json=json,
        auth=(parts.username, parts.password), timeout=10)
    response.raise_for_status()
    return response


@contextlib.contextmanager
def temporary_vhost(prefix="civicgrid_e2e"):
    """A vhost of its own, so a running `make run` and these processes never share queues."""
    vhost = f"{prefix}_{uuid.uuid4().hex[:8]}"
    parts = urllib.parse.urlsplit(config.amqp_uri())
    _management("PUT", f"/vhosts/{vhost}")
    _management("PUT", f"/permissions/{vhost}/{parts.username or 'guest'}",
                {"configure": ".*", "write": ".*", "read": ".*"})
    uri = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + vhost, "", ""))
    try:
        yield uri
    finally:
        with contextlib.suppress(Exception):
            _management("DELETE", f"/vhosts/{vhost}")


def drop_databases(prefix):
    """Remove what a run left in a real MongoDB (nothing to do with mongomock)."""
    uri = config.mongo_uri()
    if not uri:
        return
    import pymongo
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        for name in client.list_database_names():
            if name.startswith(prefix + "_"):
                client.drop_database(name)


class Platform:
    def __init__(self, amqp_uri, port=None, log_path=None, env=None):
        self.amqp_uri = amqp_uri
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.extra_env = env or {}
        self.process = None

    # Every client of the tests, the demo and the benchmarks comes from 127.0.0.1: the
    # per-address limits meant for the internet would throttle them (gateway/limits.py).
    LOCAL_LIMITS = {f"CIVICGRID_RATE_LIMIT_{name}": "100000/minute" for name in (
        "SIGNIN_PER_ADDRESS", "SIGNIN_PER_USER", "REDEEM_PER_ADDRESS", "REDEEM_PER_USER")}

    def start(self, timeout=60):
        env = dict(os.environ, AMQP_URI=self.amqp_uri, PYTHONPATH=ROOT, **{**self.LOCAL_LIMITS, **self.extra_env})
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "civicgrid.launcher", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the platform exited with {self.process.returncode}; see {self.log_path}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the platform was not ready within {timeout}s; see {self.log_path}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
