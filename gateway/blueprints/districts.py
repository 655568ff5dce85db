"""Districts (the tenants): creation, one-document set-up, catalogue, point rules, ledger check."""
from flask_smorest import Blueprint

from services.grid.schemas import DepartmentOut as DepartmentSchema
from services.grid.schemas import DistrictIn, DistrictOut
from services.petitions.schemas import TimeLimitsSchema
from services.points.schemas import LedgerCheckSchema
from services.points.schemas import RulesSchema as PointRulesSchema

from ..schemas import ImportResultSchema, ImportSchema
from ..security import BEARER, authenticated, call

blp = Blueprint("districts", __name__, url_prefix="/api/v1/districts",
                description="Districts and their set-up")


@blp.route("", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(DistrictIn)
@blp.response(201, DistrictOut)
@authenticated
def create(district):
    """Create a district (platform administrator)."""
    return call("grid", "create_district", district["code"], district["name"])


@blp.route("/<code>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, DistrictOut)
@authenticated
def get(code):
    return call("grid", "get_district", code)


@blp.route("/<code>/import", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ImportSchema)
@blp.response(200, ImportResultSchema)
@authenticated
def import_(document, code):
    """Set up a district's hierarchy, departments and people in one document; all or nothing."""
    return call("grid", "import_district", code, document)


@blp.route("/<code>/departments", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, DepartmentSchema(many=True))
@authenticated
def departments(code):
    return call("grid", "list_departments", code)


@blp.route("/<code>/point-rules", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, PointRulesSchema)
@authenticated
def get_point_rules(code):
    return call("points", "get_rules", code)


@blp.route("/<code>/point-rules", methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(PointRulesSchema)
@blp.response(200, PointRulesSchema)
@authenticated
def set_point_rules(rules, code):
    """Change how many points closing a petition earns; past entries are never rewritten."""
    return call("points", "set_rules", code, rules)


@blp.route("/<code>/ledger/check", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, LedgerCheckSchema)
@authenticated
def check_ledger(code):
    """Verify that the district's ledger sums to zero and no account is overdrawn."""
    return call("points", "check_ledger", code)


@blp.route("/<code>/time-limits", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, TimeLimitsSchema)
@authenticated
def get_time_limits(code):
    """Hours each level has before the system whistles the petition up or warns the level above."""
    return call("petitions", "get_time_limits", code)


@blp.route("/<code>/time-limits", methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(TimeLimitsSchema)
@blp.response(200, TimeLimitsSchema)
@authenticated
def set_time_limits(limits, code):
    """Change some time limits (district admin); petitions already waiting keep their deadline."""
    return call("petitions", "set_time_limits", code, limits)
