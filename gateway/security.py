"""Bearer tokens: checked here for a fast 401, and again by every service."""
import functools

from flask import g, request

from civicgrid import correlation, idempotency_keys
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
                                                        idempotency_key=key, origin=origin(), **kwargs)


def origin():
    """Where the request came from, for the services' audit trail: the address the gateway sees, the
    user agent, and the request's correlation id (the client's X-Request-ID if it sent a usable one)."""
    return {"channel": "http", "ip": request.remote_addr,
            "user_agent": (request.headers.get("User-Agent") or "")[:200],
            "request_id": correlation.current() or request.headers.get(correlation.HEADER, "")[:100] or None}
