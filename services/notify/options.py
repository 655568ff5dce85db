"""The notify service's settings, read from the environment on each use.

Read on each use (they are a dictionary lookup) so that a test can change one
for a running container; timer intervals are read once, when the service
module is imported, because nameko fixes them then.
"""
import os


def _float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return float(default)


def _int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return int(default)


def _flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


# -- channels ------------------------------------------------------------------

def webhook_allow_local_http():
    """Webhook URLs must be HTTPS; with this set, http://127.0.0.1 / localhost too (tests, never production)."""
    return _flag("CIVICGRID_WEBHOOK_ALLOW_LOCAL_HTTP")


def webhook_timeout():
    """Seconds a webhook receiver has to answer (connect and read, and the whole exchange)."""
    return _float("CIVICGRID_WEBHOOK_TIMEOUT_SECONDS", 5)


def sms_sender():
    """``package.module:factory`` of the SMS provider; unset: a sender that only logs."""
    return os.environ.get("CIVICGRID_SMS_SENDER") or None


def wechat_sender():
    """``package.module:factory`` of the WeChat template-message provider; unset: logs only."""
    return os.environ.get("CIVICGRID_WECHAT_SENDER") or None


def wechat_template_id():
    return os.environ.get("CIVICGRID_WECHAT_TEMPLATE_ID", "civicgrid-notice")


# -- retries -------------------------------------------------------------------

def max_attempts():
    return max(1, _int("CIVICGRID_DELIVERY_MAX_ATTEMPTS", 6))


def backoff_base():
    return max(0.0, _float("CIVICGRID_DELIVERY_BACKOFF_SECONDS", 30))


def backoff_cap():
    return max(backoff_base(), _float("CIVICGRID_DELIVERY_BACKOFF_CAP_SECONDS", 3600))


def delivery_concurrency():
    """Deliveries in flight at once in one notify process."""
    return max(1, _int("CIVICGRID_DELIVERY_CONCURRENCY", 20))


def delivery_lease():
    """Seconds a claimed delivery is left to its sender before another may pick it up again."""
    return max(webhook_timeout() * 4, 60.0)


# -- broadcasts, cache ---------------------------------------------------------

def fanout_batch():
    """Recipients per fan-out batch (one batch document, one insert_many)."""
    return max(1, _int("CIVICGRID_FANOUT_BATCH", 250))


def recipient_cache_seconds():
    """How long the grid's answers (who is responsible for a building ...) are reused."""
    return max(0.0, _float("CIVICGRID_RECIPIENT_CACHE_SECONDS", 60))


# -- timers (read once) -------------------------------------------------------

DELIVERY_SCAN_SECONDS = _float("CIVICGRID_DELIVERY_SCAN_SECONDS", 1)
FANOUT_SCAN_SECONDS = _float("CIVICGRID_FANOUT_SCAN_SECONDS", 0.5)
DIGEST_SCAN_SECONDS = _float("CIVICGRID_DIGEST_SCAN_SECONDS", 60)
