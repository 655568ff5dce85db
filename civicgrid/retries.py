"""Failed messages are delayed and retried, then parked: never acknowledged away.

nameko acks a message whose handler raised (or, with ``requeue_on_error``, puts it
straight back: a hot loop). Here a failed message is republished, with publisher
confirms, to a wait queue of its consumer; the wait queue has no consumer and
dead-letters each message back to the consumer's queue when its ``expiration``
passes. Only once the copy is confirmed is the original acked, so a crash in
between delivers it twice (consumers are idempotent), never zero times.

Per consumer queue ``Q``:

- ``Q.wait.<n>``: attempt ``n``'s delay (one queue per attempt, so a long delay at
  the head never holds back a short one behind it);
- ``Q.parked``: after the last attempt, with the error, for an operator to replay or
  discard (``civicgrid.parked``).

Delays are ``CIVICGRID_RETRY_DELAYS`` (seconds, comma-separated; default
``1,5,30,120,600``), each stretched by up to 20% of jitter so that a burst of
failures does not come back as a burst.
"""
import json
import logging
import os
import random
import traceback

from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import get_producer

from . import config
from .events import utcnow

log = logging.getLogger("civicgrid.retries")

DEFAULT_DELAYS = (1, 5, 30, 120, 600)
JITTER = 0.2
ATTEMPTS = "x-civicgrid-attempts"
ERROR = "x-civicgrid-error"
FAILED_AT = "x-civicgrid-failed-at"
QUEUE = "x-civicgrid-queue"
PARKED_SUFFIX = ".parked"
DEFAULT_EXCHANGE = Exchange("")


def delays():
    text = os.environ.get("CIVICGRID_RETRY_DELAYS")
    if not text:
        return DEFAULT_DELAYS
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        log.warning("CIVICGRID_RETRY_DELAYS=%r is not a list of seconds: using %s", text, DEFAULT_DELAYS)
        return DEFAULT_DELAYS
    return values if values and all(v >= 0 for v in values) else DEFAULT_DELAYS


def delay_ms(attempt, schedule=None, rng=random.random):
    """Milliseconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
    schedule = schedule or delays()
    base = schedule[min(attempt, len(schedule)) - 1]
    return max(1, int(base * 1000 * (1 + JITTER * rng())))


def wait_queue_name(queue_name, attempt):
    return f"{queue_name}.wait.{attempt}"


def parked_queue_name(queue_name):
    return queue_name + PARKED_SUFFIX


# The queues of a consumer whose own queue lives only as long as its process (a broadcast
# handler's) go a day after they were last used, instead of piling up.
EPHEMERAL_EXPIRES_MS = 24 * 3600 * 1000


def wait_queue(queue_name, attempt, ephemeral=False):
    # Expired messages go back to the consumer's own queue through the default exchange,
    # so other consumers of the same event never see the retry.
    arguments = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue_name}
    if ephemeral:
        arguments["x-expires"] = EPHEMERAL_EXPIRES_MS
    return Queue(wait_queue_name(queue_name, attempt), exchange=DEFAULT_EXCHANGE,
                 routing_key=wait_queue_name(queue_name, attempt), durable=True, auto_delete=False,
                 queue_arguments=arguments)


def parked_queue(queue_name, ephemeral=False):
    return Queue(parked_queue_name(queue_name), exchange=DEFAULT_EXCHANGE,
                 routing_key=parked_queue_name(queue_name), durable=True, auto_delete=False,
                 queue_arguments={"x-expires": EPHEMERAL_EXPIRES_MS} if ephemeral else None)


def declare(queue_name, amqp_uri=None, schedule=None, ephemeral=False):
    """The wait queues and the parked queue of one consumer queue."""
    schedule = schedule or delays()
    with Connection(amqp_uri or config.amqp_uri()) as conn:
        channel = conn.default_channel
        for attempt in range(1, len(schedule) + 1):
            wait_queue(queue_name, attempt, ephemeral)(channel).declare()
        parked_queue(queue_name, ephemeral)(channel).declare()


def attempts_of(message):
    try:
        return int((message.headers or {}).get(ATTEMPTS, 0))
    except (TypeError, ValueError):
        return 0


def describe(exc_info):
    if not exc_info:
        return "unknown error"
    exc_type, exc, _ = exc_info
    text = "".join(traceback.format_exception_only(exc_type, exc)).strip()
    details = getattr(exc, "errors", None)   # civicgrid.errors.Invalid names each bad field
    if details:
        text += " " + json.dumps(details, ensure_ascii=False, default=str)
    return text[:2000]


def reroute(message, queue_name, exc_info, amqp_uri=None, schedule=None, ephemeral=False):
    """Publish the failed ``message`` to its next wait queue, or park it; confirmed before returning.

    Returns ``("wait", attempt)`` or ``("parked", attempt)``: the attempt that just failed.
    """
    schedule = schedule or delays()
    attempt = attempts_of(message) + 1
    headers = dict(message.headers or {})
    headers.pop("x-death", None)   # the broker's own history: it grows with every pass
    headers.update({ATTEMPTS: attempt, ERROR: describe(exc_info), FAILED_AT: utcnow().isoformat(),
                    QUEUE: queue_name})
    properties = message.properties or {}
    options = {"headers": headers, "delivery_mode": 2, "exchange": DEFAULT_EXCHANGE,
               "content_type": properties.get("content_type") or message.content_type,
               "content_encoding": properties.get("content_encoding") or message.content_encoding}
    if attempt <= len(schedule):
        target, outcome = wait_queue(queue_name, attempt, ephemeral), ("wait", attempt)
        options["expiration"] = delay_ms(attempt, schedule) / 1000.0
    else:
        target, outcome = parked_queue(queue_name, ephemeral), ("parked", attempt)
    with get_producer(amqp_uri or config.amqp_uri(), confirms=True) as producer:
        producer.publish(message.body, routing_key=target.name, declare=[target], retry=True,
                         retry_policy={"max_retries": 3}, mandatory=True, **options)
    return outcome
