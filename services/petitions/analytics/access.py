"""Who sees which figures: the whole district, a subtree, or one department's; never another district's."""
from dataclasses import dataclass

from civicgrid.errors import Forbidden, NotFound

from .. import domain
from . import store

AREA_ROLES = domain.COMMUNITY_ROLES + domain.GRID_ROLES


@dataclass(frozen=True)
class Reach:
    node: str | None = None          # None: the whole district
    department: str | None = None    # None: every department


def reach_of(auth, district):
    """District administrators see the district; community staff and grid roles their area (their scope's
    subtree); department staff their own department; residents, party members and volunteers nothing."""
    auth.require()
    if auth.is_system or auth.is_platform_admin:
        return Reach()
    if auth.district != district:
        raise NotFound(f"no district {district!r}", {"district": [f"{district!r} not found"]})
    if auth.has("district_admin"):
        return Reach()
    if auth.has(*AREA_ROLES) and auth.scope:
        return Reach(node=auth.scope)
    if auth.has(*domain.DEPARTMENT_ROLES) and auth.department:
        return Reach(department=auth.department)
    raise Forbidden("the figures are for district administrators, community staff, grid workers and departments")


def narrow(db, gen, district, reach, params):
    """The node and department a query may ask about; 403 when it reaches outside the caller's area."""
    node = params.get("node") or reach.node or district
    if reach.node and node != reach.node:
        doc = store.node_entry(db, gen, district, node)
        if doc is None or reach.node not in doc["up"]:
            raise Forbidden(f"{node!r} is not within your area", {"node": [f"not under {reach.node!r}"]})
    department = params.get("department")
    if reach.department:
        if department not in (None, reach.department):
            raise Forbidden("department staff see their own department's figures",
                            {"department": [f"yours is {reach.department!r}"]})
        department = reach.department
    return node, department
