"""The gateway's request line, correlation id and Prometheus metrics.

Every request gets a correlation id: the client's ``X-Request-ID`` when it is a usable one
(civicgrid/correlation.py: printable, capped at 100 characters), else a new one. It is the
current id while the request runs (every log line, every RPC's context data carry it) and
comes back as ``X-Request-ID`` on every response, errors included. Each request ends with
one JSON log line (method, route, status, duration, user), which takes the place of
gunicorn's access log; health checks and scrapes log at DEBUG only.

``GET /metrics`` (not in the OpenAPI document, not rate-limited) serves

    civicgrid_http_requests_total{method,route,status}
    civicgrid_http_request_duration_seconds{method,route,status}   histogram

labelled by the route's template (``/api/v1/petitions/<petition_id>``), never the raw
path, so the series stay few. The Ingress serves every path, /metrics too: set
``CIVICGRID_METRICS_TOKEN`` and a scrape must send ``Authorization: Bearer <token>``
(Prometheus' ``authorization`` scrape setting). gunicorn runs several worker processes: with
``PROMETHEUS_MULTIPROC_DIR`` set (gateway/gunicorn_conf.py does, a fresh directory per
start) every worker writes its counts there and whichever answers the scrape adds up all.
"""
import hmac
import logging
import os
import time

from flask import Blueprint, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

from civicgrid import correlation

from .errors import error_response

log = logging.getLogger("gateway.requests")

bp = Blueprint("metrics", __name__)

# The gateway's own registry: nothing a library registers on the default one is mixed in.
REGISTRY = CollectorRegistry()
LABELS = ("method", "route", "status")
REQUESTS = Counter("civicgrid_http_requests", "HTTP requests answered", LABELS, registry=REGISTRY)
LATENCY = Histogram("civicgrid_http_request_duration_seconds", "Time from the request's arrival to its answer",
                    LABELS, registry=REGISTRY)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"   # no route: one series for every unknown path, whatever it was
QUIET = frozenset({"/healthz", "/readyz", "/metrics"})


@bp.route("/metrics")
def metrics():
    token = os.environ.get("CIVICGRID_METRICS_TOKEN")
    if token:
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
            return error_response(401, "metrics need the scrape token (CIVICGRID_METRICS_TOKEN)",
                                  headers={"WWW-Authenticate": "Bearer"})
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _begin():
    g.started = time.perf_counter()
    g.correlation_id = correlation.clean(request.headers.get(correlation.HEADER)) or correlation.new_id()
    g.correlation_token = correlation.activate(g.correlation_id)


def _finish(response):
    cid = g.get("correlation_id")
    if cid is None:   # a before_request hook ahead of ours answered: still one id, still counted
        _begin()
        cid = g.correlation_id
    response.headers[correlation.HEADER] = cid
    elapsed = time.perf_counter() - g.started
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else "OTHER"
    status = str(response.status_code)
    REQUESTS.labels(method, route, status).inc()
    LATENCY.labels(method, route, status).observe(elapsed)
    level = logging.DEBUG if route in QUIET else logging.INFO
    if log.isEnabledFor(level):
        auth = g.get("auth")
        petition = (request.view_args or {}).get("petition_id")
        log.log(level, "%s %s %s in %.1f ms", method, request.path, status, elapsed * 1000, extra={
            "method": method, "route": route, "path": request.path, "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 1), "user_id": getattr(auth, "user_id", None),
            "petition_id": petition if isinstance(petition, str) else None, "remote_addr": request.remote_addr})
    return response


def _end(exc=None):
    token = g.pop("correlation_token", None)
    if token is not None:
        correlation.reset(token)


def init(app):
    """Call before any other ``before_request`` hook (the rate limiter's), so every request is timed."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_end)
    app.register_blueprint(bp)
