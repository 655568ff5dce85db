"""Sign-in: the platform administrator from settings, everyone else from the grid service."""
import hmac

from flask import current_app, g
from flask_smorest import Blueprint

from civicgrid import auth as kit
from civicgrid.auth import PLATFORM_ADMIN
from civicgrid.errors import Unauthorized

from ..schemas import LoginSchema, MeSchema, TokenSchema
from ..security import BEARER, authenticated, call

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign in")


def _platform_admin(username, password):
    admin_user, admin_password = current_app.config["ADMIN_CREDENTIALS"]
    return (hmac.compare_digest(username.encode(), admin_user.encode())
            and hmac.compare_digest(password.encode(), admin_password.encode()))


@blp.route("/token", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, description="wrong username or password")
@blp.alt_response(423, description="locked for 15 minutes after 5 wrong passwords in a row")
@blp.alt_response(429, description="too many sign-ins from this address or for this username (gateway/limits.py)")
def token(credentials):
    """Exchange a username and password for a bearer token."""
    username, password = credentials["username"], credentials["password"]
    if _platform_admin(username, password):
        claims = {"user_id": username, "district": None, "roles": [PLATFORM_ADMIN],
                  "scope": None, "department": None, "name": "平台管理员"}
    else:
        claims = call("grid", "authenticate", username, password)
        if not claims:
            raise Unauthorized("wrong username or password")
    access_token, ttl = kit.issue_token(
        claims["user_id"], claims["district"], claims["roles"], scope=claims.get("scope"),
        department=claims.get("department"), name=claims.get("name"), community=claims.get("community"),
        organisation=claims.get("organisation"))
    return {"access_token": access_token, "token_type": "bearer", "expires_in": ttl}


@blp.route("/me", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, MeSchema)
@authenticated
def me():
    """Who the bearer token says I am."""
    a = g.auth
    return {"user_id": a.user_id, "district": a.district, "roles": list(a.roles),
            "scope": a.scope, "department": a.department, "name": a.name, "community": a.community,
            "organisation": a.organisation}
