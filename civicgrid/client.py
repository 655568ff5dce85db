"""A small client of the gateway's HTTP API, for the demo, the benchmarks and the end-to-end tests."""
import time

import requests

# gunicorn closes a keep-alive connection idle for 2 s (its default): a request sent on one idle about
# that long can cross the server's close and get no answer at all. Idle longer than this, the pooled
# connections are dropped and the request opens a fresh one.
IDLE_SECONDS = 1.0


class ApiError(Exception):
    def __init__(self, response):
        self.status = response.status_code
        try:
            self.body = response.json()
        except ValueError:
            self.body = {"message": response.text}
        super().__init__(f"{self.status}: {self.body.get('message')}")


class Client:
    def __init__(self, base_url, token=None, session=None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session or requests.Session()

    def request(self, method, path, expect=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        last = getattr(self.session, "civicgrid_last_used", None)
        if last is not None and time.monotonic() - last > IDLE_SECONDS:
            self.session.close()        # the adapters stay: they open new connections on demand
        response = self.session.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)
        self.session.civicgrid_last_used = time.monotonic()
        if expect is not None and response.status_code != expect:
            raise ApiError(response)
        if expect is None and response.status_code >= 400:
            raise ApiError(response)
        return response.json() if response.content else None

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)

    def login(self, username, password):
        body = self.post("/api/v1/auth/token", {"username": username, "password": password})
        return Client(self.base_url, body["access_token"], self.session)

    def act(self, petition_id, action, body=None, **kwargs):
        return self.post(f"/api/v1/petitions/{petition_id}/{action}", body or {}, **kwargs)
