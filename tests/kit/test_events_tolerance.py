"""Producers are strict, consumers tolerant: a rolling upgrade that adds a field parks nothing."""
import uuid

import pytest

from civicgrid.errors import Invalid
from civicgrid.events import make_event, validate_event


def _event():
    return make_event("petition_withdrawn", "hb", {"id": "wenxiaohua", "role": "resident"}, {
        "petition_id": "hb-000001", "title": "楼道灯坏了", "category": "streetlight", "status": "withdrawn",
        "level": "grid", "building_id": "b28", "path": ["hb", "hebian", "wenchang", "wc-g1", "b28"],
        "resident_id": "wenxiaohua"}, event_id=str(uuid.uuid4()))


def test_a_consumer_ignores_fields_a_newer_producer_added():
    event = _event()
    newer = {**event, "trace_parent": "00-abc", "data": {**event["data"], "new_field": 1}}
    assert validate_event(newer, tolerant=True) is newer


def test_a_producer_may_not_send_a_field_nobody_defined():
    event = _event()
    with pytest.raises(Invalid) as refused:
        validate_event({**event, "data": {**event["data"], "new_field": 1}})
    assert "new_field" in str(refused.value.errors)
    with pytest.raises(Invalid):
        validate_event({**event, "trace_parent": "00-abc"})


def test_a_tolerant_consumer_still_refuses_what_it_needs_and_lacks():
    event = _event()
    data = {k: v for k, v in event["data"].items() if k != "petition_id"}
    with pytest.raises(Invalid) as refused:
        validate_event({**event, "data": data}, tolerant=True)
    assert "petition_id" in str(refused.value.errors)
