"""Is RabbitMQ there? One clear line instead of a traceback when it is not."""
from kombu import Connection

from . import config


def hint(uri):
    return (f"RabbitMQ is not reachable at {redact(uri)}: start it with "
            "`rabbitmq-server -detached` (or `docker compose up -d rabbitmq`), "
            "or point AMQP_URI at a running broker")


def redact(uri):
    if "@" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def reachable(uri=None, timeout=3):
    uri = uri or config.amqp_uri()
    try:
        with Connection(uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except Exception:
        return False
