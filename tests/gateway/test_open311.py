"""The Open311 front door on its own: how the gateway reads the standard's arguments and answers,
with the services replaced by a recording fake (the real loop is in tests/e2e/test_open311.py)."""
from xml.etree import ElementTree

import pytest

from civicgrid.errors import Forbidden, NotFound
from gateway.app import create_app
from gateway.rpc import ServiceFailed, ServiceUnavailable

HB_KEY = "o311_hb"
QJ_KEY = "o311_qj"
RECEIPT = {"service_request_id": "hb-000001", "account_id": None, "building": "竹林湾路28栋",
           "matched_by": "address_id", "level": "grid", "deadline": "claim",
           "due_at": "2026-11-23T08:00:00+00:00", "possible_duplicates": 0}


class FakeServices:
    """Answers the gateway's RPCs; ``calls`` records every one, ``failure`` makes petitions fail."""

    def __init__(self):
        self.calls = []
        self.failure = None

    def call(self, token, service, method, *args, **kwargs):
        self.calls.append((service, method, args))
        if (service, method) == ("grid", "get_district"):
            if args[0] not in ("hb", "qj"):
                raise NotFound(f"no district {args[0]!r}")
            return {"code": args[0]}
        if (service, method) == ("grid", "check_api_key"):
            keys = {HB_KEY: "hb", QJ_KEY: "qj"}
            if args[0] not in keys:
                raise Forbidden("invalid api_key: no application holds this key")
            return {"district": keys[args[0]], "application": "hotline", "name": "热线", "key_id": "ak-1"}
        if self.failure:
            raise self.failure
        if (service, method) == ("petitions", "open311_submit"):
            return RECEIPT
        if (service, method) == ("petitions", "open311_requests"):
            return []
        raise AssertionError(f"unexpected call {service}.{method}")

    def submitted(self):
        return [args[0] for service, method, args in self.calls if method == "open311_submit"]

    def queries(self):
        return [args[0] for service, method, args in self.calls if method == "open311_requests"]


@pytest.fixture
def services():
    return FakeServices()


@pytest.fixture
def client(services):
    app = create_app({"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/", "RPC_TIMEOUT": 2})
    app.extensions["civicgrid_rpc"] = services
    return app.test_client()


def errors_of(answer, fmt):
    if fmt == "json":
        assert answer.content_type == "application/json; charset=utf-8"
        return [(e["code"], e["description"]) for e in answer.json]
    assert answer.content_type == "text/xml; charset=utf-8"
    root = ElementTree.fromstring(answer.data)
    assert root.tag == "errors"
    return [(int(e.findtext("code")), e.findtext("description")) for e in root.findall("error")]


def test_multivaluelist_and_single_attributes_are_read_from_the_form(client, services):
    answer = client.post("/open311/v2/requests.json", data={
        "api_key": HB_KEY, "jurisdiction_id": "hb", "service_code": "garbage", "address_id": "b28",
        "attribute[kinds][]": ["household", "bulky"], "attribute[floor]": "3", "attribute[empty]": " ",
        "email": "a@example.com", "unknown_argument": "ignored"})
    assert answer.status_code == 200, answer.data
    [body] = services.submitted()
    assert body["attributes"] == {"kinds": ["household", "bulky"], "floor": "3"}
    assert body["email"] == "a@example.com" and "unknown_argument" not in body
    assert answer.json[0]["service_request_id"] == "hb-000001"
    assert "+08:00" in answer.json[0]["service_notice"]


def test_the_filters_may_be_declared_several_times_or_comma_delimited(client, services):
    for query in ("status=open&status=closed", "status=open,closed", "status=open&status=&status=closed"):
        assert client.get(f"/open311/v2/requests.json?jurisdiction_id=hb&{query}").status_code == 200
    assert [q["status"] for q in services.queries()] == ["open,closed"] * 3
    client.get("/open311/v2/requests.xml?jurisdiction_id=hb&service_request_id=hb-1&service_request_id=hb-2"
               "&service_code=slope,road&start_date=2026-11-01&end_date=2026-11-20T12:00:00Z")
    query = services.queries()[-1]
    assert (query["service_request_id"], query["service_code"]) == ("hb-1,hb-2", "slope,road")
    assert query["start_date"] == "2026-11-01T00:00:00+08:00"     # a bare date: the district's midnight
    assert query["end_date"] == "2026-11-20T12:00:00+00:00"
    client.get("/open311/v2/requests.json?jurisdiction_id=hb")
    assert services.queries()[-1] == {"service_request_id": None, "service_code": None, "status": None,
                                      "start_date": None, "end_date": None}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("form, status, description", [
    ({"jurisdiction_id": "hb", "service_code": "slope", "address_id": "b27"}, 403, "api_key was not provided"),
    ({"api_key": "nope", "jurisdiction_id": "hb", "service_code": "slope"}, 403, "invalid api_key"),
    ({"api_key": QJ_KEY, "jurisdiction_id": "hb", "service_code": "slope"}, 403, "issued by jurisdiction 'qj'"),
    ({"api_key": QJ_KEY, "jurisdiction_id": "xx", "service_code": "slope"}, 404, "jurisdiction_id 'xx' not found"),
    ({"api_key": HB_KEY, "service_code": "slope"}, 400, "jurisdiction_id was not provided"),
    ({"api_key": HB_KEY, "jurisdiction_id": "hb"}, 400, "service_code was not provided"),
])
def test_a_refused_post_never_reaches_the_petitions_service(client, services, fmt, form, status, description):
    answer = client.post(f"/open311/v2/requests.{fmt}", data=form)
    assert answer.status_code == status
    [(code, text)] = errors_of(answer, fmt)
    assert code == status and description in text
    assert services.submitted() == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("failure, description", [
    (ServiceFailed("petitions", "KeyError"), "General Service error: the petitions service failed"),
    (ServiceUnavailable("petitions", "timeout"), "General Service error: the petitions service is unavailable"),
    (RuntimeError("boom"), "General Service error: the request could not be handled"),
])
def test_a_failure_of_the_platform_is_the_standards_general_service_error(client, services, fmt, failure,
                                                                             description):
    services.failure = failure
    answer = client.get(f"/open311/v2/requests.{fmt}?jurisdiction_id=hb")
    assert answer.status_code == 400
    [(code, text)] = errors_of(answer, fmt)
    assert code == 400 and text.startswith(description)


def test_unknown_paths_and_methods_answer_in_the_format_asked_for(client):
    answer = client.get("/open311/v2/nothing.xml")
    assert answer.status_code == 404 and errors_of(answer, "xml")[0][0] == 404
    answer = client.put("/open311/v2/requests.json")
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, POST"
    assert errors_of(answer, "json") == [(405, "PUT is not allowed here: use GET or POST")]
