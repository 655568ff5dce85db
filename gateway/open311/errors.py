"""The standard's error format: ``errors`` of ``error`` {code, description}, in the request's format.

Status codes as the standard names them: 404 for what does not exist (an unknown
jurisdiction_id, service_code or service_request_id), 403 for a missing, invalid or
revoked api_key or one of another jurisdiction, 400 for anything else the request
cannot get (a missing argument, a bad attribute, no location) — including, as the
standard says, a failure of the service itself ("General Service error"), which
is logged here and where it happened.
"""
import logging

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from civicgrid.errors import CivicGridError, Conflict, Forbidden, Invalid, NotFound, Unauthorized

from ..rpc import ServiceFailed, ServiceUnavailable
from .render import respond

log = logging.getLogger(__name__)

GENERAL = "General Service error"


class Open311Error(Exception):
    """An answer in the standard's error format: ``status`` and one error per description."""

    def __init__(self, status, *descriptions, headers=None):
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions or ("error",)
        self.headers = headers or {}


def _messages(value):
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _messages(v)]
    return [str(value)]


def describe(err):
    """One description per parameter the platform named, ``"attribute[hospital]: required: 医院"``."""
    named = [f"{field}: {'; '.join(_messages(messages))}" for field, messages in (err.errors or {}).items()
             if field != "_schema"]
    named += _messages(err.errors.get("_schema", [])) if isinstance(err.errors, dict) else []
    return named or [err.message]


def from_platform(err):
    """The Open311 error for an error a service raised."""
    if isinstance(err, Invalid):
        return Open311Error(400, *describe(err))
    if isinstance(err, NotFound):
        return Open311Error(404, err.message)
    if isinstance(err, (Forbidden, Unauthorized)):
        return Open311Error(403, err.message)
    if isinstance(err, Conflict):
        return Open311Error(400, err.message)
    return Open311Error(400, f"{GENERAL}: {err.message}")


def requested_format():
    fmt = g.get("open311_format")
    if fmt:
        return fmt
    return "json" if request.path.endswith(".json") else "xml"


def error_response(err):
    body = [{"code": err.status, "description": description} for description in err.descriptions]
    return respond(requested_format(), "errors", body, err.status, err.headers)


def register(bp):
    @bp.errorhandler(Open311Error)
    def open311_error(err):
        return error_response(err)

    @bp.errorhandler(CivicGridError)
    def platform_error(err):
        return error_response(from_platform(err))

    @bp.errorhandler(ServiceUnavailable)
    def unavailable(err):
        return error_response(Open311Error(400, f"{GENERAL}: {err}", headers={"Retry-After": "5"}))

    @bp.errorhandler(ServiceFailed)
    def failed(err):
        return error_response(Open311Error(400, f"{GENERAL}: {err}; it has been logged, tell the district"))

    @bp.errorhandler(413)   # by code: the app's own 413 handler would win over a class-based one
    def too_large(err):
        limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024
        return error_response(Open311Error(400, f"the request is larger than {limit} KiB: send media as media_url"))

    @bp.errorhandler(HTTPException)
    def http_error(err):
        status = err.code if err.code in (403, 404, 405) else 400
        return error_response(Open311Error(status, err.description or err.name, headers=dict(
            (k, v) for k, v in err.get_headers() if k.lower() == "allow")))

    @bp.errorhandler(Exception)
    def unexpected(err):
        log.exception("Open311: unhandled error")
        return error_response(Open311Error(400, f"{GENERAL}: the request could not be handled; it has been "
                                                "logged, tell the district"))
