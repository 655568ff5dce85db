"""Rate limits (Flask-Limiter) on the endpoints worth attacking: sign-in and redemption.

Each is limited per client address and per user (the username tried, or the signed-in
user), so neither one address trying many accounts nor many addresses trying one
account gets far; the grid service's lock-out (services/grid/signin.py) backs sign-in
up across gateway processes. Counters live in ``CIVICGRID_RATE_LIMIT_STORAGE``
(default ``memory://``: per gateway process; point it at Redis or MongoDB when several
gateways serve). Behind a proxy set ``CIVICGRID_TRUSTED_PROXIES`` to the number of
proxies in front, so the client's address is read from ``X-Forwarded-For``.
"""
import os

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from civicgrid.auth import decode_token
from civicgrid.errors import Unauthorized


def _setting(name, default):
    return os.environ.get(f"CIVICGRID_RATE_LIMIT_{name}") or default


def _username():
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    return f"username:{username}" if isinstance(username, str) else f"address:{get_remote_address()}"


def _signed_in_user():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        return "user:" + str(decode_token(token.strip()).user_id) if scheme.lower() == "bearer" else None
    except Unauthorized:
        return None


def _user_or_address():
    return _signed_in_user() or f"address:{get_remote_address()}"


def limits():
    """endpoint -> [(rate, key function)]."""
    return {
        "auth.token": [(_setting("SIGNIN_PER_ADDRESS", "30/minute"), get_remote_address),
                       (_setting("SIGNIN_PER_USER", "10/minute"), _username)],
        "orders.reserve": [(_setting("REDEEM_PER_ADDRESS", "60/minute"), get_remote_address),
                           (_setting("REDEEM_PER_USER", "20/minute"), _user_or_address)],
    }


def init(app):
    proxies = int(os.environ.get("CIVICGRID_TRUSTED_PROXIES", "0") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True,
                      storage_uri=app.config.get("RATE_LIMIT_STORAGE") or _setting("STORAGE", "memory://"))
    for endpoint, rules in (app.config.get("RATE_LIMITS") or limits()).items():
        view = app.view_functions[endpoint]   # a KeyError here means a route was renamed: rename it here too
        for rate, key in rules:
            # Decorating wraps the view, so the wrapped view must replace the registered one.
            view = limiter.limit(rate, key_func=key, error_message=_message(rate))(view)
        app.view_functions[endpoint] = view
    # With no application-wide or default limits the limiter's before-request check has nothing to weigh
    # (each limited view checks its own limits in its decorator), yet it costs every request a tenth of
    # the gateway's time: it is taken off the request path.
    app.before_request_funcs[None] = [hook for hook in app.before_request_funcs.get(None, [])
                                      if getattr(hook, "__func__", None) is not Limiter._check_request_limit]
    return limiter


def _message(rate):
    return f"too many requests (at most {rate}): wait a little and try again"
