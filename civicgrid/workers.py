"""What one nameko worker was, for its log line and its metrics: kind, outcome, petition."""
import functools
import inspect

from nameko.events import EventHandler
from nameko.messaging import Consumer
from nameko.rpc import Rpc
from nameko.timer import Timer

KINDS = ((Rpc, "rpc"), (EventHandler, "event"), (Timer, "timer"), (Consumer, "consumer"))


def kind(entrypoint):
    for cls, name in KINDS:   # EventHandler before Consumer: it is one
        if isinstance(entrypoint, cls):
            return name
    return "other"


def outcome(entrypoint, exc_info):
    """``ok``; ``rejected`` for an error the entrypoint expects (a 4xx: bad input, not found,
    forbidden, conflict); ``failed`` for anything else (a bug, a dependency down)."""
    if not exc_info:
        return "ok"
    expected = getattr(entrypoint, "expected_exceptions", ()) or ()
    return "rejected" if expected and isinstance(exc_info[1], expected) else "failed"


def message_body(worker_ctx):
    """The envelope an event handler (or consumer) got, when it got one."""
    if kind(worker_ctx.entrypoint) in ("event", "consumer") and worker_ctx.args:
        body = worker_ctx.args[0]
        return body if isinstance(body, dict) else None
    return None


@functools.lru_cache(maxsize=512)
def _signature(service_cls, method_name):
    try:
        return inspect.signature(getattr(service_cls, method_name))
    except (AttributeError, TypeError, ValueError):
        return None


def petition_id(worker_ctx, result=None, result_key=None):
    """The petition a worker was about: the event's (or command's), the RPC's ``petition_id`` argument, or the
    answer's ``petition_id`` (``result_key`` too: the petitions service answers with ``id``)."""
    body = message_body(worker_ctx)
    if body is not None:   # an event's envelope names it in its data; a department's command at the top
        data = body.get("data")
        found = data.get("petition_id") if isinstance(data, dict) else body.get("petition_id")
        return found if isinstance(found, str) else None
    found = worker_ctx.kwargs.get("petition_id")
    if found is None and worker_ctx.args:
        signature = _signature(worker_ctx.container.service_cls, worker_ctx.entrypoint.method_name)
        if signature is not None:
            try:
                found = signature.bind(None, *worker_ctx.args, **worker_ctx.kwargs).arguments.get("petition_id")
            except TypeError:
                found = None
    if found is None and isinstance(result, dict):
        found = result.get("petition_id")
        if found is None and result_key:
            found = result.get(result_key)
    return found if isinstance(found, str) else None
