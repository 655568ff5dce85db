"""Bearer tokens: checked here for a fast 401, and again by every service."""
import functools

from flask import g, request

from civicgrid import idempotency_keys
from civicgrid.auth import decode_token
from civicgrid.errors import Unauthorized

BEARER = [{"bearerAuth": []}]


def authenticated(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("missing bearer token: sign in at POST /api/v1/auth/token")
        g.auth = decode_token(token.strip())
        g.token = token.strip()
        return view(*args, **kwargs)
    return wrapper


def call(service, method, *args, **kwargs):
    """Call a service as the signed-in user, with the request's ``Idempotency-Key`` if it sent one."""
    from flask import current_app
    key = request.headers.get(idempotency_keys.HEADER)
    if key is not None:
        idempotency_keys.check_key(key)
    return current_app.extensions["civicgrid_rpc"].call(g.get("token"), service, method, *args,
                                                        idempotency_key=key, **kwargs)
