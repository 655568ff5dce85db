"""代办: a grid worker files a petition for a household on a visit; it is the household's petition."""
import pytest

from civicgrid.errors import Forbidden, Invalid, NotFound
from services.petitions import domain, proxy_filing
from services.petitions.repository import PetitionRepository, create_indexes

from .fakes import FakeDirectory
from .test_domain import GRID_WORKER, NEIGHBOUR, OTHER_LEADER, OWNER, person

PROFILES = {
    "wenxiaohua": {"user_id": "wenxiaohua", "name": "文小华", "roles": ["resident"], "scope": "b28",
                   "community": "wenchang", "department": None},
    "daiyunzhong": {"user_id": "daiyunzhong", "name": "代云中", "roles": ["building_leader"], "scope": "b28",
                    "community": "wenchang", "department": None},
}


class People(FakeDirectory):
    def user_profile(self, district, user_id):
        if district != "hb" or user_id not in PROFILES:
            raise NotFound("no such user")
        return PROFILES[user_id]


@pytest.fixture
def repo(open_db):
    db = open_db("petitions")
    create_indexes(db)
    return PetitionRepository(db)


def file(repo, auth, **fields):
    body = {"category": "streetlight", "title": "28栋2单元楼道灯不亮", "building_id": "b28",
            "household_id": "b28-2-402", "resident_id": "wenxiaohua"}
    body.update(fields)
    return proxy_filing.submit_for_household(repo, People(), auth, body, now=None)[0]


def test_a_petition_filed_for_a_member_is_theirs_to_follow_and_rate(repo):
    petition = file(repo, GRID_WORKER, attributes={"location_type": "stairwell"})
    assert (petition["resident_id"], petition["household_id"], petition["level"]) == ("wenxiaohua", "b28-2-402", "grid")
    assert petition["filed_by"] == {"id": "limin", "name": None, "role": "grid_worker"}
    assert [(e["action"], e["actor"], e["role"]) for e in petition["timeline"]] == [("submit", "limin", "grid_worker")]
    stored = repo.collection.find_one({"_id": petition["_id"]})
    assert stored["filed_by"]["id"] == "limin"
    (event,) = stored["outbox"]
    assert event["data"]["resident_id"] == "wenxiaohua" and event["actor"] == {"id": "wenxiaohua", "role": "resident"}
    assert domain.can_view(OWNER, stored) and not domain.can_view(NEIGHBOUR, stored)


def test_without_an_account_in_the_household_the_visitor_follows_it(repo):
    petition = file(repo, GRID_WORKER, resident_id=None)
    assert petition["resident_id"] == "limin" and petition["filed_by"]["role"] == "grid_worker"


def test_only_staff_of_the_area_file_for_a_resident_of_the_district(repo):
    with pytest.raises(Forbidden):
        file(repo, OWNER)  # a resident files their own petitions
    with pytest.raises(Forbidden):
        file(repo, OTHER_LEADER)  # 27栋's leader, for a household of 28栋
    with pytest.raises(Forbidden):
        file(repo, person("zhaoshuji", "community_staff", scope="yanjinghe"))
    with pytest.raises(Invalid) as err:
        file(repo, GRID_WORKER, resident_id="daiyunzhong")  # not a resident
    assert list(err.value.errors) == ["resident_id"]
    with pytest.raises(Invalid) as err:
        file(repo, GRID_WORKER, household_id="", title="", building_id="b99")
    assert {"household_id", "title"} <= set(err.value.errors)
    with pytest.raises(Invalid) as err:
        file(repo, GRID_WORKER, building_id="b99")
    assert list(err.value.errors) == ["building_id"]
    assert repo.collection.count_documents({}) == 0
