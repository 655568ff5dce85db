"""Webhook signatures: how the notify service signs a request and how a receiver checks it.

Every webhook request carries

    X-CivicGrid-Timestamp: 1767225600            (unix seconds when this attempt was sent)
    X-CivicGrid-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
    X-CivicGrid-Delivery:  <delivery id>           (the same on every retry of one delivery)
    X-CivicGrid-Event:     <event type>

The body is ``{"delivery_id", "attempt", "event"}``: the attempt number makes each
attempt's body and signature unique. A receiver recomputes the HMAC over the
timestamp and the raw body bytes with the webhook's secret and compares in constant
time; refuses a timestamp more than five minutes from its own clock (an old request
replayed); refuses a signature it has already seen within those five minutes (a fresh
request replayed); and treats the delivery id as the idempotency key of its own work,
since a retry after a timeout may bring again a delivery it already processed. ``Verifier`` below does the first
three; it is what the end-to-end tests' receiver uses.
"""
import hashlib
import hmac
import threading
import time

SIGNATURE = "X-CivicGrid-Signature"
TIMESTAMP = "X-CivicGrid-Timestamp"
DELIVERY = "X-CivicGrid-Delivery"
EVENT = "X-CivicGrid-Event"
TOLERANCE_SECONDS = 300


def signature(secret, timestamp, body):
    if isinstance(body, str):
        body = body.encode("utf-8")
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def headers(secret, body, delivery_id, event_type, timestamp=None):
    timestamp = int(time.time() if timestamp is None else timestamp)
    return {"Content-Type": "application/json; charset=utf-8", TIMESTAMP: str(timestamp),
            SIGNATURE: signature(secret, timestamp, body), DELIVERY: delivery_id, EVENT: event_type,
            "User-Agent": "CivicGrid-Notify/1"}


class SignatureError(Exception):
    pass


class Verifier:
    """A receiver's check of one webhook's requests: signature, freshness, no replay."""

    def __init__(self, secret, tolerance=TOLERANCE_SECONDS, clock=time.time):
        self.secret = secret
        self.tolerance = tolerance
        self.clock = clock
        self._seen = {}
        self._lock = threading.Lock()

    def verify(self, headers, body):
        """The delivery id of a genuine, fresh, first-seen request; ``SignatureError`` otherwise."""
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp, given = lower.get(TIMESTAMP.lower()), lower.get(SIGNATURE.lower())
        if not timestamp or not given:
            raise SignatureError("unsigned request")
        try:
            sent = int(timestamp)
        except ValueError:
            raise SignatureError("bad timestamp")
        now = self.clock()
        if abs(now - sent) > self.tolerance:
            raise SignatureError("timestamp outside the tolerance: replayed or clock skew")
        if not hmac.compare_digest(signature(self.secret, sent, body), given):
            raise SignatureError("signature does not match")
        with self._lock:
            for key, at in list(self._seen.items()):
                if now - at > self.tolerance:
                    del self._seen[key]
            if given in self._seen:
                raise SignatureError("replayed request")
            self._seen[given] = now
        return lower.get(DELIVERY.lower())
