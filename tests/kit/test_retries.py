"""Failed handlers on the real broker: delayed retries, then parked; replay and discard."""
import collections
import time

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher

from civicgrid import parked, retries
from civicgrid.handlers import event_handler

CALLS = collections.defaultdict(list)
HEALED = set()


class Flaky:
    name = "flaky"

    @event_handler("source", "thing_happened")
    def handle_thing_happened(self, payload):
        CALLS[payload["event_id"]].append(time.monotonic())
        if payload["event_id"] not in HEALED and len(CALLS[payload["event_id"]]) <= payload["fail"]:
            raise RuntimeError(f"boom {len(CALLS[payload['event_id']])}")


QUEUE = "evt-source-thing_happened--flaky.handle_thing_happened"


@pytest.fixture
def flaky(container_factory, service_config, monkeypatch):
    monkeypatch.setenv("CIVICGRID_RETRY_DELAYS", "0.3,0.6")
    monkeypatch.setenv("AMQP_URI", service_config["AMQP_URI"])
    CALLS.clear()
    HEALED.clear()
    container = container_factory(Flaky, service_config)
    container.start()
    dispatch = event_dispatcher(service_config)
    return lambda event_id, fail: dispatch("source", "thing_happened", {"event_id": event_id, "fail": fail})


def until(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        eventlet.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_delay_grows_with_each_attempt_and_jitter_stays_bounded():
    schedule = (1, 5, 30)
    assert retries.delay_ms(1, schedule, rng=lambda: 0) == 1000
    assert retries.delay_ms(2, schedule, rng=lambda: 1) == 6000
    assert retries.delay_ms(3, schedule, rng=lambda: 0.5) == 33000
    assert retries.delay_ms(9, schedule, rng=lambda: 0) == 30000


def test_a_failing_handler_is_retried_later_not_at_once_and_not_acked_away(flaky):
    flaky("e-1", fail=2)
    until(lambda: len(CALLS["e-1"]) == 3)
    first, second, third = CALLS["e-1"]
    # The broker held each retry for at least its delay: no hot loop.
    assert second - first >= 0.3 and third - second >= 0.6
    eventlet.sleep(1)
    assert len(CALLS["e-1"]) == 3
    assert parked.list_parked(queue=retries.parked_queue_name(QUEUE)) == []


def test_what_keeps_failing_is_parked_with_its_error_then_replayed_or_discarded(flaky):
    flaky("e-2", fail=99)
    flaky("e-3", fail=99)
    name = retries.parked_queue_name(QUEUE)
    until(lambda: len(parked.list_parked(queue=name)) == 2)
    assert len(CALLS["e-2"]) == 3            # the first try and the two retries
    items = {item["id"]: item for item in parked.list_parked(queue=name)}
    assert items["e-2"]["error"] == "RuntimeError: boom 3"
    assert items["e-2"]["attempts"] == 3
    assert items["e-2"]["consumer_queue"] == QUEUE
    assert items["e-2"]["type"] is None and items["e-2"]["body"]["fail"] == 99
    # listing twice changes nothing; the whole vhost's listing finds the same
    assert {i["id"] for i in parked.list_parked()} == {"e-2", "e-3"}

    HEALED.add("e-2")
    assert [i["id"] for i in parked.replay(queue=name, ids={"e-2"})] == ["e-2"]
    until(lambda: len(CALLS["e-2"]) == 4)
    assert [i["id"] for i in parked.discard(ids={"e-3"})] == ["e-3"]
    assert parked.list_parked() == []
    eventlet.sleep(1)
    assert len(CALLS["e-2"]) == 4 and len(CALLS["e-3"]) == 3


def test_the_cli_lists_and_needs_an_id_or_all_to_act(flaky, capsys):
    flaky("e-4", fail=99)
    until(lambda: len(parked.list_parked()) == 1)
    assert parked.main(["list"]) == 0
    out, err = capsys.readouterr()
    assert '"id": "e-4"' in out and "1 message(s) parked" in err
    with pytest.raises(SystemExit):
        parked.main(["discard"])
    assert parked.main(["discard", "--all"]) == 0
    assert parked.list_parked() == []
