"""My points (积分)."""
from flask_smorest import Blueprint

from services.points.schemas import StatementSchema as PointsSchema

from ..security import BEARER, authenticated, call

blp = Blueprint("points", __name__, url_prefix="/api/v1/points", description="Points (积分)")


@blp.route("/me", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, PointsSchema)
@authenticated
def mine():
    """My balance and statement, newest first."""
    return call("points", "my_points")
