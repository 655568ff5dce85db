"""The broker side of the suite: preload a consumer's queue, watch it empty, wait for quiet.

Queue depths come from a passive ``queue.declare`` (exact, at once), not from the management
API, whose figures are sampled every few seconds. The management API only lists the names.
"""
import contextlib
import json
import time
import urllib.parse

from kombu import Connection, Exchange, Producer

from civicgrid.harness import _management


def event_queue(source, event_type, service, method):
    """nameko's queue for a SERVICE_POOL event handler (nameko/events.py)."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def _vhost(uri):
    return urllib.parse.unquote(urllib.parse.urlsplit(uri).path[1:]) or "/"


def preload(uri, queue, payloads):
    """Publish each payload straight into ``queue`` (the default exchange), as nameko's dispatcher encodes them."""
    with Connection(uri) as conn:
        producer = Producer(conn.channel(), exchange=Exchange(""), serializer="json")
        for payload in payloads:
            producer.publish(json.loads(json.dumps(payload)), routing_key=queue, delivery_mode=2)


def ready(uri, queues):
    """Messages waiting (not yet delivered) in each of ``queues``."""
    with Connection(uri) as conn:
        channel = conn.channel()
        return {name: channel.queue_declare(queue=name, passive=True).message_count for name in queues}


def wait_empty(uri, queue, timeout=300, poll=0.01):
    """Until nothing waits in ``queue`` (the last prefetched few may still be in the consumer's hands)."""
    deadline = time.perf_counter() + timeout
    with Connection(uri) as conn:
        channel = conn.channel()
        while time.perf_counter() < deadline:
            if channel.queue_declare(queue=queue, passive=True).message_count == 0:
                return True
            time.sleep(poll)
    return False


def consumer_queues(uri):
    """The vhost's queues some consumer works on: not reply, wait or parked queues, nor the departments'
    integration queues (nobody subscribes in a benchmark), nor another connection's exclusive queues."""
    vhost = urllib.parse.quote(_vhost(uri), safe="")
    rows = _management("GET", f"/queues/{vhost}?columns=name,consumers,exclusive").json()
    return [q["name"] for q in rows if q.get("consumers") and not q.get("exclusive")
            and not q["name"].startswith("rpc.reply")]


def settle(uri, timeout=120, quiet=0.5):
    """Until no consumer queue of the vhost has work waiting: the next measurement starts from rest."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(Exception):
            queues = consumer_queues(uri)
            if not any(ready(uri, queues).values()):
                time.sleep(quiet)
                return True
        time.sleep(0.2)
    return False
