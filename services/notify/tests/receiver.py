"""A webhook receiver for tests: a tiny HTTP server on 127.0.0.1 that checks signatures.

Each path behaves as told: answer ``status`` (default 200) after ``fail_first`` 500s,
optionally after sleeping ``delay`` seconds, or once the test lets it go (``hold()`` then
``release()``: a request held in flight until something else has happened). Every request is recorded with whether
its signature verified (``signing.Verifier`` with the path's secret, replays refused).
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.notify import signing


class Route:
    def __init__(self, secret=None, status=200, fail_first=0, delay=0.0):
        self.released = None
        self.secret = secret
        self.status = status
        self.fail_first = fail_first
        self.delay = delay
        self.verifier = signing.Verifier(secret) if secret else None
        self.requests = []

    def hold(self):
        """Keep every request of this path waiting for ``release()`` (at most 60 s) before answering."""
        self.released = threading.Event()
        return self

    def release(self):
        if self.released is not None:
            self.released.set()

    @property
    def held(self):
        """How many requests wait for ``release()`` now."""
        return sum(1 for r in self.requests if r.get("held"))

    def set_secret(self, secret):
        self.secret = secret
        self.verifier = signing.Verifier(secret)


class Receiver:
    def __init__(self):
        self.routes = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.handle(self, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, path, **kwargs):
        self.routes[path] = Route(**kwargs)
        return self.routes[path]

    def handle(self, request, body):
        route = self.routes.get(request.path)
        if route is None:
            request.send_response(404)
            request.end_headers()
            return
        headers = dict(request.headers.items())
        verified, error = False, None
        if route.verifier:
            try:
                route.verifier.verify(headers, body)
                verified = True
            except signing.SignatureError as err:
                error = str(err)
        with self.lock:
            attempt = len(route.requests) + 1
            record = {"headers": headers, "body": body, "json": json.loads(body or b"null"),
                      "verified": verified, "error": error, "at": time.time(), "held": route.released is not None}
            route.requests.append(record)
        if route.delay:
            time.sleep(route.delay)
        if route.released is not None:
            route.released.wait(60)
            record["held"] = False
        status = 500 if attempt <= route.fail_first else (route.status if verified or not route.verifier else 401)
        try:
            request.send_response(status)
            request.send_header("Content-Length", "0")
            request.end_headers()
        except OSError:
            pass  # the sender gave up waiting

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        for route in self.routes.values():
            route.release()
        self.server.shutdown()
        self.server.server_close()
