"""Prometheus metrics of a nameko service, served on a port of its own (prometheus-client).

``Metrics`` is a dependency provider: every worker of every entrypoint is counted and timed
by kind (rpc, event, timer, consumer), entrypoint and outcome. What is waiting is measured
when Prometheus asks (never on a timer): the events still in the service's outboxes, and the
messages its consumers' retry and parked queues hold (``civicgrid.retries``).

    civicgrid_entrypoint_calls_total{service,kind,entrypoint,outcome}   outcome: ok|rejected|failed
    civicgrid_entrypoint_duration_seconds{service,kind,entrypoint}      histogram
    civicgrid_outbox_pending_events{service,collection}
    civicgrid_parked_messages{service,queue}                            dead letters, for an operator
    civicgrid_retrying_messages{service,queue}                          waiting for their next attempt

The port is the config key ``METRICS_PORT`` (services/<name>/config.yml reads
``CIVICGRID_METRICS_PORT``; unset, empty or ``off``: no server, ``0``: any free port). The
server is prometheus-client's own, a thread of its own: under ``nameko run`` eventlet has
patched threads and sockets green, so a scrape waits on I/O without holding up the service,
and it never takes one of the service's ``max_workers``, so a busy service still answers.
"""
import logging
import threading
import time

from amqp.exceptions import NotFound as ChannelNotFound
from kombu import Connection
from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

from . import retries, workers
from .store import Store

log = logging.getLogger("civicgrid.metrics")

CALLS = Counter("civicgrid_entrypoint_calls", "RPCs, events, timer runs and messages handled, by outcome "
                "(ok; rejected: an expected error such as bad input or not found; failed: anything else)",
                ("service", "kind", "entrypoint", "outcome"))
DURATION = Histogram("civicgrid_entrypoint_duration_seconds", "Time a worker took, from setup to result",
                     ("service", "kind", "entrypoint"))


def _port(value):
    """``METRICS_PORT`` as an int, or ``None`` for no server (YAML reads ``off`` as False)."""
    if value is None or value is False or (isinstance(value, str) and value.strip().lower() in ("", "off")):
        return None
    return int(value)


class Metrics(DependencyProvider):
    """``outboxes``: collection names whose documents keep pending events in an ``outbox`` list,
    or ``(name, selector)`` pairs counting the documents that match (one pending event each)."""

    def __init__(self, outboxes=()):
        self.outboxes = tuple(outboxes)
        self.server = None
        self.port = None
        self.started = {}
        self._broker = None
        self._broker_lock = threading.Lock()

    def setup(self):
        self.service = self.container.service_name
        self.wanted_port = _port(self.container.config.get("METRICS_PORT"))
        self.host = self.container.config.get("METRICS_HOST") or "0.0.0.0"

    def start(self):
        _BACKLOG.add(self)
        if self.wanted_port is None:
            return
        try:
            self.server, _ = start_http_server(self.wanted_port, addr=self.host, registry=REGISTRY)
        except OSError as err:
            # Metrics are for operators; a taken port must not keep the service from serving.
            log.error("%s: metrics not served: port %s: %s", self.service, self.wanted_port, err)
            return
        self.port = self.server.server_address[1]
        log.info("%s: metrics at http://%s:%s/metrics", self.service, self.host, self.port)

    def stop(self):
        _BACKLOG.discard(self)
        server, self.server = self.server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._broker_lock:
            broker, self._broker = self._broker, None
        if broker is not None:
            broker.release()

    def kill(self):
        self.stop()

    # -- every worker ------------------------------------------------------------------

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        if started is None:
            return
        entrypoint = worker_ctx.entrypoint
        kind = workers.kind(entrypoint)
        CALLS.labels(self.service, kind, entrypoint.method_name, workers.outcome(entrypoint, exc_info)).inc()
        DURATION.labels(self.service, kind, entrypoint.method_name).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx):
        self.started.pop(worker_ctx, None)

    # -- measured at scrape time ----------------------------------------------------------

    def pending_events(self):
        """{collection: events waiting in its outboxes}."""
        db = next((d.db for d in self.container.dependencies if isinstance(d, Store) and hasattr(d, "db")), None)
        if db is None:
            return {}
        found = {}
        for entry in self.outboxes:
            name, selector = (entry, None) if isinstance(entry, str) else entry
            if selector is None:
                rows = list(db[name].aggregate([
                    {"$match": {"outbox.0": {"$exists": True}}},
                    {"$group": {"_id": None, "n": {"$sum": {"$size": "$outbox"}}}}]))
                found[name] = rows[0]["n"] if rows else 0
            else:
                found[name] = db[name].count_documents(selector)
        return found

    def consumer_queues(self):
        """The queues of the entrypoints that retry and park their failed messages."""
        return sorted({ep.retry_queue_name for ep in self.container.entrypoints if hasattr(ep, "retry_queue_name")})

    def queued(self):
        """{queue: (parked, retrying)} by passive declares on a connection of the provider's own."""
        queues = self.consumer_queues()
        if not queues:
            return {}
        attempts = len(retries.delays())
        with self._broker_lock:
            try:
                return self._count(queues, attempts)
            except Exception:
                if self._broker is not None:   # a broker restart leaves a dead connection: once more
                    self._broker.release()
                    self._broker = None
                return self._count(queues, attempts)

    def _count(self, queues, attempts):
        if self._broker is None:
            self._broker = Connection(self.container.config.get("AMQP_URI"), connect_timeout=3)
        channel = [self._broker.channel()]
        try:
            counts = {}
            for queue in queues:
                parked = self._messages(channel, retries.parked_queue_name(queue))
                waiting = sum(self._messages(channel, retries.wait_queue_name(queue, n))
                              for n in range(1, attempts + 1))
                counts[queue] = (parked, waiting)
            return counts
        finally:
            channel[0].close()

    def _messages(self, channel, name):
        try:
            return channel[0].queue_declare(queue=name, passive=True).message_count
        except ChannelNotFound:
            # not declared (yet, or expired): nothing waits in it; the broker closed the channel
            channel[0] = self._broker.channel()
            return 0


class _Backlog:
    """One collector for every ``Metrics`` of the process (tests run several containers in one)."""

    def __init__(self):
        self.providers = set()
        self.lock = threading.Lock()

    def add(self, provider):
        with self.lock:
            self.providers.add(provider)

    def discard(self, provider):
        with self.lock:
            self.providers.discard(provider)

    def collect(self):
        outbox = GaugeMetricFamily("civicgrid_outbox_pending_events", "Events written but not yet published",
                                   labels=("service", "collection"))
        parked = GaugeMetricFamily("civicgrid_parked_messages", "Messages every retry failed on, parked for "
                                   "an operator (python -m civicgrid.parked)", labels=("service", "queue"))
        retrying = GaugeMetricFamily("civicgrid_retrying_messages", "Failed messages waiting for their next "
                                     "attempt", labels=("service", "queue"))
        with self.lock:
            providers = sorted(self.providers, key=lambda p: p.service)
        for provider in providers:
            try:
                for name, count in provider.pending_events().items():
                    outbox.add_metric((provider.service, name), count)
            except Exception as err:
                log.warning("%s: outbox backlog not measured: %s", provider.service, err)
            try:
                for queue, (parked_count, waiting) in provider.queued().items():
                    parked.add_metric((provider.service, queue), parked_count)
                    retrying.add_metric((provider.service, queue), waiting)
            except Exception as err:
                log.warning("%s: parked messages not counted: %s", provider.service, err)
        return [outbox, parked, retrying]


_BACKLOG = _Backlog()
REGISTRY.register(_BACKLOG)
