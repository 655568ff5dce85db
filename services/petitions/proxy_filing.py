"""代办: a grid worker files a petition for a household they visit (民事代办员).

The grid service's visit log calls ``submit_for_household`` with the visitor's own token
when a visit finds something to fix (a broken stair light at an 85-year-old's door). The
petition is the household's, filed like any other through ``usecases.submit``:

- for a member with an account (``resident_id``, a resident of the district): they follow
  it, hear of it and rate it, exactly as if they had filed it themselves;
- for a household without one (an elderly person with no phone): the visitor follows it for
  them; nobody can rate it, so it closes by itself once resolved and unrated.

Who may: building leaders, grid workers, grid leaders and community staff, for a building in
their own area. The petition records who filed it (``filed_by``) and for which household,
and its first timeline entry names the visitor in their role.
"""
from marshmallow import fields, validate

from civicgrid.auth import AuthContext
from civicgrid.errors import Forbidden, Invalid, NotFound
from civicgrid.validation import load, schema

from . import domain, usecases
from .schemas import SubmitSchema

FILERS = domain.GRID_ROLES + domain.COMMUNITY_ROLES


class ProxySubmitSchema(SubmitSchema):
    building_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    household_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    resident_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))


class _Filed:
    """The repository, recording who filed the petition it stores (still one insert)."""

    def __init__(self, repo, filed_by, household_id):
        self._repo = repo
        self._filed_by = filed_by
        self._household_id = household_id

    def add(self, petition, events):
        # in place: ``usecases.submit`` answers with the very document it stored
        petition["timeline"][0] = dict(petition["timeline"][0], actor=self._filed_by["id"], role=self._filed_by["role"])
        petition.update(filed_by=self._filed_by, household_id=self._household_id)
        self._repo.add(petition, events)

    def __getattr__(self, name):
        return getattr(self._repo, name)


def _resident(directory, auth, resident_id, building_id):
    if resident_id is None:
        return AuthContext(user_id=auth.user_id, district=auth.district, roles=("resident",), scope=building_id,
                           name=auth.name, community=auth.community)
    try:
        profile = directory.user_profile(auth.district, resident_id)
    except NotFound:
        profile = None
    if profile is None or "resident" not in (profile.get("roles") or ()):
        raise Invalid("unknown resident", {"resident_id": [f"{resident_id!r} is not a resident of this district"]})
    return AuthContext(user_id=profile["user_id"], district=auth.district, roles=("resident",),
                       scope=profile.get("scope"), name=profile.get("name"), community=profile.get("community"))


def submit_for_household(repo, directory, auth, payload, now, idempotency_key=None):
    """File a petition for a household in my area; returns ``(petition, duplicates)``."""
    auth.require()
    if auth.is_system or not auth.has(*FILERS):
        raise Forbidden("building leaders, grid workers and community staff file petitions for households")
    fields_ = load(schema(ProxySubmitSchema), payload)
    try:
        location = directory.locate_building(auth.district, fields_["building_id"])
    except NotFound:
        raise Invalid("unknown building", {"building_id": [f"no building {fields_['building_id']!r} in this district"]})
    if not auth.scope or auth.scope not in location["path"]:
        raise Forbidden("only for a household in your own area")
    resident = _resident(directory, auth, fields_["resident_id"], location["building_id"])
    role = next(r for r in auth.roles if r in FILERS)
    filed_by = {"id": auth.user_id, "name": auth.name, "role": role}
    body = {k: v for k, v in fields_.items() if k not in ("household_id", "resident_id")}
    return usecases.submit(_Filed(repo, filed_by, fields_["household_id"]), directory, resident, body, now,
                           idempotency_key=idempotency_key)
