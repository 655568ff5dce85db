"""Settings read from the environment, with the defaults a laptop needs."""
import logging
import os

log = logging.getLogger("civicgrid.config")

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEV_JWT_SECRET = "civicgrid-dev-secret-change-me-in-production"


def amqp_uri():
    return os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI


def mongo_uri():
    return os.environ.get("MONGO_URI") or None


def mongo_db_prefix():
    return os.environ.get("MONGO_DB_PREFIX") or "civicgrid"


def jwt_secret():
    secret = os.environ.get("CIVICGRID_JWT_SECRET")
    if not secret:
        return DEV_JWT_SECRET
    return secret


def jwt_ttl_seconds():
    return int(os.environ.get("CIVICGRID_JWT_TTL", str(8 * 3600)))


def admin_credentials():
    """The platform administrator; the unset default is for laptops only."""
    user = os.environ.get("CIVICGRID_ADMIN_USER")
    password = os.environ.get("CIVICGRID_ADMIN_PASSWORD")
    if not user or not password:
        log.warning(
            "CIVICGRID_ADMIN_USER/CIVICGRID_ADMIN_PASSWORD unset: "
            "platform administrator is admin/admin; set them before going live")
        return "admin", "admin"
    return user, password


def rpc_timeout():
    return float(os.environ.get("CIVICGRID_RPC_TIMEOUT", "10"))


def open311_setting(name):
    """``CIVICGRID_OPEN311_<NAME>``: BASE_URL, CONTACT, UTC_OFFSET (see docs/open311.md)."""
    return os.environ.get(f"CIVICGRID_OPEN311_{name}") or None
