"""Parked messages: what every retry failed to handle, for an operator to replay or discard.

    python -m civicgrid.parked list [--queue Q]
    python -m civicgrid.parked replay  (--all | --queue Q --id ID)
    python -m civicgrid.parked discard (--all | --queue Q --id ID)

A parked queue has no consumer. Reading one takes its messages without acking them
and lets them go back when the channel closes, so listing changes nothing. Replaying
republishes a message (with confirms) to its consumer's queue with a fresh attempt
count and only then acks the parked copy. The gateway exposes the same to platform
administrators (``/api/v1/operator/parked``).
"""
import argparse
import hashlib
import json
import logging
import sys

from kombu import Connection
from nameko.amqp.publish import get_producer

from . import config, retries
from .provision import Management, ProvisionError, q, vhost_of

log = logging.getLogger("civicgrid.parked")

REPLAYED = "x-civicgrid-replayed-error"


class ParkedNotFound(LookupError):
    pass


def parked_queues(amqp_uri=None, api=None):
    """Names of the parked queues of the vhost, with how many messages each holds."""
    vhost = vhost_of(amqp_uri or config.amqp_uri())
    listed = (api or Management()).get(f"/queues/{q(vhost)}?columns=name,messages") or []
    return {item["name"]: item.get("messages", 0) for item in listed
            if item["name"].endswith(retries.PARKED_SUFFIX)}


def message_id(message):
    """The event id for a platform event; else the AMQP message id; else a digest of the body."""
    try:
        body = json.loads(message.body)
        if isinstance(body, dict) and isinstance(body.get("event_id"), str):
            return body["event_id"]
    except (TypeError, ValueError):
        pass
    return (message.properties or {}).get("message_id") or hashlib.sha1(message.body).hexdigest()[:16]


def _describe(queue_name, message):
    headers = message.headers or {}
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else message.body
    return {"queue": queue_name, "consumer_queue": headers.get(retries.QUEUE) or queue_name[:-len(retries.PARKED_SUFFIX)],
            "id": message_id(message), "type": body.get("type") if isinstance(body, dict) else None,
            "attempts": headers.get(retries.ATTEMPTS), "error": headers.get(retries.ERROR),
            "failed_at": headers.get(retries.FAILED_AT), "body": body}


def _drain(channel, queue_name):
    """Every message of the queue, unacked (they return when the channel closes)."""
    messages = []
    while True:
        message = channel.basic_get(queue_name, no_ack=False)
        if message is None:
            return messages
        messages.append(message)


def _each(amqp_uri, queue_names, act):
    done = []
    with Connection(amqp_uri) as conn:
        for name in queue_names:
            channel = conn.channel()
            try:
                for raw in _drain(channel, name):
                    message = channel.message_to_python(raw)
                    outcome = act(name, message)
                    if outcome is not None:
                        done.append(outcome)
            finally:
                channel.close()   # what was not acked goes back, in its order
    return done


def list_parked(amqp_uri=None, queue=None, api=None):
    amqp_uri = amqp_uri or config.amqp_uri()
    names = [queue] if queue else sorted(parked_queues(amqp_uri, api))
    return _each(amqp_uri, names, _describe)


def _replay_one(amqp_uri, queue_name, message):
    headers = dict(message.headers or {})
    consumer_queue = headers.get(retries.QUEUE) or queue_name[:-len(retries.PARKED_SUFFIX)]
    headers[REPLAYED] = headers.pop(retries.ERROR, None)
    for key in (retries.ATTEMPTS, retries.FAILED_AT, "x-death"):
        headers.pop(key, None)
    with get_producer(amqp_uri, confirms=True) as producer:
        producer.publish(message.body, exchange="", routing_key=consumer_queue, headers=headers, delivery_mode=2,
                         content_type=message.content_type, content_encoding=message.content_encoding,
                         mandatory=True)


def _act(amqp_uri, action, queue, ids, api):
    """Replay or discard the messages named by ``ids`` (all when ``ids`` is None)."""
    names = [queue] if queue else sorted(parked_queues(amqp_uri, api))

    def act(name, message):
        if ids is not None and message_id(message) not in ids:
            return None
        described = _describe(name, message)
        if action == "replay":
            _replay_one(amqp_uri, name, message)
        message.ack()
        log.warning("parked message %s of %s: %s", described["id"], name, action)
        return described
    return _each(amqp_uri, names, act)


def replay(amqp_uri=None, queue=None, ids=None, api=None):
    return _act(amqp_uri or config.amqp_uri(), "replay", queue, ids, api)


def discard(amqp_uri=None, queue=None, ids=None, api=None):
    return _act(amqp_uri or config.amqp_uri(), "discard", queue, ids, api)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m civicgrid.parked", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("list", "replay", "discard"))
    parser.add_argument("--queue", help="one parked queue (…​.parked); default: all of the vhost")
    parser.add_argument("--id", action="append", dest="ids", help="message id (repeatable)")
    parser.add_argument("--all", action="store_true", help="replay or discard every parked message")
    args = parser.parse_args(argv)
    if args.action != "list" and not (args.all or args.ids):
        parser.error(f"{args.action} needs --id ID (repeatable) or --all")
    try:
        if args.action == "list":
            items = list_parked(queue=args.queue)
        else:
            items = (replay if args.action == "replay" else discard)(queue=args.queue, ids=None if args.all else set(args.ids))
    except ProvisionError as err:
        print(f"parked: {err}", file=sys.stderr)
        return 2
    for item in items:
        print(json.dumps({k: v for k, v in item.items() if k != "body"}, ensure_ascii=False))
    verb = {"list": "parked", "replay": "replayed", "discard": "discarded"}[args.action]
    print(f"{len(items)} message(s) {verb}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
