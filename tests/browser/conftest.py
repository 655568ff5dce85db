"""The web console in a real browser: Debian's Chromium, headless, driven by Playwright.

The platform starts exactly as in tests/e2e (civicgrid.harness, a throwaway vhost); the
fixtures below are copied from tests/e2e/conftest.py rather than imported, so the two
suites can change independently. Chromium is the system's (/usr/bin/chromium, installed
by apt in .ci/run); Playwright never downloads a browser. Screenshots of each role's
pages go to tests/artifacts/ (ignored by git).

Set CIVICGRID_BROWSER_URL to point the tests at a platform that is already running
(with the demo district imported, e.g. `make run` + `make demo`) instead of starting one.
"""
import contextlib
import json
import os
import shutil
import signal
import time
import urllib.parse
import uuid

import pytest

from civicgrid.client import ApiError, Client
from civicgrid.harness import ROOT, MovableClock, Platform, drop_databases, temporary_vhost

DEMO = os.path.join(ROOT, "demo", "hebian.json")
PASSWORD = "demo1234"
ARTIFACTS = os.path.join(ROOT, "tests", "artifacts")
CHROMIUM = os.environ.get("CIVICGRID_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}
# Photos in the tests point here; the browser is answered locally, nothing leaves the machine.
PHOTO_HOST = "photos.civicgrid.test"
PHOTO_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120"><rect width="120" height="120" '
             'fill="#8fb8e0"/><circle cx="60" cy="48" r="22" fill="#f5d76e"/><rect x="20" y="80" width="80" '
             'height="14" fill="#fff"/></svg>')


def pytest_collection_modifyitems(config, items):
    # A missing browser is a broken machine, not a reason to skip: `make test` installs it.
    if any("tests/browser" in str(item.fspath) for item in items) and not os.access(CHROMIUM, os.X_OK):
        raise pytest.UsageError(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium "
                                "(apt-get install -y --no-install-recommends chromium)")


# -- the platform (as tests/e2e/conftest.py starts it) ----------------------------------------

@pytest.fixture(scope="session")
def clock(tmp_path_factory):
    """The platform's clock; None when the tests run against a platform started elsewhere."""
    if os.environ.get("CIVICGRID_BROWSER_URL"):
        return None
    return MovableClock(tmp_path_factory.mktemp("clock") / "offset")


@pytest.fixture(scope="session")
def platform(tmp_path_factory, clock):
    """The platform under test: started here, or the one CIVICGRID_BROWSER_URL names."""
    existing = os.environ.get("CIVICGRID_BROWSER_URL")
    if existing:
        yield type("Running", (), {"url": existing.rstrip("/")})()
        return
    log = tmp_path_factory.mktemp("platform") / "platform.log"
    prefix = "browser_" + uuid.uuid4().hex[:8]
    # deadlines are checked every second, so moving the clock shows an overdue petition soon
    env = {"MONGO_DB_PREFIX": prefix, "CIVICGRID_CLOCK_FILE": str(clock.path), "CIVICGRID_OVERDUE_SCAN_SECONDS": "1"}
    with temporary_vhost("civicgrid_browser") as uri:
        running = Platform(uri, log_path=str(log), env=env).start()
        try:
            yield running
        finally:
            running.stop()
            drop_databases(prefix)


@pytest.fixture(scope="session")
def admin(platform):
    return Client(platform.url).login("admin", "admin")


@pytest.fixture(scope="session")
def demo_district():
    with open(DEMO, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def districts(admin, demo_district):
    try:
        admin.post("/api/v1/districts", demo_district["district"], expect=201)
    except ApiError as err:
        if err.status != 409:  # a running platform may have it already
            raise
    body = {k: v for k, v in demo_district.items() if k != "district"}
    counts = admin.post("/api/v1/districts/hb/import", body)
    assert counts["users"] == len(demo_district["users"])
    return ["hb"]


@pytest.fixture(scope="session")
def tokens(platform, districts):
    """A bearer token per demo user, so a page can start signed in."""
    anonymous = Client(platform.url)
    names = ["wenxiaohua", "zhangyiqin", "huxingyou", "daiyunzhong", "daijiaqian", "wc-grid1",
             "wc-secretary", "cj-clerk", "zz-clerk", "hb-admin", "wc-party1", "wc-party2"]
    return {name: anonymous.login(name, PASSWORD).token for name in names}


@pytest.fixture(scope="session")
def api(platform, tokens):
    """api("wenxiaohua") -> a signed-in HTTP client, for checking what the browser did."""
    return lambda name: Client(platform.url, tokens[name])


def eventually(check, timeout=15, interval=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s; last value: {last!r}")


# -- the browser ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    os.makedirs(ARTIFACTS, exist_ok=True)
    return ARTIFACTS


def _driver_pids(manager):
    """The Playwright driver (node) this process started."""
    proc = getattr(getattr(getattr(manager, "_client", None), "_transport", None), "_proc", None)
    if proc is not None:
        return [proc.pid]
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"run-driver" in cmdline:
            pids.append(int(entry))
    return pids


@pytest.fixture(scope="session")
def browser():
    """Chromium for the session.

    The whole suite runs monkey-patched by eventlet (the root conftest.py), and under it
    Playwright's stop() never returns: it waits for its driver process to exit and that
    wait is never woken. So the browser is closed normally and the driver, once its
    browser is gone, is ended here by its pid.
    """
    from playwright.sync_api import sync_playwright
    manager = sync_playwright()
    playwright = manager.start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()
        for pid in _driver_pids(manager):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class Session:
    """One user's browser tab: its own context (storage), viewport and language."""

    def __init__(self, browser, base_url, artifacts, viewport, token=None, lang="zh"):
        self.base_url = base_url
        self.artifacts = artifacts
        self.context = browser.new_context(viewport=viewport, locale="zh-CN" if lang == "zh" else "en-GB",
                                           device_scale_factor=1)
        self.context.set_default_timeout(10000)
        self.outside = []   # requests to anywhere but the gateway (and the local photo stand-in)
        self.errors = []    # uncaught script errors
        gateway = urllib.parse.urlsplit(base_url).netloc
        self.context.route("**/*", lambda route: self._route(route, gateway))
        init = f"localStorage.setItem('cg.lang', {json.dumps(lang)});"
        if token:
            init += f"if (!sessionStorage.getItem('cg.started')) {{ localStorage.setItem('cg.token', {json.dumps(token)}); sessionStorage.setItem('cg.started', '1'); }}"
        self.context.add_init_script(init)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))

    def _route(self, route, gateway):
        host = urllib.parse.urlsplit(route.request.url).netloc
        if host == PHOTO_HOST:
            return route.fulfill(status=200, content_type="image/svg+xml", body=PHOTO_SVG)
        if host != gateway and not route.request.url.startswith(("data:", "blob:")):
            self.outside.append(route.request.url)
            return route.abort()
        return route.continue_()

    def open(self, route=""):
        url = f"{self.base_url}/#/{route}"
        if self.page.url == url:
            self.page.reload()  # the same address again is no navigation at all: fetch the page afresh
        else:
            self.page.goto(url)
        self.page.wait_for_selector("main#main:not(:has(.loading))")
        return self.page

    def shot(self, name):
        self.page.wait_for_timeout(150)  # let toasts and images settle
        self.page.screenshot(path=os.path.join(self.artifacts, f"{name}.png"), full_page=True)

    def close(self):
        self.context.close()
        assert not self.errors, f"script errors in the console: {self.errors}"
        assert not self.outside, f"the console fetched from outside the gateway: {self.outside}"


@pytest.fixture
def open_as(browser, platform, tokens, artifacts):
    """open_as("wc-grid1", DESKTOP) -> a Session signed in as that user; open_as(None) is signed out."""
    sessions = []

    def factory(user, viewport=DESKTOP, lang="zh"):
        s = Session(browser, platform.url, artifacts, viewport, tokens[user] if user else None, lang)
        sessions.append(s)
        return s

    yield factory
    for s in sessions:
        s.close()
