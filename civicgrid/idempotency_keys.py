"""``Idempotency-Key``: a client that retries a command after a timeout gets the first answer again.

The gateway passes the header in the RPC's context data; a command RPC decorated with
``@once_per_key`` (in a service with ``db = Store()``, ``auth = Auth()`` and
``idempotency_key = IdempotencyKey()``) records the key before it runs and its answer
after, under a unique id per user and key, in the service's own database:

- the same key and the same arguments again: the recorded answer, the command does not run;
- the same key with other arguments: ``Invalid`` (422) naming ``Idempotency-Key``;
- the same key while the first is still running: ``Conflict`` (409), try again shortly;
- the command refused (a domain error) or crashed: the key is released, so the corrected
  request may use it again.

Keys are kept for a day (a TTL index); a record left ``pending`` by a process that died
is taken over after ``STALE``. Its TTL index is one of the kit's (``store.ensure_kit_indexes``).
"""
import functools
import hashlib
import json
from datetime import timedelta

from nameko.extensions import DependencyProvider
from pymongo.errors import DuplicateKeyError

from .errors import Conflict, Invalid
from .events import utcnow

CONTEXT_KEY = "idempotency_key"
HEADER = "Idempotency-Key"
MAX_LENGTH = 255
STALE = timedelta(minutes=2)


class IdempotencyKey(DependencyProvider):
    """The worker's ``Idempotency-Key`` (or ``None``)."""

    def get_dependency(self, worker_ctx):
        return worker_ctx.data.get(CONTEXT_KEY)


def check_key(value):
    """The header's value, or ``Invalid`` naming it (printable ASCII, 1-255 characters)."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_LENGTH \
            or not all(32 < ord(c) < 127 for c in value):
        raise Invalid(f"{HEADER} must be 1-{MAX_LENGTH} printable characters without spaces",
                      {HEADER: f"1-{MAX_LENGTH} printable ASCII characters without spaces"})
    return value


def _fingerprint(method, args, kwargs):
    text = json.dumps([method, args, kwargs], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _claim(collection, record_id, fingerprint, method, now):
    """Take the key for this run, or the recorded answer of an earlier one (as a 1-tuple)."""
    try:
        collection.insert_one({"_id": record_id, "fingerprint": fingerprint, "method": method,
                               "state": "pending", "at": now})
        return None
    except DuplicateKeyError:
        pass
    record = collection.find_one({"_id": record_id})
    if record is None:            # released in between: try once more
        return _claim(collection, record_id, fingerprint, method, now)
    if record["fingerprint"] != fingerprint:
        raise Invalid(f"this {HEADER} was used for another request",
                      {HEADER: "already used for a different request: send a new key"})
    if record["state"] == "done":
        return (json.loads(record["answer"]),)
    taken = collection.update_one({"_id": record_id, "state": "pending", "at": {"$lte": now - STALE}},
                                  {"$set": {"at": now}})
    if taken.modified_count:
        return None
    raise Conflict(f"a request with this {HEADER} is still being handled: try again shortly")


def once_per_key(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        key = self.idempotency_key
        if not key:
            return method(self, *args, **kwargs)
        check_key(key)
        name = f"{self.name}.{method.__name__}"
        record_id = f"{self.auth.user_id}\x1f{key}"
        collection = self.db.command_keys
        recorded = _claim(collection, record_id, _fingerprint(name, args, kwargs), name, utcnow())
        if recorded is not None:
            return recorded[0]
        try:
            answer = method(self, *args, **kwargs)
        except BaseException:
            collection.delete_one({"_id": record_id, "state": "pending"})
            raise
        collection.update_one({"_id": record_id},
                              {"$set": {"state": "done", "answer": json.dumps(answer, default=str)}})
        return answer
    return wrapper
