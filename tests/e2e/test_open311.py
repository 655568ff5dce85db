"""Open311 GeoReport v2 end to end: an application files form-encoded requests with its API key,
follows them in JSON and XML while staff drive the loop over the platform's HTTP API, until closed.

Every JSON answer is validated, as it arrives, against the standard's JSON schemas in ``specs/open311``
(vendored unchanged from ../shared/open311: a test checks the copy) and the swagger document there where it
agrees with the standard's text (with null members left out, since swagger 2.0 cannot say null); the
answers the schemas do not cover (discovery, errors) are checked against the standard's text. Every XML
answer is parsed, its element names checked against the standard's and its content compared with the JSON
answer.
"""
import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import requests
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from civicgrid.harness import ROOT

from .conftest import eventually

SCHEMAS = os.path.join(ROOT, "specs", "open311")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}
# the element names the standard uses, by root element
ELEMENTS = {
    "discovery": {"discovery", "changeset", "contact", "key_service", "endpoints", "endpoint", "specification",
                  "url", "type", "formats", "format"},
    "services": {"services", "service", "service_code", "service_name", "description", "metadata", "type",
                 "keywords", "group"},
    "service_definition": {"service_definition", "service_code", "attributes", "attribute", "variable", "code",
                           "datatype", "required", "datatype_description", "order", "description", "values",
                           "value", "key", "name"},
    "service_requests": {"service_requests", "request", "token", "account_id"} | REQUEST_FIELDS,
    "errors": {"errors", "error", "code", "description"},
}
PLURALS = {"services", "service_requests", "attributes", "values", "errors", "endpoints", "formats"}


# -- conformance ----------------------------------------------------------------------

FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value):
    """W3C date-time with a timezone, as the standard requires; ours carry the district's offset."""
    return not isinstance(value, str) or ("T" in value and datetime.fromisoformat(value).tzinfo is not None)


@FORMATS.checks("uri")
def _uri(value):
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is None or bool(parts.scheme and parts.netloc)


class Conformance:
    def __init__(self, directory):
        resources = {}
        for filename in os.listdir(directory):
            if filename.endswith(".json"):
                with open(os.path.join(directory, filename), encoding="utf-8") as f:
                    spec = DRAFT4 if filename == "swagger.json" else DRAFT202012
                    resources[filename] = Resource.from_contents(json.load(f), default_specification=spec)
        self.registry = Registry().with_resources(resources.items())
        self.resources = resources

    def schema(self, name, document):
        Draft202012Validator(self.resources[name].contents, registry=self.registry,
                             format_checker=FORMATS).validate(document)

    def schema_of(self, schema, value):
        Draft202012Validator(schema, format_checker=FORMATS).validate(value)

    def swagger(self, definition, document):
        """Swagger 2.0 has no null: a null member is one "not returned"."""
        def without_nulls(value):
            if isinstance(value, dict):
                return {k: without_nulls(v) for k, v in value.items() if v is not None}
            if isinstance(value, list):
                return [without_nulls(v) for v in value]
            return value
        Draft4Validator({"$ref": f"swagger.json#/definitions/{definition}"}, registry=self.registry,
                        format_checker=FORMATS).validate(without_nulls(document))


@pytest.fixture(scope="module")
def conformance():
    return Conformance(SCHEMAS)


def xml_data(element):
    """The XML as its JSON counterpart (the Spark convention), leaves as text."""
    children = list(element)
    if element.tag in PLURALS:
        return [xml_data(c) for c in children]
    if children:
        return {c.tag: xml_data(c) for c in children}
    return element.text


def as_text(value):
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


class Open311:
    """An Open311 client of the platform: every answer checked as it comes."""

    def __init__(self, base_url, conformance):
        self.base = base_url + "/open311/v2"
        self.conformance = conformance
        self.session = requests.Session()

    def call(self, method, path, fmt, expect, **kwargs):
        response = self.session.request(method, f"{self.base}/{path}.{fmt}", timeout=30, **kwargs)
        assert response.status_code == expect, (response.status_code, response.text)
        if fmt == "json":
            assert response.headers["Content-Type"] == JSON_TYPE
            body = response.json()
            if expect >= 400:
                assert body and all(set(e) == {"code", "description"} and e["code"] == expect
                                    and isinstance(e["description"], str) for e in body), body
            else:
                self.conforms(method, path, body)
            return body
        assert response.headers["Content-Type"] == XML_TYPE
        assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), response.content[:60]
        root = ElementTree.fromstring(response.content)
        names = {e.tag for e in root.iter()}
        assert names <= ELEMENTS[root.tag], names - ELEMENTS[root.tag]
        if expect >= 400:
            assert root.tag == "errors" and root.findall("error/code")[0].text == str(expect)
        return root

    def conforms(self, method, path, body):
        """Every successful JSON answer against the schema of its resource (and swagger's definition)."""
        check = self.conformance
        if path == "discovery":
            assert {"changeset", "contact", "key_service", "endpoints"} <= set(body), body
            for endpoint in body["endpoints"]:
                assert {"specification", "url", "changeset", "type", "formats"} <= set(endpoint), endpoint
                assert endpoint["type"] in ("production", "test") and endpoint["formats"]
                check.schema_of({"format": "date-time"}, endpoint["changeset"])
                check.schema_of({"format": "uri"}, endpoint["url"])
        elif path == "services":
            check.schema("services.json", body)
            for service in body:
                check.swagger("Service", service)
        elif path.startswith("services/"):
            check.schema("service-definition.json", body)
            check.swagger("ServiceDefinition", body)
        elif path == "requests" and method == "POST":
            # no JSON schema for the POST answer: swagger's RequestResponse, and the standard's text
            # (a service_request_id, or a token when there is none yet; we always give the id)
            assert isinstance(body, list) and len(body) == 1, body
            for answer in body:
                assert set(answer) == {"service_request_id", "service_notice", "account_id"}, answer
                assert isinstance(answer["service_request_id"], str) and answer["service_request_id"]
                check.swagger("RequestResponse", answer)
        elif path == "requests" or path.startswith("requests/"):
            check.schema("requests.json", body)
            for item in body:
                assert set(item) == REQUEST_FIELDS
                check.swagger("Request", item)
        else:
            raise AssertionError(f"no schema for {method} {path}")

    def both(self, method, path, expect=200, root=None, **kwargs):
        """The same call in JSON and in XML: the XML says what the JSON says."""
        data = self.call(method, path, "json", expect, **kwargs)
        tree = self.call(method, path, "xml", expect, **kwargs)
        assert tree.tag == (root or ("errors" if expect >= 400 else tree.tag))
        assert xml_data(tree) == as_text(data)
        return data

    def get(self, path, expect=200, root=None, **params):
        return self.both("GET", path, expect, root, params=params)

    def requests(self, **params):
        return self.get("requests", root="service_requests", **params)

    def request(self, request_id, jurisdiction="hb"):
        [item] = self.get(f"requests/{request_id}", root="service_requests", jurisdiction_id=jurisdiction)
        assert item["service_request_id"] == request_id
        return item

    def post(self, form, fmt="json", expect=200):
        answer = self.call("POST", "requests", fmt, expect, data=form)
        if fmt == "xml" and expect == 200:
            [request] = answer.findall("request")
            assert {e.tag for e in request} == {"service_request_id", "service_notice", "account_id"}
        return answer

    def error(self, method, path, expect, description, **kwargs):
        """Both formats; ``description`` must be named by one of the errors."""
        for fmt in ("json", "xml"):
            body = self.call(method, path, fmt, expect, **kwargs)
            texts = [e["description"] for e in body] if fmt == "json" else \
                [e.text for e in body.findall("error/description")]
            assert any(description in t for t in texts), (description, texts)
        return texts


@pytest.fixture(scope="module")
def open311(platform, conformance):
    return Open311(platform.url, conformance)


@pytest.fixture(scope="module")
def keys(users, admin, districts):
    """A key per application: the hotline's in hb (by its administrator), an app's in qj (by the platform)."""
    hb_admin = users["hb-admin"]
    hotline = hb_admin.post("/api/v1/districts/hb/api-keys",
                            {"application": "hotline", "name": "河边镇12345热线", "contact": "热线中心"}, expect=201)
    retired = hb_admin.post("/api/v1/districts/hb/api-keys",
                            {"application": "old-app", "name": "旧版小程序"}, expect=201)
    hb_admin.request("DELETE", f"/api/v1/districts/hb/api-keys/{retired['id']}", expect=200)
    qj_app = admin.post("/api/v1/districts/qj/api-keys", {"application": "qj-app", "name": "綦江随手拍"}, expect=201)
    return {"hb": hotline["key"], "retired": retired["key"], "qj": qj_app["key"]}


def form(key, **fields):
    return {"api_key": key, "jurisdiction_id": "hb", **fields}


def petitions_total(client):
    return client.get("/api/v1/petitions", params={"page_size": 1})["total"]


# -- the tests ---------------------------------------------------------------------------

def test_api_keys_are_issued_listed_and_revoked_by_the_districts_administrator(users, keys):
    hb_admin = users["hb-admin"]
    listed = hb_admin.get("/api/v1/districts/hb/api-keys")
    by_app = {k["application"]: k for k in listed}
    assert by_app["hotline"]["name"] == "河边镇12345热线" and by_app["hotline"]["revoked_at"] is None
    assert by_app["hotline"]["key_hint"] == keys["hb"][-4:] and by_app["old-app"]["revoked_by"] == "hb-admin"
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert all(k["application"] != "qj-app" for k in listed)
    for who, status in (("wc-secretary", 403), ("wenxiaohua", 403), ("qj-resident", 404)):  # qj: not found
        users[who].request("GET", "/api/v1/districts/hb/api-keys", expect=status)
        users[who].request("POST", "/api/v1/districts/hb/api-keys", expect=status,
                           json={"application": "mine", "name": "我的"})
    error = hb_admin.request("POST", "/api/v1/districts/hb/api-keys", expect=422, json={"name": "无代码"})
    assert "application" in error["errors"]
    hb_admin.request("DELETE", "/api/v1/districts/hb/api-keys/ak-nothing", expect=404)


def test_discovery(open311):
    found = open311.get("discovery", root="discovery")
    [endpoint] = found["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["formats"] == ["text/xml", "application/json"]
    assert "api-keys" in found["key_service"]
    at_the_root = open311.session.get(open311.base.rsplit("/", 1)[0] + "/discovery.json", timeout=30)
    assert at_the_root.status_code == 200 and at_the_root.json() == found


def test_services_are_the_districts_issue_categories(open311, conformance, demo_district):
    services = open311.get("services", root="services", jurisdiction_id="hb")
    conformance.schema("services.json", services)
    for service in services:
        conformance.swagger("Service", service)
    codes = {s["service_code"]: s for s in services}
    issues = {c["category"] for c in demo_district["categories"] if c["kind"] == "issue"}
    assert issues <= set(codes) and not {"help_errand", "help_escort"} & set(codes)
    assert codes["streetlight"] == {
        "service_code": "streetlight", "service_name": "路灯/楼道灯损坏", "description": "路灯、楼道声控灯不亮或损坏",
        "metadata": True, "type": "realtime", "keywords": None, "group": "镇城建办"}
    assert codes["slope"]["metadata"] is False

    definition = open311.get("services/streetlight", root="service_definition", jurisdiction_id="hb")
    conformance.schema("service-definition.json", definition)
    conformance.swagger("ServiceDefinition", definition)
    location_type, lamp_count = definition["attributes"]
    assert (location_type["code"], location_type["datatype"], location_type["order"]) == \
        ("location_type", "singlevaluelist", 1)
    assert location_type["values"] == [{"key": "stairwell", "name": "楼道"}, {"key": "road", "name": "道路"},
                                       {"key": "square", "name": "广场"}]
    assert (lamp_count["datatype"], lamp_count["required"], lamp_count["variable"]) == ("number", False, True)
    assert "values" not in lamp_count

    open311.error("GET", "services/ufo", 404, "service_code 'ufo' not found", params={"jurisdiction_id": "hb"})
    open311.error("GET", "services/help_escort", 404, "not found", params={"jurisdiction_id": "hb"})
    open311.error("GET", "services", 400, "jurisdiction_id was not provided")
    open311.error("GET", "services", 404, "jurisdiction_id 'nowhere' not found", params={"jurisdiction_id": "nowhere"})


def test_a_form_post_runs_the_whole_loop_until_closed(open311, conformance, users, keys, clock):
    leader, community, clerk, hb_admin = (users[n] for n in ("daiyunzhong", "wc-secretary", "cj-clerk", "hb-admin"))
    receipt = open311.post(form(
        keys["hb"], service_code="streetlight", address_string="重庆市綦江区河边镇文昌社区竹林湾路28栋",
        lat="28.9721", long="106.6523", **{"attribute[location_type]": "stairwell", "attribute[lamp_count]": "2"},
        description="28栋二单元楼道灯坏了一周\n晚上上下楼看不见", media_url="https://img.example/stairs.jpg",
        email="Alice@Example.com", first_name="Alice", last_name="Wang", phone="13800000000"))
    conformance.swagger("RequestResponse", receipt[0])
    [answer] = receipt
    rid = answer["service_request_id"]
    assert answer["account_id"] == "open311:hotline:alice@example.com"
    assert "竹林湾路28栋" in answer["service_notice"] and "+08:00" in answer["service_notice"]

    item = open311.request(rid)
    assert (item["status"], item["service_code"], item["address_id"]) == ("open", "streetlight", "b28")
    assert item["status_notes"].startswith("submitted") and item["agency_responsible"] is None
    assert (item["lat"], item["long"], item["media_url"]) == (28.9721, 106.6523, "https://img.example/stairs.jpg")
    assert item["address"] == "重庆市綦江区河边镇文昌社区竹林湾路28栋" and item["service_name"] == "路灯/楼道灯损坏"
    assert item["requested_datetime"].endswith("+08:00") and item["expected_datetime"].endswith("+08:00")
    assert item["description"] == "28栋二单元楼道灯坏了一周\n晚上上下楼看不见"

    # a petition like any other: in the building leader's queue, with its attributes; staff see who filed it
    queue = leader.get("/api/v1/petitions", params={"queue": "mine", "page_size": 100})["items"]
    assert rid in [p["id"] for p in queue]
    petition = hb_admin.get(f"/api/v1/petitions/{rid}")
    assert petition["resident_id"] == "open311:hotline:alice@example.com"
    assert petition["attributes"] == {"location_type": "stairwell", "lamp_count": 2}
    assert petition["open311"]["application"] == "hotline"
    assert petition["open311"]["contact"] == {"email": "Alice@Example.com", "first_name": "Alice",
                                              "last_name": "Wang", "phone": "13800000000"}

    def follows(client, action, body, status, notes, agency):
        client.act(rid, action, body)
        item = open311.request(rid)
        assert (item["status"], item["agency_responsible"]) == (status, agency), item
        assert item["status_notes"].startswith(notes), item["status_notes"]
        return item

    follows(leader, "escalate", {"reason": "整栋楼道线路老化，需社区协调"}, "open", "escalated", None)
    dispatched = follows(community, "dispatch", {}, "open", "dispatched: sent to 镇城建办", "镇城建办")
    assert dispatched["expected_datetime"].endswith("+08:00")
    follows(clerk, "accept", {}, "open", "in_progress: accepted and being handled by 镇城建办", "镇城建办")
    resolved = follows(clerk, "resolve", {"note": "已更换二单元楼道灯线路"}, "closed",
                       "resolved: 已更换二单元楼道灯线路", "镇城建办")
    assert resolved["expected_datetime"] is None

    # nobody rates a request filed through Open311: it closes when the rating time runs out
    clock.advance(169)
    eventually(lambda: hb_admin.get(f"/api/v1/petitions/{rid}")["status"] == "closed")
    closed = open311.request(rid)
    assert (closed["status"], closed["status_notes"]) == ("closed", "closed: resolved (已更换二单元楼道灯线路)")
    assert closed["updated_datetime"] > resolved["updated_datetime"]

    listed = open311.requests(jurisdiction_id="hb", service_code="streetlight", status="closed")
    assert rid in [r["service_request_id"] for r in listed]
    assert rid not in [r["service_request_id"] for r in open311.requests(jurisdiction_id="hb", status="open")]
    assert [r["service_request_id"] for r in open311.requests(jurisdiction_id="hb", service_request_id=rid)] == [rid]


def test_an_anonymous_request_placed_by_address_id_answered_in_xml(open311, users, keys, platform):
    root = open311.post(form(keys["hb"], service_code="slope", address_id="b27",
                             description="27栋后面的土坡下雨后有落石"), fmt="xml")
    assert root.tag == "service_requests"
    rid = root.findtext("request/service_request_id")
    assert root.find("request/account_id").text is None
    assert "竹林湾路27栋" in root.findtext("request/service_notice")
    item = open311.request(rid)
    assert (item["address_id"], item["address"], item["lat"]) == ("b27", "竹林湾路27栋", None)
    assert users["hb-admin"].get(f"/api/v1/petitions/{rid}")["resident_id"] == "open311:hotline:anonymous"
    # the building leader of 27栋 handles it in the grid (小事不出网格)
    leader = users["daijiaqian"]
    leader.act(rid, "claim")
    leader.act(rid, "resolve", {"note": "已清理落石并设置警示牌"})
    assert open311.request(rid)["status"] == "closed"
    # requests of other districts are not there; neither are petitions filed on the platform
    open311.error("GET", f"requests/{rid}", 404, "not found", params={"jurisdiction_id": "qj"})
    platform_petition = users["wenxiaohua"].post("/api/v1/petitions", {"category": "garbage", "title": "楼道垃圾"},
                                                 expect=201)["id"]
    open311.error("GET", f"requests/{platform_petition}", 404, f"service_request_id {platform_petition!r} not found",
                  params={"jurisdiction_id": "hb"})


def test_bad_input_is_refused_in_the_standards_format_and_writes_nothing(open311, users, keys):
    hb_admin = users["hb-admin"]
    code = "well_cover_" + uuid.uuid4().hex[:6]
    hb_admin.put(f"/api/v1/districts/hb/categories/{code}", {
        "name": "井盖缺失", "department_id": "chengjian",
        "fields": [{"code": "size", "name": "井盖直径(厘米)", "type": "number", "required": True}]}, expect=200)
    before = petitions_total(hb_admin), len(open311.requests(jurisdiction_id="hb"))
    good = form(keys["hb"], service_code=code, address_string="竹林湾路28栋", **{"attribute[size]": "60"})

    def refused(expect, description, **changes):
        body = {k: v for k, v in {**good, **changes}.items() if v is not None}
        open311.error("POST", "requests", expect, description, data=body)

    refused(404, "service_code 'ufo' not found in jurisdiction 'hb'", service_code="ufo")
    refused(404, "service_code 'help_escort' not found", service_code="help_escort")
    refused(400, "attribute[size]: required: 井盖直径(厘米)", **{"attribute[size]": None})
    refused(400, "attribute[size]: must be a number", **{"attribute[size]": "大"})
    refused(400, "location: send lat and long, address_string or address_id", address_string=None)
    refused(400, "lat/long: (29.56, 106.55) is", address_string=None, lat="29.56", long="106.55")
    refused(400, "long: lat and long are sent together", address_string=None, lat="28.97")
    refused(400, "address_string: names no building of district 'hb'", address_string="解放碑步行街")
    refused(400, "address_id: 'b99' is not a building of district 'hb'", address_id="b99")
    refused(400, "media_url", media_url="javascript:alert(1)")
    refused(400, "service_code was not provided", service_code=None)
    refused(400, "jurisdiction_id was not provided", jurisdiction_id=None)
    refused(403, "api_key was not provided", api_key=None)
    refused(403, "invalid api_key", api_key="o311_" + "x" * 43)
    refused(403, "api_key revoked", api_key=keys["retired"])
    refused(403, "issued by jurisdiction 'qj'", api_key=keys["qj"])
    refused(404, "jurisdiction_id 'nowhere' not found", api_key=keys["qj"], jurisdiction_id="nowhere")
    refused(400, "attribute[colour]: the category", **{"attribute[colour]": "red"})
    open311.error("POST", "requests", 400, "attribute[kinds]: must be a list of distinct choices from bulky",
                  data=form(keys["hb"], service_code="garbage", address_id="b28",
                            **{"attribute[kinds][]": ["household", "gold"]}))
    open311.error("POST", "requests", 400, "form-encoded", json=good)
    assert (petitions_total(hb_admin), len(open311.requests(jurisdiction_id="hb"))) == before

    # the same request, put right, goes through, with the very next number: the refusals used none up
    [answer] = open311.post(good)
    assert answer["service_request_id"] == f"hb-{before[0] + 1:06d}"
    assert hb_admin.get(f"/api/v1/petitions/{answer['service_request_id']}")["attributes"] == {"size": 60}
    users["daiyunzhong"].act(answer["service_request_id"], "claim")
    users["daiyunzhong"].act(answer["service_request_id"], "resolve", {"note": "已补装井盖"})
    # a phone's coordinate a few metres from 29栋 (demo/hebian.json records each building's) places it there
    [placed] = open311.post({**good, "address_string": None, "lat": "28.97202", "long": "106.65243"})
    item = open311.request(placed["service_request_id"])
    assert (item["address_id"], item["lat"], item["long"]) == ("b29", 28.97202, 106.65243)


def test_query_errors_and_unknown_resources(open311):
    now = datetime.now().astimezone()
    open311.error("GET", "requests", 400, "end_date: spans 120 days from start_date: at most 90",
                  params={"jurisdiction_id": "hb", "start_date": (now - timedelta(days=120)).isoformat(),
                          "end_date": now.isoformat()})
    open311.error("GET", "requests", 400, "start_date: 'yesterday' is not a W3C date-time",
                  params={"jurisdiction_id": "hb", "start_date": "yesterday"})
    open311.error("GET", "requests", 400, "status: pending: use open or closed",
                  params={"jurisdiction_id": "hb", "status": "pending"})
    open311.error("GET", "requests", 404, "jurisdiction_id 'nowhere' not found", params={"jurisdiction_id": "nowhere"})
    open311.error("GET", "requests/hb-999999", 404, "service_request_id 'hb-999999' not found",
                  params={"jurisdiction_id": "hb"})
    open311.error("GET", "tokens/12345", 404, "issues no tokens", params={"jurisdiction_id": "hb"})
    open311.error("GET", "nothing/here", 404, "no such resource")
    open311.error("DELETE", "requests", 405, "DELETE is not allowed here")
    # dates as people send them: a bare date, and no offset (the district's local time)
    assert isinstance(open311.requests(jurisdiction_id="hb", start_date=now.date().isoformat()), list)
    assert isinstance(open311.requests(jurisdiction_id="hb", end_date=now.strftime("%Y-%m-%dT%H:%M:%S")), list)


def test_the_vendored_schemas_are_the_reference_sets():
    """``specs/open311`` is ../shared/open311 unchanged, where that reference set is at hand."""
    reference = os.path.join(os.path.dirname(ROOT), "shared", "open311")
    if not os.path.isdir(reference):
        pytest.skip("../shared/open311 is not beside this checkout")
    names = sorted(f for f in os.listdir(reference) if f.endswith(".json"))
    assert names and names == sorted(f for f in os.listdir(SCHEMAS) if f.endswith(".json"))
    for name in names:
        with open(os.path.join(reference, name), "rb") as a, open(os.path.join(SCHEMAS, name), "rb") as b:
            assert a.read() == b.read(), name


def test_returned_by_a_department_dispatched_again_and_found_by_every_filter(open311, users, keys, platform):
    """The other turns of the loop (a department returns it, 退单), a multivaluelist, and every GET filter."""
    grid_worker, community, zz_clerk, cj_clerk, hb_admin = (
        users[n] for n in ("wc-grid1", "wc-secretary", "zz-clerk", "cj-clerk", "hb-admin"))
    device = "dev-" + uuid.uuid4().hex[:8]
    [lamp] = open311.post(form(keys["hb"], service_code="streetlight", lat="28.97202", long="106.65243",
                               device_id=device, **{"attribute[location_type]": "road"},
                               description="29栋门口路灯不亮"))
    assert lamp["account_id"] == f"open311:hotline:device:{device}"
    lamp = lamp["service_request_id"]
    [garbage] = open311.post(form(keys["hb"], service_code="garbage", address_id="b28",
                                  **{"attribute[kinds][]": ["household", "bulky"]}), fmt="json")
    garbage = garbage["service_request_id"]
    assert hb_admin.get(f"/api/v1/petitions/{garbage}")["attributes"] == {"kinds": ["household", "bulky"]}
    assert hb_admin.get(f"/api/v1/petitions/{lamp}")["building_id"] == "b29"

    def same_moment(ours, platform_time):
        return platform_time is not None and ours is not None and \
            abs(datetime.fromisoformat(ours) - datetime.fromisoformat(platform_time)) < timedelta(seconds=1)

    def follows(client, action, body, status, notes, agency):
        if client is not None:
            client.act(lamp, action, body)
        item = open311.request(lamp)
        petition = hb_admin.get(f"/api/v1/petitions/{lamp}")
        assert (item["status"], item["agency_responsible"]) == (status, agency), item
        assert item["status_notes"].startswith(notes), item["status_notes"]
        # times at the district's offset, the same moments as the platform's (UTC) ones
        assert all(item[k].endswith("+08:00") for k in ("requested_datetime", "updated_datetime"))
        assert same_moment(item["requested_datetime"], petition["created_at"])
        assert same_moment(item["updated_datetime"], petition["updated_at"])
        if status == "open":   # the current deadline, whichever stage it is at
            assert item["expected_datetime"].endswith("+08:00") and same_moment(item["expected_datetime"],
                                                                                 petition["due_at"]), item
        else:
            assert item["expected_datetime"] is None
        return item

    follows(None, None, None, "open", "submitted: waiting for the building leader or grid worker", None)
    follows(grid_worker, "escalate", {"reason": "路灯归镇里管"}, "open", "escalated: whistled up", None)
    follows(community, "dispatch", {"department_id": "zongzhi"}, "open", "dispatched: sent to 镇综治办", "镇综治办")
    follows(zz_clerk, "return", {"reason": "路灯不归综治办"}, "open",
            "escalated: returned to the community by the department (路灯不归综治办)", None)
    follows(community, "dispatch", {"department_id": "chengjian"}, "open", "dispatched: sent to 镇城建办", "镇城建办")
    follows(cj_clerk, "accept", {}, "open", "in_progress: accepted and being handled by 镇城建办", "镇城建办")
    resolved = follows(cj_clerk, "resolve", {"note": "已更换灯泡"}, "closed", "resolved: 已更换灯泡", "镇城建办")

    # every filter of GET requests, in both formats
    def ids(**params):
        return {r["service_request_id"] for r in open311.requests(jurisdiction_id="hb", **params)}

    both = {lamp, garbage}
    assert ids(service_request_id=f"{lamp},{garbage}") == both
    assert ids(service_request_id=f"{lamp},{garbage}", status="closed", service_code="slope") == both  # overrides
    assert both <= ids(service_code="streetlight,garbage")
    assert lamp in ids(service_code="streetlight") and garbage not in ids(service_code="streetlight")
    assert lamp in ids(status="closed") and garbage not in ids(status="closed")
    assert garbage in ids(status="open") and lamp not in ids(status="open")
    assert both <= ids(status="open,closed") and both <= ids(status=["open", "closed"])  # declared twice
    filed = datetime.fromisoformat(resolved["requested_datetime"])
    assert both <= ids(start_date=(filed - timedelta(minutes=5)).isoformat())            # the 90 days after
    assert both <= ids(end_date=(filed + timedelta(minutes=5)).isoformat())              # the 90 days before
    assert not both & ids(end_date=(filed - timedelta(minutes=5)).isoformat())
    assert not both & ids(start_date=(filed - timedelta(days=89)).isoformat(),
                          end_date=(filed - timedelta(minutes=5)).isoformat())
    assert both <= ids(start_date=(filed - timedelta(days=89)).isoformat(),
                       end_date=(filed + timedelta(minutes=5)).isoformat())
    assert not both & ids(start_date=(filed + timedelta(minutes=5)).isoformat())
    # a start_date/end_date in UTC ("Z") means the same moment as the district's offset
    utc = (filed - timedelta(minutes=5)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert both <= ids(start_date=utc)
