"""The correlation id: one id per request, from the gateway to every service it reaches.

The gateway takes it from ``X-Request-ID`` (or makes one) and sends it in the RPC's
nameko context data (``CONTEXT_KEY``); a service keeps it in a context variable for the
worker's lifetime (``civicgrid.tracing``), so every log line carries it
(``civicgrid.logs``), every event it makes carries it in its envelope
(``civicgrid.events.make_event``) and every RPC it makes carries it on. An event
published later by an outbox relay still carries the id of the request that caused
it, because the id is stored in the envelope, not taken from the relay's worker.

Under eventlet each green thread starts with an empty context, and under gunicorn's
gthread workers each request thread does, so the variable never leaks between requests.
"""
import contextlib
import contextvars
import re
import uuid

CONTEXT_KEY = "correlation_id"
HEADER = "X-Request-ID"
MAX_LENGTH = 100
# What a client may send: printable ASCII without spaces or quotes, so an id can be
# searched for in logs and pasted into a URL or a shell. Anything else gets a fresh id.
_VALID = re.compile(r"^[A-Za-z0-9._:/+=@-]+\Z")

_current = contextvars.ContextVar("civicgrid_correlation_id", default=None)


def new_id():
    return uuid.uuid4().hex


def clean(value):
    """``value`` as a correlation id (capped at ``MAX_LENGTH``), or ``None`` if it cannot be one."""
    if not isinstance(value, str):
        return None
    value = value.strip()[:MAX_LENGTH]
    return value if value and _VALID.match(value) else None


def current():
    return _current.get()


def activate(value):
    """Make ``value`` the current id; returns the token ``reset`` takes."""
    return _current.set(value)


def reset(token):
    _current.reset(token)


@contextlib.contextmanager
def bound(value):
    """``value`` (when it is one) as the current id inside the block; the outer id otherwise."""
    value = clean(value)
    if value is None:
        yield current()
        return
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)
