"""JSON log lines (python-json-logger), one object a line, each with the request's correlation id.

Every line has ``time`` (UTC ISO-8601), ``level``, ``service`` (grid, petitions, points,
notify, gateway), ``pid``, ``logger``, ``message`` and ``correlation_id`` (``null`` outside a
request), plus whatever the call passed in ``extra`` (``entrypoint``, ``outcome``,
``duration_ms``, ``petition_id`` …) and ``exc_info`` for a traceback. The services name the
formatter and filter in their config.yml (``LOGGING``, applied by ``nameko run``); the gateway
gets the same from gunicorn's ``logconfig_dict`` (gateway/gunicorn_conf.py) or ``configure``.
"""
import logging
import logging.config

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from . import correlation

FIELDS = ("levelname", "service", "process", "name", "message", correlation.CONTEXT_KEY)
RENAMED = {"levelname": "level", "process": "pid", "name": "logger"}
FIRST = ("time", "level", "service", "pid", "logger", "message", correlation.CONTEXT_KEY)


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter with the platform's field names; time first, for people."""

    def __init__(self, **options):
        options.setdefault("rename_fields", RENAMED)
        options.setdefault("timestamp", "time")
        options.setdefault("json_ensure_ascii", False)   # the messages are Chinese as often as not
        super().__init__(list(FIELDS), **options)

    def process_log_record(self, log_data):
        ordered = {key: log_data.pop(key) for key in FIRST if key in log_data}
        ordered.update(log_data)
        return ordered


class ContextFilter(logging.Filter):
    """Stamps each record with the process's service name and the current correlation id.

    On the handler, not a logger: a logger's filters do not see records that its children
    pass up, and every library logs through a child of the root.
    """

    def __init__(self, service="civicgrid", name=""):
        super().__init__(name)
        self.service = service

    def filter(self, record):
        if not hasattr(record, "service"):
            record.service = self.service
        if getattr(record, correlation.CONTEXT_KEY, None) is None:
            record.correlation_id = correlation.current()
        return True


def dict_config(service, level="INFO", stream="ext://sys.stderr"):
    """A ``logging.config.dictConfig`` for one process: JSON lines on stderr, brokers' chatter quiet."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"context": {"()": ContextFilter, "service": service}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"],
                                 "stream": stream}},
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {"amqp": {"level": "WARNING"}, "kombu": {"level": "WARNING"}},
    }


def configure(service, level="INFO"):
    """JSON logging for a process nobody configured (``logging.basicConfig``'s rule: only if the
    root logger has no handler yet), so gunicorn's configuration and pytest's capture stand."""
    if not logging.getLogger().handlers:
        logging.config.dictConfig(dict_config(service, level))
