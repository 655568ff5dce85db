"""Micro-project rules without storage: every step and who takes it, support and comment rules, budgets,
the request schemas, and the petition transition a finished project makes."""
from decimal import Decimal

import pytest

from civicgrid.errors import Conflict, Forbidden, Invalid
from civicgrid.validation import load
from services.petitions import domain, projects
from services.petitions.project_schemas import CreateProjectSchema, TransitionSchema, UpdateProjectSchema

from .test_domain import (ADMIN, COMMUNITY, DEPARTMENT, GRID_WORKER, LEADER, NEIGHBOUR, NOW, OTHER_COMMUNITY,
                          OTHER_LEADER, OWNER, PARTY, STATES, person)
from .test_domain import petition_in as make_petition

OTHER_ADMIN = person("qjadmin", "district_admin", scope="qj", district="qj")


def project(status="proposed", budget_fen=360050, sponsor="镇城建办", buildings=("b28",)):
    paths = {b: ["hb", "hebian", "wenchang", "wenchang-g1", b] for b in buildings}
    return {"_id": "hb-p0001", "district": "hb", "community": "wenchang", "path": ["hb", "hebian", "wenchang"],
            "title": "28栋楼道声控灯改造", "status": status, "budget_fen": budget_fen, "sponsor": sponsor,
            "buildings": sorted(paths), "building_paths": paths, "nodes": projects.nodes_of(paths),
            "petition_ids": ["hb-000001"], "timeline": [], "version": 3, "supporters": 0}


STEPS = [(before, after) for after, befores in projects.TRANSITIONS.items() for before in befores]


@pytest.mark.parametrize("before,after", STEPS)
def test_each_step_from_where_it_may_start(before, after):
    who = ADMIN if after == "approved" else COMMUNITY
    move = projects.move(who, project(before), after, "备注")
    assert (move.status, move.updates, move.event_type) == (after, {"status": after}, projects.EVENT_OF[after])
    moved = projects.apply_move(project(before), move, who.user_id, NOW)
    assert moved["status"] == after and moved[projects.STAMP_OF[after]] == NOW and moved["version"] == 4
    assert moved["timeline"][-1] == {"action": projects.ACTION_OF[after], "actor": who.user_id,
                                     "role": move.role, "at": NOW, "note": "备注"}


@pytest.mark.parametrize("before", projects.STATUSES)
@pytest.mark.parametrize("after", list(projects.TRANSITIONS))
def test_every_other_step_is_a_conflict(before, after):
    if (before, after) in STEPS:
        return
    with pytest.raises(Conflict):
        projects.move(ADMIN, project(before), after, None)


@pytest.mark.parametrize("who", [OWNER, LEADER, GRID_WORKER, DEPARTMENT, PARTY])
def test_people_who_run_no_project_are_refused_before_the_status_is_looked_at(who):
    with pytest.raises(Forbidden):
        projects.move(who, project("done"), "approved", None)


def test_approval_is_the_district_admins_and_needs_a_budget_and_a_sponsor():
    with pytest.raises(Forbidden):
        projects.move(COMMUNITY, project(), "approved", None)
    with pytest.raises(Forbidden):
        projects.move(OTHER_ADMIN, project(), "approved", None)
    with pytest.raises(Conflict) as err:
        projects.move(ADMIN, project(budget_fen=None, sponsor=None), "approved", None)
    assert set(err.value.errors) == {"budget", "sponsor"}
    assert projects.move(ADMIN, project(budget_fen=0), "approved", None).role == "district_admin"


def test_only_the_projects_own_community_moves_it():
    with pytest.raises(Forbidden):
        projects.move(OTHER_COMMUNITY, project("approved"), "in_progress", None)
    assert projects.move(COMMUNITY, project("approved"), "in_progress", None).role == "community_staff"
    assert projects.move(ADMIN, project("approved"), "in_progress", None).role == "district_admin"


def test_editing():
    assert projects.may_edit(COMMUNITY, project(), {"budget": Decimal(1)}) == "community_staff"
    with pytest.raises(Forbidden) as err:
        projects.may_edit(COMMUNITY, project("approved"), {"budget": Decimal(1), "sponsor": "x", "title": "t"})
    assert set(err.value.errors) == {"budget", "sponsor"}
    assert projects.may_edit(COMMUNITY, project("in_progress"), {"title": "t"}) == "community_staff"
    assert projects.may_edit(ADMIN, project("approved"), {"budget": Decimal(1)}) == "district_admin"
    for status in ("done", "cancelled"):
        with pytest.raises(Conflict):
            projects.may_edit(ADMIN, project(status), {"title": "t"})
    with pytest.raises(Forbidden):
        projects.may_edit(LEADER, project(), {"title": "t"})


@pytest.mark.parametrize("status", projects.OPEN_STATUSES)
def test_residents_of_affected_buildings_support_while_it_is_open(status):
    assert projects.may_support(OWNER, project(status)) == "b28"
    with pytest.raises(Forbidden):
        projects.may_support(NEIGHBOUR, project(status))            # lives in b29
    assert projects.may_support(NEIGHBOUR, project(status, buildings=("b28", "b29"))) == "b29"


@pytest.mark.parametrize("who", [LEADER, COMMUNITY, ADMIN, DEPARTMENT])
def test_only_residents_support(who):
    with pytest.raises(Forbidden):
        projects.may_support(who, project())


@pytest.mark.parametrize("status", ["done", "cancelled"])
def test_a_closed_project_takes_no_support(status):
    with pytest.raises(Conflict):
        projects.may_support(OWNER, project(status))


def test_who_comments():
    p = project()
    assert [projects.may_comment(w, p) for w in (OWNER, LEADER, GRID_WORKER, COMMUNITY, ADMIN)] == [
        "resident", "building_leader", "grid_worker", "community_staff", "district_admin"]
    for who in (NEIGHBOUR, OTHER_LEADER, OTHER_COMMUNITY, DEPARTMENT):
        with pytest.raises(Forbidden):
            projects.may_comment(who, p)


def test_resolving_together_waits_for_done_and_the_community():
    with pytest.raises(Conflict):
        projects.may_resolve_petitions(COMMUNITY, project("in_progress"))
    with pytest.raises(Forbidden):
        projects.may_resolve_petitions(OTHER_COMMUNITY, project("done"))
    with pytest.raises(Forbidden):
        projects.may_resolve_petitions(OWNER, project("done"))
    assert projects.may_resolve_petitions(COMMUNITY, project("done")) == "community_staff"


def test_budgets_are_integer_fen():
    assert [projects.to_fen(Decimal(v)) for v in ("0", "3600.5", "3600.50", "0.01", "100000000")] == [
        0, 360050, 360050, 1, 10_000_000_000]
    assert [projects.yuan_text(f) for f in (0, 360050, 1, None)] == ["0.00", "3600.50", "0.01", None]
    assert projects.to_fen(None) is None


@pytest.mark.parametrize("budget,fen", [(0, 0), (3600.5, 360050), ("3600.50", 360050), ("12", 1200), ("1.230", 123),
                                        ("1E+3", 100000), (None, None)])
def test_a_budget_is_a_number_or_a_string_of_yuan(budget, fen):
    loaded = load(CreateProjectSchema(), {"title": "t", "petition_ids": ["hb-000001"], "budget": budget})
    assert projects.to_fen(loaded["budget"]) == fen


@pytest.mark.parametrize("budget", [-1, "-0.01", "1.005", "abc", "Infinity", "NaN", True, "100000000.01", "1e999999",
                                    "-1e-999999", 1e308])
def test_a_bad_budget_is_named(budget):
    with pytest.raises(Invalid) as err:
        load(CreateProjectSchema(), {"title": "t", "petition_ids": ["hb-000001"], "budget": budget})
    assert list(err.value.errors) == ["budget"]


def test_request_schemas():
    with pytest.raises(Invalid) as err:
        load(CreateProjectSchema(), {"title": "t", "petition_ids": [f"hb-{i:06d}" for i in range(201)]})
    assert "petition_ids" in err.value.errors
    with pytest.raises(Invalid) as err:
        load(TransitionSchema(), {"status": "cancelled", "note": "  "})
    assert "note" in err.value.errors
    assert load(UpdateProjectSchema(), {"budget": None}) == {"budget": None}
    with pytest.raises(Invalid) as err:
        load(UpdateProjectSchema(), {"buildings": []})
    assert "buildings" in err.value.errors


# -- the petition side: resolve_for_project -----------------------------------------------------

RESOLVABLE = {"submitted@party", "in_progress@party", "submitted@grid", "in_progress@grid", "escalated@community",
              "in_progress@community"}


@pytest.mark.parametrize("state", list(STATES))
def test_a_finished_project_resolves_what_waits_at_the_community_or_below(state):
    petition = make_petition(state)
    if state in RESOLVABLE:
        change = domain.resolve_for_project(COMMUNITY, petition, project("done"), "已更换声控灯")
        assert change.event_type == "petition_resolved" and change.role == "community_staff"
        assert change.updates["project_id"] == "hb-p0001" and change.updates["resolution"] == "已更换声控灯"
        assert "hb-p0001" in change.note and change.extra["project_id"] == "hb-p0001"
    else:
        with pytest.raises(Conflict):
            domain.resolve_for_project(COMMUNITY, petition, project("done"), "已更换声控灯")


def test_resolve_for_project_checks_who():
    petition = make_petition("submitted@grid")
    with pytest.raises(Forbidden):
        domain.resolve_for_project(OTHER_COMMUNITY, petition, project("done"), "x")
    with pytest.raises(Forbidden):
        domain.resolve_for_project(LEADER, petition, project("done"), "x")
    assert domain.resolve_for_project(ADMIN, petition, project("done"), "x").role == "district_admin"
