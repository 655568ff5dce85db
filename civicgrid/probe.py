"""Health probe of one nameko service: ``python -m civicgrid.probe <service>``.

Calls ``<service>.ping`` over the broker and exits 0 when the answer comes within
the deadline, 1 otherwise. Kubernetes exec probes and the images' HEALTHCHECK run it.

It speaks nameko's RPC protocol with kombu directly rather than through a standalone
proxy: nameko's reply queue is durable and lingers for minutes (``x-expires``), so on a
broker whose default queue type is quorum every probe run would create a replicated
queue. Ours is exclusive (always a classic queue) and goes when the probe disconnects.
A probe message that nobody takes expires with the deadline instead of piling up in
the service's queue while it is down.

``--require-connection`` also checks that this container itself holds an AMQP
connection: a ping travels through the service's shared queue, so any replica may
answer it, and only this check tells that the replica being probed is connected.
"""
import argparse
import signal
import sys
import uuid
from urllib.parse import urlsplit

from kombu import Connection, Consumer, Exchange, Producer, Queue

from . import config

RPC_EXCHANGE = "nameko-rpc"  # nameko's default (config key rpc_exchange, unset here)
TCP_ESTABLISHED = "01"


class ProbeFailed(Exception):
    pass


def broker_port(amqp_uri):
    parts = urlsplit(amqp_uri)
    return parts.port or (5671 if parts.scheme == "amqps" else 5672)


def holds_connection(port, tables=("/proc/net/tcp", "/proc/net/tcp6")):
    """True when a socket of this network namespace is connected to ``port``."""
    for table in tables:
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            remote, state = fields[2], fields[3]
            if state == TCP_ESTABLISHED and int(remote.rsplit(":", 1)[1], 16) == port:
                return True
    return False


def ping(service, amqp_uri, deadline):
    """The service's answer to ``ping``; raises ProbeFailed past the deadline or on an error."""
    exchange = Exchange(RPC_EXCHANGE, type="topic", durable=True)
    reply_key = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    reply_queue = Queue(f"rpc.reply-probe-{reply_key}", exchange=exchange, routing_key=reply_key,
                        exclusive=True, auto_delete=True)
    replies = []

    def on_reply(body, message):
        if message.properties.get("correlation_id") == correlation_id:
            replies.append(body)
        message.ack()

    with Connection(amqp_uri, connect_timeout=deadline) as conn:
        conn.ensure_connection(max_retries=1)
        channel = conn.channel()
        with Consumer(channel, queues=[reply_queue], callbacks=[on_reply], accept=["json"]):
            Producer(channel).publish(
                {"args": [], "kwargs": {}}, exchange=exchange, routing_key=f"{service}.ping",
                serializer="json", reply_to=reply_key, correlation_id=correlation_id,
                expiration=deadline, declare=[exchange])
            try:
                conn.drain_events(timeout=deadline)
            except TimeoutError:
                raise ProbeFailed(f"{service} did not answer ping within {deadline:g}s") from None
    if not replies:
        raise ProbeFailed(f"{service}: no reply to ping")
    if replies[0].get("error"):
        raise ProbeFailed(f"{service}: ping failed: {replies[0]['error']}")
    return replies[0]["result"]


def _give_up(signum, frame):
    raise ProbeFailed("deadline passed")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m civicgrid.probe", description=__doc__.split("\n")[0])
    parser.add_argument("service", help="nameko service name, e.g. petitions")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer")
    parser.add_argument("--require-connection", action="store_true",
                        help="also fail unless this container holds a connection to the broker")
    args = parser.parse_args(argv)
    amqp_uri = config.amqp_uri()
    # One deadline for everything, DNS and connecting included.
    signal.signal(signal.SIGALRM, _give_up)
    signal.setitimer(signal.ITIMER_REAL, args.timeout + 1)
    try:
        if args.require_connection and not holds_connection(broker_port(amqp_uri)):
            raise ProbeFailed(f"{args.service}: this container holds no broker connection")
        result = ping(args.service, amqp_uri, args.timeout)
    except Exception as err:  # any failure is a failed probe, said in one line
        print(f"probe {args.service}: FAIL {err}", file=sys.stderr)
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    print(f"probe {args.service}: ok {result!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
