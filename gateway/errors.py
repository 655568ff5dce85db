"""One error shape for every failure: ``{code, status, message, errors}``."""
import logging

from flask import jsonify
from werkzeug.http import HTTP_STATUS_CODES

from civicgrid.errors import CivicGridError

from .rpc import ServiceFailed, ServiceUnavailable

log = logging.getLogger(__name__)


def _as_lists(errors):
    """Every field maps to a list of messages, whichever service or library produced them."""
    return {field: (value if isinstance(value, (list, dict)) else [value])
            for field, value in (errors or {}).items()}


def error_response(code, message, errors=None, headers=None):
    body = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"),
            "message": message, "errors": _as_lists(errors)}
    return jsonify(body), code, headers or {}


def flatten_locations(messages):
    """webargs nests errors by location ({"json": {"title": [...]}}): name the fields directly."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    flat = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def describe(errors):
    return "invalid input: " + ", ".join(sorted(str(k) for k in errors)) if errors else None


def handle_http_exception(error):
    data = getattr(error, "data", None) or {}
    errors = flatten_locations(data["messages"]) if "messages" in data else {}
    message = data.get("message") or describe(errors) or error.description or error.name
    return error_response(error.code, message, errors, data.get("headers"))


def register(app):
    @app.errorhandler(413)
    def too_large(err):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return error_response(413, f"the request body is larger than {limit // 1024} KiB",
                              {"body": f"at most {limit // 1024} KiB; send photos as URLs"})

    @app.errorhandler(CivicGridError)
    def civicgrid_error(err):
        return error_response(err.status, err.message, err.errors)

    @app.errorhandler(ServiceUnavailable)
    def unavailable(err):
        return error_response(503, str(err), headers={"Retry-After": "5"})

    @app.errorhandler(ServiceFailed)
    def failed(err):
        return error_response(500, str(err))

    @app.errorhandler(Exception)
    def unexpected(err):
        log.exception("unhandled error")
        return error_response(500, "internal error: it has been logged")
