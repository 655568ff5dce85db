"""Open311 requests as petitions: filing one through an application, the loop, and the public view.

Every view is validated against the GeoReport v2 JSON schemas in ``specs/open311`` (vendored from ../shared/open311).
"""
import json
import os
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from nameko.testing.services import entrypoint_hook, replace_dependencies
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from civicgrid.auth import AuthContext, issue_token
from civicgrid.errors import Forbidden, Invalid, NotFound, Unauthorized
from civicgrid.events import validate_event
from services.petitions import open311, usecases
from services.petitions.repository import PetitionRepository, create_indexes
from services.petitions.service import PetitionsService

from .fakes import BUILDINGS, FakeDirectory
from .test_domain import COMMUNITY, DEPARTMENT, LEADER, OWNER

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCHEMAS = os.path.join(ROOT, "specs", "open311")
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)

HOTLINE = AuthContext(user_id="open311:hotline", district="hb", roles=("open311_client",), name="河边镇12345热线")
READER = AuthContext(user_id="open311:public", district="hb", roles=("open311_reader",))
QJ_READER = AuthContext(user_id="open311:public", district="qj", roles=("open311_reader",))


# -- the standard's schemas ------------------------------------------------------

FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value):
    """W3C date-time with a timezone (Z or an offset), as the standard requires."""
    return not isinstance(value, str) or ("T" in value and datetime.fromisoformat(value).tzinfo is not None)


@FORMATS.checks("uri")
def _uri(value):
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is None or bool(parts.scheme and parts.netloc)


def validator(name):
    resources = {}
    for filename in os.listdir(SCHEMAS):
        if filename.endswith(".json") and filename != "swagger.json":
            with open(os.path.join(SCHEMAS, filename), encoding="utf-8") as f:
                resources[filename] = Resource.from_contents(json.load(f), default_specification=DRAFT202012)
    registry = Registry().with_resources(resources.items())
    return Draft202012Validator(resources[name].contents, registry=registry, format_checker=FORMATS)


def conforms(items):
    validator("requests.json").validate(items)
    return items


# -- fixtures --------------------------------------------------------------------

class Directory(FakeDirectory):
    """文昌社区 as the grid answers, with where Open311 requests land."""

    def match_building(self, district, address_id=None, address=None, lat=None, lng=None):
        if district != "hb":
            raise Forbidden("not a member of this district")
        if address_id:
            if address_id not in BUILDINGS:
                raise Invalid("unknown address_id", {"address_id": f"{address_id!r} is not a building of 'hb'"})
            return {"building_id": address_id, "name": f"竹林湾路{address_id[1:]}栋", "matched_by": "address_id"}
        if address and "28栋" in address:
            return {"building_id": "b28", "name": "竹林湾路28栋", "matched_by": "address_string"}
        if lat is not None:
            return {"building_id": "b28", "name": "竹林湾路28栋", "matched_by": "lat/long", "distance_m": 12}
        raise Invalid("address_string names no building", {"address_string": "names no building of 'hb'"})

    def list_departments(self, district):
        return [{"id": "chengjian", "name": "镇城建办", "categories": []},
                {"id": "zonghe", "name": "镇综治办", "categories": []}]


@pytest.fixture
def repo(open_db):
    db = open_db("petitions")
    create_indexes(db)
    return PetitionRepository(db)


STREETLIGHT = {
    "service_code": "streetlight", "address_string": "河边镇文昌社区竹林湾路28栋", "lat": "29.0008",
    "long": "106.6001", "attributes": {"location_type": "stairwell", "lamp_count": "3"},
    "description": "28栋楼道灯不亮三天了\n晚上老人上下楼不方便", "media_url": "https://img.example/lamp.jpg",
    "email": "Alice@Example.com", "first_name": "Alice", "last_name": "Wang", "phone": "13800000000",
}


def file(repo, request=None, auth=HOTLINE, now=NOW, **changes):
    body = dict(STREETLIGHT if request is None else request, **changes)
    return open311.submit(repo, Directory(), auth, body, now)


def written(repo):
    return repo.collection.count_documents({}), repo.counters.count_documents({})


def view(repo, petition_id, now=NOW, auth=READER):
    [item] = conforms(open311.requests(repo, Directory(), auth, {"service_request_id": petition_id}, now))
    return item


# -- filing ------------------------------------------------------------------------

def test_a_request_becomes_a_petition_in_the_building_it_names(repo):
    petition, duplicates, receipt = file(repo)
    assert (petition["building_id"], petition["status"], petition["level"]) == ("b28", "submitted", "grid")
    assert petition["resident_id"] == "open311:hotline:alice@example.com"
    assert petition["category"] == "streetlight" and petition["title"] == "28栋楼道灯不亮三天了"
    assert petition["attributes"] == {"location_type": "stairwell", "lamp_count": 3}
    assert petition["media"] == ["https://img.example/lamp.jpg"]
    assert petition["location"] == {"lat": 29.0008, "lng": 106.6001}
    assert petition["address"] == "河边镇文昌社区竹林湾路28栋"
    stored = repo.collection.find_one({"_id": petition["_id"]})
    assert stored["open311"] == {
        "application": "hotline", "application_name": "河边镇12345热线", "address_string": "河边镇文昌社区竹林湾路28栋",
        "address_id": None, "matched_by": "address_string",
        "contact": {"email": "Alice@Example.com", "first_name": "Alice", "last_name": "Wang", "phone": "13800000000"}}
    [event] = stored["outbox"]
    validate_event(event)
    assert event["actor"] == {"id": "open311:hotline:alice@example.com", "role": "resident"}
    assert receipt == {"service_request_id": petition["_id"], "account_id": "open311:hotline:alice@example.com",
                       "building": "竹林湾路28栋", "matched_by": "address_string", "level": "grid",
                       "deadline": "claim", "due_at": "2026-11-23T08:00:00.000+00:00", "possible_duplicates": 0}
    assert duplicates == []
    assert file(repo)[2]["possible_duplicates"] == 1   # the same problem again: the receipt says so


@pytest.mark.parametrize("contact, resident_id, account_id", [
    ({}, "open311:hotline:anonymous", None),
    ({"account_id": "u-42"}, "open311:hotline:account:u-42", "open311:hotline:account:u-42"),
    ({"device_id": "tt222111", "first_name": "老王"}, "open311:hotline:device:tt222111",
     "open311:hotline:device:tt222111"),
])
def test_the_submitter_is_who_the_contact_fields_say_or_anonymous(repo, contact, resident_id, account_id):
    request = {"service_code": "slope", "address_id": "b27", **contact}
    petition, _, receipt = file(repo, request)
    assert (petition["resident_id"], receipt["account_id"]) == (resident_id, account_id)
    assert petition["building_id"] == "b27" and petition["address"] == "竹林湾路27栋"
    assert petition["title"] == "边坡滑坡" and petition["location"] is None


def test_lat_long_alone_places_a_request(repo):
    request = {"service_code": "slope", "lat": 29.0008, "long": 106.6001}
    petition, _, receipt = file(repo, request)
    assert petition["building_id"] == "b28" and receipt["matched_by"] == "lat/long"


@pytest.mark.parametrize("changes, parameter", [
    ({"attributes": {"lamp_count": "three"}}, "attribute[lamp_count]"),
    ({"attributes": {"lamp_count": "nan"}}, "attribute[lamp_count]"),
    ({"attributes": {"location_type": ["road", "stairwell"]}}, "attribute[location_type]"),
    ({"attributes": {"location_type": "roof"}}, "attribute[location_type]"),
    ({"attributes": {"colour": "red"}}, "attribute[colour]"),
    ({"address_string": None, "lat": None, "long": None}, "location"),
    ({"long": None}, "long"),
    ({"lat": "north"}, "lat"),
    ({"lat": None, "long": None, "address_string": "解放碑"}, "address_string"),
    ({"address_id": "b99"}, "address_id"),
    ({"media_url": "ftp://x/y.jpg"}, "media_url"),
    ({"email": "not-an-email"}, "email"),
    ({"description": "长" * 2001}, "description"),
    ({"service_code": None}, "service_code"),
])
def test_bad_input_names_the_parameter_and_writes_nothing(repo, changes, parameter):
    with pytest.raises(Invalid) as err:
        file(repo, **changes)
    assert parameter in err.value.errors, err.value.errors
    assert written(repo) == (0, 0)


def test_every_problem_of_the_form_is_named_at_once(repo):
    with pytest.raises(Invalid) as err:
        file(repo, {"service_code": "streetlight", "attributes": {"lamp_count": "many", "location_type": ["a", "b"]}})
    assert sorted(err.value.errors) == ["attribute[lamp_count]", "attribute[location_type]", "location"]
    assert written(repo) == (0, 0)


def test_a_missing_required_attribute_is_named(repo):
    with pytest.raises(Invalid) as err:
        file(repo, {"service_code": "security", "address_id": "b28", "attributes": {"floor": "3"}})
    assert err.value.errors == {"attribute[kinds]": ["required: 类型"]}
    petition = file(repo, {"service_code": "security", "address_id": "b28",
                           "attributes": {"kinds": "theft", "floor": "3"}})[0]
    assert petition["attributes"] == {"kinds": ["theft"], "floor": "3"}   # one value of a multivaluelist
    assert written(repo) == (1, 1)


@pytest.mark.parametrize("code", ["ufo", "help_errand"])
def test_an_unknown_service_or_a_help_request_is_not_found(repo, code):
    with pytest.raises(NotFound) as err:
        file(repo, service_code=code)
    assert "service_code" in err.value.errors
    assert written(repo) == (0, 0)


@pytest.mark.parametrize("auth", [
    OWNER, READER, COMMUNITY, AuthContext(),
    AuthContext(user_id="hotline", district="hb", roles=("open311_client",)),   # not minted for an application
    AuthContext(user_id="open311:hotline", roles=("open311_client",)),          # no district
])
def test_only_an_application_through_its_key_files(repo, auth):
    with pytest.raises((Forbidden, Unauthorized)):
        file(repo, auth=auth)
    assert written(repo) == (0, 0)


# -- the public view, through the whole loop ------------------------------------------

def test_the_view_follows_the_loop_until_closed(repo):
    directory = Directory()
    petition, _, _ = file(repo)
    pid = petition["_id"]
    item = view(repo, pid)
    assert item == {
        "service_request_id": pid, "status": "open",
        "status_notes": "submitted: waiting for the building leader or grid worker to take it on",
        "service_name": "路灯损坏", "service_code": "streetlight",
        "description": "28栋楼道灯不亮三天了\n晚上老人上下楼不方便", "agency_responsible": None, "service_notice": None,
        "requested_datetime": "2026-11-22T08:00:00.000+00:00", "updated_datetime": "2026-11-22T08:00:00.000+00:00",
        "expected_datetime": "2026-11-23T08:00:00.000+00:00", "address": "河边镇文昌社区竹林湾路28栋",
        "address_id": "b28", "zipcode": None, "lat": 29.0008, "long": 106.6001,
        "media_url": "https://img.example/lamp.jpg"}

    steps = [
        (LEADER, "escalate", {"reason": "需社区协调"}, "open", "escalated: whistled up to the community", None),
        (COMMUNITY, "dispatch", {"department_id": "chengjian"}, "open", "dispatched: sent to 镇城建办", "镇城建办"),
        (DEPARTMENT, "return", {"reason": "不是路灯，是楼道灯"}, "open",
         "escalated: returned to the community by the department (不是路灯，是楼道灯)", None),
        (COMMUNITY, "dispatch", {"department_id": "chengjian"}, "open", "dispatched: sent to 镇城建办", "镇城建办"),
        (DEPARTMENT, "accept", {}, "open", "in_progress: accepted and being handled by 镇城建办", "镇城建办"),
        (DEPARTMENT, "resolve", {"note": "已更换楼道灯"}, "closed", "resolved: 已更换楼道灯", "镇城建办"),
    ]
    moment = NOW
    for who, action, payload, status, notes, agency in steps:
        moment += timedelta(hours=1)
        usecases.act(repo, directory, who, pid, action, payload, moment)
        item = view(repo, pid, moment)
        assert (item["status"], item["agency_responsible"]) == (status, agency), action
        assert item["status_notes"].startswith(notes), item["status_notes"]
        assert item["updated_datetime"] == moment.isoformat(timespec="milliseconds")
        assert (item["expected_datetime"] is None) == (status == "closed")
    assert view(repo, pid, moment)["requested_datetime"] == "2026-11-22T08:00:00.000+00:00"

    # nobody rates an Open311 request: it closes by itself when the rating time runs out
    later = moment + timedelta(hours=169)
    assert usecases.scan_overdue(repo, later) == 1
    item = view(repo, pid, later)
    assert (item["status"], item["status_notes"]) == ("closed", "closed: resolved (已更换楼道灯)")
    assert item["updated_datetime"] == later.isoformat(timespec="milliseconds")


def test_overdue_and_duplicates_show_in_the_notes(repo):
    first = file(repo)[0]["_id"]
    second = file(repo, email="bob@example.com")[0]["_id"]
    assert view(repo, first, NOW + timedelta(hours=25))["status_notes"].endswith("; overdue")
    usecases.act(repo, Directory(), LEADER, second, "merge", {"into": first}, NOW + timedelta(hours=1))
    item = view(repo, second, NOW + timedelta(hours=2))
    assert item["status"] == "closed"
    assert item["status_notes"] == f"closed: duplicate of {first}, which is submitted at grid level"


def test_only_open311_requests_of_the_jurisdiction_are_shown(repo):
    mine = file(repo)[0]["_id"]
    platform = usecases.submit(repo, Directory(), OWNER, {"category": "streetlight", "title": "平台上报"}, NOW)[0]
    listed = conforms(open311.requests(repo, Directory(), READER, {}, NOW))
    assert [r["service_request_id"] for r in listed] == [mine]
    assert open311.requests(repo, Directory(), READER, {"service_request_id": platform["_id"]}, NOW) == []
    assert open311.requests(repo, Directory(), QJ_READER, {"service_request_id": mine}, NOW) == []
    for who in (OWNER, COMMUNITY, AuthContext()):
        with pytest.raises((Forbidden, Unauthorized)):
            open311.requests(repo, Directory(), who, {}, NOW)


def test_the_filters_of_get_requests(repo):
    day = timedelta(days=1)
    old = file(repo, now=NOW - 100 * day)[0]["_id"]
    slope = file(repo, {"service_code": "slope", "address_id": "b27"}, now=NOW - 10 * day)[0]["_id"]
    light = file(repo, now=NOW - day)[0]["_id"]
    usecases.act(repo, Directory(), LEADER, light, "claim", {}, NOW - day)
    usecases.act(repo, Directory(), LEADER, light, "resolve", {"note": "修好了"}, NOW - day)

    def ids(**query):
        return [r["service_request_id"] for r in conforms(open311.requests(repo, Directory(), READER, query, NOW))]

    assert ids() == [light, slope]                                   # the most recent 90 days, newest first
    assert ids(service_code="slope") == [slope]
    assert ids(service_code="slope,streetlight") == [light, slope]
    assert ids(status="open") == [slope] and ids(status="closed") == [light]
    assert ids(status="open,closed") == [light, slope]
    assert ids(start_date=(NOW - 101 * day).isoformat()) == [old]   # start_date alone: the 90 days after it
    assert ids(end_date=(NOW - 50 * day).isoformat()) == [old]      # end_date alone: the 90 days before it
    assert ids(start_date=(NOW - 11 * day).isoformat(), end_date=(NOW - 9 * day).isoformat()) == [slope]
    assert ids(service_request_id=f"{old}, {light}", status="open") == [light, old]   # overrides the rest
    for query, parameter in [
        ({"start_date": (NOW - 95 * day).isoformat(), "end_date": NOW.isoformat()}, "end_date"),
        ({"start_date": NOW.isoformat(), "end_date": (NOW - day).isoformat()}, "end_date"),
        ({"start_date": "2026-11-01T00:00:00"}, "start_date"),       # the standard's w3 format needs an offset
        ({"status": "pending"}, "status"),
    ]:
        with pytest.raises(Invalid) as err:
            open311.requests(repo, Directory(), READER, query, NOW)
        assert parameter in err.value.errors


# -- over the broker ------------------------------------------------------------------

def test_the_rpcs_file_and_read_over_the_broker(container_factory, service_config):
    container = container_factory(PetitionsService, service_config)
    grid = replace_dependencies(container, "grid")
    directory = Directory()
    for name in ("locate_building", "list_categories", "get_department", "match_building", "list_departments"):
        getattr(grid, name).side_effect = getattr(directory, name)
    container.start()
    client = {"auth_token": issue_token("open311:hotline", "hb", ["open311_client"], name="河边镇12345热线")[0]}
    reader = {"auth_token": issue_token("open311:public", "hb", ["open311_reader"])[0]}
    with entrypoint_hook(container, "open311_submit", context_data=client) as submit:
        receipt = submit(dict(STREETLIGHT))
    with entrypoint_hook(container, "open311_requests", context_data=reader) as read:
        [item] = conforms(read({"service_request_id": receipt["service_request_id"]}))
    assert item["status"] == "open" and item["address_id"] == "b28"
    with entrypoint_hook(container, "open311_submit", context_data=reader) as submit:
        with pytest.raises(Forbidden):
            submit(dict(STREETLIGHT))
