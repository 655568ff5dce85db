"""Liveness (the process answers) and readiness (every service answers over the broker)."""
from flask import Blueprint, current_app, jsonify

from ..errors import error_response

bp = Blueprint("health", __name__)
SERVICES = ("grid", "petitions", "points", "notify")


@bp.route("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.route("/readyz")
def readyz():
    pool = current_app.extensions["civicgrid_health_rpc"]
    down = {}
    for service in SERVICES:
        try:
            pool.call(None, service, "ping")
        except Exception as err:
            down[service] = [str(err)]
    if down:
        return error_response(503, "not ready: " + ", ".join(sorted(down)), down)
    return jsonify({"status": "ready", "services": list(SERVICES)})
