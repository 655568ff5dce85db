"""The gateway's Flask app factory: ``create_app(config)``."""
import atexit

import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask_smorest import Api

from civicgrid import config as settings
from civicgrid import idempotency_keys, logs

from . import console, errors, limits, observability
from .blueprints import ALL, HEALTH
from .open311 import bp as OPEN311
from .rpc import RpcPool

SWAGGER_ASSETS = "/api/v1/_swagger/"


class CivicGridApi(Api):
    """flask-smorest with the platform's one error shape."""

    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


def defaults():
    return {
        "API_TITLE": "CivicGrid",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": SWAGGER_ASSETS,
        "API_SPEC_OPTIONS": {
            "info": {"description": "Community grid governance: petitions, 吹哨报到, points, notices."},
            "components": {"securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        },
        "AMQP_URI": settings.amqp_uri(),
        "RPC_TIMEOUT": settings.rpc_timeout(),
        "JSON_AS_ASCII": False,
        # No command needs more: photos travel as URLs. Larger bodies get 413 before anything reads them.
        "MAX_CONTENT_LENGTH": 256 * 1024,
    }


def _document_idempotency_key(api):
    api.spec.components.parameter("IdempotencyKey", "header", {
        "name": idempotency_keys.HEADER, "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": idempotency_keys.MAX_LENGTH},
        "description": "Send a new random key with each command and the same key when you retry it after a "
                       "timeout: the command runs once and the retry gets the first answer (kept 24 h). "
                       "The same key with a different body is refused (422)."})
    for operations in api.spec._paths.values():
        if "post" in operations:
            operations["post"].setdefault("parameters", []).append(
                {"$ref": "#/components/parameters/IdempotencyKey"})


def create_app(config=None):
    logs.configure("gateway")   # JSON lines; under gunicorn its logconfig_dict did it already
    app = Flask(__name__)
    app.config.update(defaults())
    app.config.update(config or {})
    app.config.setdefault("ADMIN_CREDENTIALS", settings.admin_credentials())
    app.json.ensure_ascii = False
    observability.init(app)   # first: it times every request and gives each its correlation id

    rpc = RpcPool(app.config["AMQP_URI"], app.config["RPC_TIMEOUT"])
    health_rpc = RpcPool(app.config["AMQP_URI"], 3)
    app.extensions["civicgrid_rpc"] = rpc
    app.extensions["civicgrid_health_rpc"] = health_rpc
    atexit.register(rpc.close)
    atexit.register(health_rpc.close)

    api = CivicGridApi(app)
    for blp in ALL:
        api.register_blueprint(blp)
    _document_idempotency_key(api)
    app.register_blueprint(HEALTH)
    app.register_blueprint(OPEN311)  # Open311 GeoReport v2 at /open311/v2, its own error format
    app.register_blueprint(console.bp)  # the web console at /: static files, talks only to the API
    errors.register(app)
    limits.init(app)

    @app.route(SWAGGER_ASSETS + "<path:filename>")
    def swagger_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    return app
