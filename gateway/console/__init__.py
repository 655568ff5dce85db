"""The web console: static files only (HTML, CSS, ES modules), served at ``/``.

Nothing here renders data: the console is a client of the API under ``/api/v1``
like any other front end, and it fetches nothing from outside the gateway.

For a slow connection the files go out gzipped when the browser accepts it (about a
quarter of their size), each with an ETag so a second visit costs one round trip of
``304 Not Modified`` answers; the compressed bytes are kept in memory per file and
made again only when the file changes.
"""
import gzip
import hashlib
import mimetypes
import os
import threading

from flask import Blueprint, Response, abort, request, send_from_directory
from werkzeug.security import safe_join

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

# Photos are URLs the users typed in, so images may come from anywhere; code, styles and
# requests only from the gateway itself.
CSP = ("default-src 'self'; img-src 'self' https: http: data:; style-src 'self'; "
       "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")

TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}

bp = Blueprint("console", __name__)

_cache = {}  # path -> (mtime_ns, size, etag, raw bytes, gzipped bytes)
_lock = threading.Lock()


def _load(path):
    stat = os.stat(path)
    with _lock:
        hit = _cache.get(path)
        if hit and hit[0] == stat.st_mtime_ns and hit[1] == stat.st_size:
            return hit
    with open(path, "rb") as f:
        raw = f.read()
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    entry = (stat.st_mtime_ns, stat.st_size, hashlib.sha256(raw).hexdigest()[:20], raw, packed)
    with _lock:
        _cache[path] = entry
    return entry


def _accepts_gzip():
    return any(part.split(";")[0].strip() == "gzip" and not part.replace(" ", "").endswith(";q=0")
               for part in request.headers.get("Accept-Encoding", "").split(","))


@bp.route("/console/<path:filename>")
def asset(filename):
    path = safe_join(STATIC, filename)
    if path is None or not os.path.isfile(path):
        abort(404)
    _, _, etag, raw, packed = _load(path)
    zipped = _accepts_gzip() and len(packed) < len(raw)
    tag = f"{etag}-gz" if zipped else etag
    kind = TYPES.get(os.path.splitext(path)[1]) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    response = Response(packed if zipped else raw, mimetype=None, content_type=kind)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-cache"  # always revalidated: a new deployment is seen at once
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    return response.make_conditional(request)


@bp.route("/")
def index():
    response = send_from_directory(STATIC, "index.html", max_age=0)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
