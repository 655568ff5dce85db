"""The grid's answers a submit needs, kept a few seconds per process; a new category is asked for again."""
import copy

import pytest

from civicgrid.cache import TtlCache
from civicgrid.errors import Invalid, NotFound
from services.petitions import usecases
from services.petitions.dependencies import GridDirectory
from services.petitions.repository import PetitionRepository, create_indexes

from .fakes import FakeDirectory
from .test_domain import OWNER


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class CountingGrid:
    """Stands where the RPC proxy stands, answering as the grid would, and counts the calls."""

    def __init__(self):
        self.directory = FakeDirectory()
        self.categories = copy.deepcopy(self.directory.list_categories("hb"))
        self.calls = []

    def locate_building(self, district, building_id):
        self.calls.append(("locate_building", district, building_id))
        return self.directory.locate_building(district, building_id)

    def list_categories(self, district):
        self.calls.append(("list_categories", district))
        return copy.deepcopy(self.categories) if district == "hb" else []

    def get_department(self, district, department_id):
        self.calls.append(("get_department", district, department_id))
        return self.directory.get_department(district, department_id)


@pytest.fixture
def repo(open_db):
    db = open_db("petitions")
    create_indexes(db)
    return PetitionRepository(db)


def body(category="streetlight"):
    return {"category": category, "title": "28栋路灯不亮", "description": "楼道口路灯坏了三天"}


def test_answers_are_kept_for_the_period_then_asked_again():
    grid, clock = CountingGrid(), Clock()
    directory = GridDirectory(grid, TtlCache(5, clock=clock))
    for _ in range(3):
        assert directory.locate_building("hb", "b28")["community"] == "wenchang"
        assert [c["category"] for c in directory.list_categories("hb")][0] == "streetlight"
    assert grid.calls == [("locate_building", "hb", "b28"), ("list_categories", "hb")]
    clock.now += 5.1
    directory.locate_building("hb", "b28")
    directory.list_categories("hb")
    assert len(grid.calls) == 4


def test_each_district_and_building_has_its_own_entry_and_errors_are_not_kept():
    grid = CountingGrid()
    directory = GridDirectory(grid, TtlCache(5))
    directory.locate_building("hb", "b28")
    directory.locate_building("hb", "b29")
    assert directory.list_categories("qj") == []
    for _ in range(2):
        with pytest.raises(NotFound):
            directory.locate_building("hb", "b99")
    assert [c[2] if c[0] == "locate_building" else c[1] for c in grid.calls] == ["b28", "b29", "qj", "b99", "b99"]


def test_without_a_cache_every_question_goes_to_the_grid():
    grid = CountingGrid()
    directory = GridDirectory(grid)
    directory.list_categories("hb")
    directory.list_categories("hb")
    directory.get_department("hb", "chengjian")
    directory.get_department("hb", "chengjian")
    assert len(grid.calls) == 4


def test_a_submit_asks_the_grid_once_per_period(repo):
    grid = CountingGrid()
    directory = GridDirectory(grid, TtlCache(5))
    for _ in range(4):
        usecases.submit(repo, directory, OWNER, body())
    assert grid.calls == [("locate_building", "hb", "b28"), ("list_categories", "hb")]


def test_a_category_defined_after_the_list_was_kept_is_accepted_at_once(repo):
    grid = CountingGrid()
    directory = GridDirectory(grid, TtlCache(60))
    usecases.submit(repo, directory, OWNER, body())
    grid.categories.append({"category": "noise", "name": "噪音", "department_id": "zonghe", "department_name": "镇综治办",
                            "kind": "issue", "fields": []})
    petition, _ = usecases.submit(repo, directory, OWNER, body("noise"))
    assert petition["category"] == "noise"
    with pytest.raises(Invalid) as refused:
        usecases.submit(repo, directory, OWNER, body("ufo"))
    assert list(refused.value.errors) == ["category"] and "noise" in refused.value.errors["category"][0]
    assert grid.calls.count(("list_categories", "hb")) == 3  # the first, then one fresh look per unknown code
