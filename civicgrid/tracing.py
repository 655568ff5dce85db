"""The correlation id inside a service, and one log line for every RPC and event it handles.

``Tracing`` is a nameko dependency provider: in each worker it takes the correlation id
from the event's envelope (an event published by an outbox relay long after the request
still carries the request's id there), else from the RPC's context data (the gateway put
it there), else makes one (a timer run, a department's command, a probe). It puts the id
back into the worker's context data, so the worker's own RPCs carry it on, and into the
context variable the log filter and ``make_event`` read. When the worker ends it logs one
line: entrypoint, outcome, duration, correlation id and the petition, if there is one.

    class PetitionsService:
        tracing = Tracing(petition_key="id")   # the RPC answers name their petition "id"
"""
import logging
import time

from nameko.extensions import DependencyProvider

from . import correlation, workers

log = logging.getLogger("civicgrid.tracing")

# Health checks and timers run every few seconds whether anyone uses the platform or not:
# their lines are DEBUG unless they fail.
QUIET_RPCS = frozenset({"ping"})


def worker_correlation_id(worker_ctx):
    body = workers.message_body(worker_ctx)
    if body is not None:
        found = correlation.clean(body.get(correlation.CONTEXT_KEY))
        if found:
            return found
    return correlation.clean(worker_ctx.data.get(correlation.CONTEXT_KEY)) or correlation.new_id()


class Tracing(DependencyProvider):

    def __init__(self, petition_key=None):
        self.petition_key = petition_key
        self.workers = {}

    def worker_setup(self, worker_ctx):
        cid = worker_correlation_id(worker_ctx)
        worker_ctx.data[correlation.CONTEXT_KEY] = cid
        self.workers[worker_ctx] = (correlation.activate(cid), time.perf_counter())

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.workers.get(worker_ctx, (None, None))[1]
        if started is None:
            return
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        entrypoint = worker_ctx.entrypoint
        kind, outcome = workers.kind(entrypoint), workers.outcome(entrypoint, exc_info)
        if outcome == "failed":
            level = logging.WARNING
        elif kind == "timer" or entrypoint.method_name in QUIET_RPCS:
            level = logging.DEBUG
        else:
            level = logging.INFO
        if not log.isEnabledFor(level):
            return
        petition = workers.petition_id(worker_ctx, result, self.petition_key)
        body = workers.message_body(worker_ctx)
        extra = {"entrypoint": f"{worker_ctx.service_name}.{entrypoint.method_name}", "kind": kind,
                 "outcome": outcome, "duration_ms": duration_ms, "petition_id": petition}
        if body is not None:
            extra.update(event_type=body.get("type"), event_id=body.get("event_id"))
        log.log(level, "%s %s %s in %.1f ms%s", kind, extra["entrypoint"], outcome, duration_ms,
                f" ({petition})" if petition else "", extra=extra)

    def worker_teardown(self, worker_ctx):
        token, _ = self.workers.pop(worker_ctx, (None, None))
        if token is not None:
            try:
                correlation.reset(token)
            except ValueError:   # set in another context: nothing of ours to undo here
                pass
