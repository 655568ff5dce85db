"""The web console: static files only (HTML, CSS, ES modules), served at ``/``.

Nothing here renders data: the console is a client of the API under ``/api/v1``
like any other front end, and it fetches nothing from outside the gateway.
"""
import os

from flask import Blueprint, send_from_directory

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

# Photos are URLs the users typed in, so images may come from anywhere; code, styles and
# requests only from the gateway itself.
CSP = ("default-src 'self'; img-src 'self' https: http: data:; style-src 'self'; "
       "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")

bp = Blueprint("console", __name__, static_folder=STATIC, static_url_path="/console")


@bp.route("/")
def index():
    response = send_from_directory(STATIC, "index.html", max_age=0)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
