"""Errors that cross service boundaries.

Registered with nameko's ``deserialize_to_instance`` so that a service raising
``NotFound`` makes the gateway's RPC call raise ``NotFound`` too, and the
gateway maps each class to one HTTP status in one place.
"""
from nameko.exceptions import deserialize_to_instance


class CivicGridError(Exception):
    status = 500
    code = "error"

    def __init__(self, message, errors=None):
        super().__init__(message, errors or {})
        self.message = message
        self.errors = errors or {}

    def __str__(self):
        return self.message


@deserialize_to_instance
class Invalid(CivicGridError):
    """Input that cannot be accepted; ``errors`` maps each field to its problem."""
    status = 422
    code = "invalid"


@deserialize_to_instance
class Unauthorized(CivicGridError):
    status = 401
    code = "unauthorized"


@deserialize_to_instance
class Forbidden(CivicGridError):
    status = 403
    code = "forbidden"


@deserialize_to_instance
class NotFound(CivicGridError):
    status = 404
    code = "not_found"


@deserialize_to_instance
class Conflict(CivicGridError):
    """The request is valid but the current state does not allow it."""
    status = 409
    code = "conflict"


@deserialize_to_instance
class Locked(CivicGridError):
    """An account locked for a while after repeated failed sign-ins."""
    status = 423
    code = "locked"


EXPECTED = (Invalid, Unauthorized, Forbidden, NotFound, Conflict, Locked)
