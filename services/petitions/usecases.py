"""The petitions service layer: plain functions over a repository and a directory.

``directory`` answers questions the grid service owns (where is a building,
which departments and categories exist); tests pass a fake, the service a
thin adapter over its RPC proxy.
"""
from civicgrid.errors import Invalid, NotFound
from civicgrid.events import make_event, utcnow
from civicgrid.validation import load

from . import domain
from .schemas import ACTION_SCHEMAS, ListSchema, SubmitSchema


def submit(repo, directory, auth, payload, now=None):
    auth.require("resident")
    now = now or utcnow()
    fields = load(SubmitSchema(), payload)
    building_id = fields["building_id"] or auth.scope
    if not building_id:
        raise Invalid("building_id is required", {"building_id": ["required: you have no home building"]})
    try:
        location = directory.locate_building(auth.district, building_id)
    except NotFound:
        raise Invalid("unknown building", {"building_id": [f"no building {building_id!r} in this district"]})
    catalogue = {c["category"]: c["department_id"] for c in directory.list_categories(auth.district)}
    if fields["category"] not in catalogue:
        known = ", ".join(sorted(catalogue)) or "none yet"
        raise Invalid("unknown category", {"category": [f"unknown category {fields['category']!r}; known: {known}"]})
    seq, petition_id = repo.next_number(auth.district)
    petition = domain.new_petition(auth, petition_id, fields, location, catalogue[fields["category"]], now)
    petition["seq"] = seq
    event = make_event("petition_submitted", auth.district, auth.as_actor("resident"),
                       domain.event_data(petition), occurred_at=now)
    repo.add(petition, event)
    return petition


def _department_for(directory, auth, petition, department_id):
    department_id = department_id or petition.get("suggested_department_id")
    if not department_id:
        raise Invalid("department_id is required", {"department_id": ["required: the catalogue suggests none"]})
    try:
        directory.get_department(auth.district, department_id)
    except NotFound:
        raise Invalid("unknown department", {"department_id": [f"no department {department_id!r} in this district"]})
    return department_id


def act(repo, directory, auth, petition_id, action, payload, now=None):
    if action not in ACTION_SCHEMAS:
        raise NotFound(f"unknown action {action!r}", {"action": [f"one of {', '.join(sorted(ACTION_SCHEMAS))}"]})
    auth.require()
    now = now or utcnow()
    petition = repo.get(auth.district, petition_id)
    fields = load(ACTION_SCHEMAS[action](), payload)
    change = domain.transition(auth, petition, action, fields)
    if action == "dispatch":
        fields["department_id"] = _department_for(directory, auth, petition, fields["department_id"])
        change = domain.transition(auth, petition, action, fields)
    after = domain.apply(petition, change, auth.user_id, now)
    event = make_event(change.event_type, petition["district"], auth.as_actor(change.role),
                       domain.event_data(after, change.extra), occurred_at=now)
    repo.save(petition, after, event)
    return after


def get(repo, auth, petition_id):
    auth.require()
    petition = repo.get(auth.district, petition_id)
    if not domain.can_view(auth, petition):
        raise NotFound("no such petition", {"petition_id": petition_id})
    return petition


def page(repo, auth, query):
    auth.require()
    params = load(ListSchema(), query)
    selector = domain.visibility_filter(auth)
    if params["status"]:
        selector["status"] = params["status"]
    items, total = repo.page(selector, params["page"], params["page_size"])
    return items, total, params
