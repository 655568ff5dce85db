"""The notify service in a container on the real broker, its grid replaced by the fake directory
and its clock by one the test moves."""
from datetime import datetime, timedelta, timezone

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies

from services.notify.service import NotifyService

from .fakes import FakeDirectory


class MovableNow:
    """The service's clock: starts at the real time, moves only when told."""

    def __init__(self):
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def grid():
    return {}


@pytest.fixture
def now():
    return MovableNow()


@pytest.fixture
def notify(container_factory, service_config, grid, now):
    container = container_factory(NotifyService, service_config)
    proxy, clock = replace_dependencies(container, "grid", "clock")
    fake = FakeDirectory(extra_residents=grid.get("extra_residents", 0))
    for method in ("responsible_for_building", "department_staff", "get_department", "members_under",
                   "user_profile"):
        getattr(proxy, method).side_effect = getattr(fake, method)
    clock.side_effect = now
    grid["proxy"] = proxy
    container.start()
    return container


@pytest.fixture
def deliver(notify, service_config):
    dispatch = event_dispatcher(service_config)

    def deliver(source, event, handler=None):
        with entrypoint_waiter(notify, handler or f"handle_{event['type']}"):
            dispatch(source, event["type"], event)
    return deliver


@pytest.fixture
def call(notify):
    def call(method, context, *args):
        with entrypoint_hook(notify, method, context_data=context) as hook:
            return hook(*args)
    return call
