"""Calls into the services through standalone nameko proxies, one per thread.

A standalone proxy owns a connection and a reply queue and is not
thread-safe, so each gunicorn thread keeps its own for its lifetime instead
of paying a new connection per request. The caller's JWT and the request's
correlation id ride in the proxy's context data for exactly one call.
"""
import logging
import sys
import threading

from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from civicgrid import audit, correlation, idempotency_keys
from civicgrid.auth import CONTEXT_KEY
from civicgrid.errors import CivicGridError

log = logging.getLogger(__name__)

# kombu asks for librabbitmq (a C client we do not install) each time a connection object is made, which
# nameko's publisher does on every call: an import that fails searches sys.path anew each time (some 5% of
# a gateway worker's CPU). Marked absent once, the answer is the same and costs nothing.
sys.modules.setdefault("librabbitmq", None)


class ServiceUnavailable(Exception):
    def __init__(self, service, why):
        super().__init__(f"the {service} service is unavailable ({why}); try again shortly")
        self.service = service


class ServiceFailed(Exception):
    """A service raised something it did not expect: a bug, logged there and here."""

    def __init__(self, service, remote):
        super().__init__(f"the {service} service failed")
        self.remote = remote


class RpcPool:
    def __init__(self, amqp_uri, timeout):
        self.config = {"AMQP_URI": amqp_uri}
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open = set()

    def _slot(self):
        slot = getattr(self._local, "slot", None)
        if slot is None:
            standalone = ClusterRpcProxy(self.config, timeout=self.timeout)
            slot = (standalone, standalone.start())
            self._local.slot = slot
            with self._lock:
                self._open.add(standalone)
        return slot

    def _discard(self):
        slot = getattr(self._local, "slot", None)
        self._local.slot = None
        if slot is not None:
            with self._lock:
                self._open.discard(slot[0])
            try:
                slot[0].stop()
            except Exception:
                pass

    def call(self, token, service, method, *args, idempotency_key=None, origin=None, **kwargs):
        try:
            standalone, cluster = self._slot()
            standalone._worker_ctx.data.clear()
            if token:
                standalone._worker_ctx.data[CONTEXT_KEY] = token
            if idempotency_key:
                standalone._worker_ctx.data[idempotency_keys.CONTEXT_KEY] = idempotency_key
            if origin:
                standalone._worker_ctx.data[audit.CONTEXT_KEY] = origin
            cid = correlation.current()
            if cid:
                standalone._worker_ctx.data[correlation.CONTEXT_KEY] = cid
            return getattr(getattr(cluster, service), method)(*args, **kwargs)
        except CivicGridError:
            raise
        except RemoteError as err:
            log.error("%s.%s raised %s", service, method, err)
            raise ServiceFailed(service, err)
        except RpcTimeout:
            # The reply may still arrive on this queue later: start afresh.
            self._discard()
            raise ServiceUnavailable(service, "no answer in time")
        except UnknownService:
            raise ServiceUnavailable(service, "not running")
        except (OSError, IOError, ConnectionError) as err:
            self._discard()
            raise ServiceUnavailable(service, f"broker connection: {err.__class__.__name__}")
        except Exception as err:
            if err.__class__.__module__.startswith(("kombu", "amqp")):
                self._discard()
                raise ServiceUnavailable(service, f"broker: {err.__class__.__name__}")
            raise

    def close(self):
        with self._lock:
            proxies, self._open = list(self._open), set()
        for standalone in proxies:
            try:
                standalone.stop()
            except Exception:
                pass
