"""How departments' own systems plug in: two exchanges and the names on them.

Every petition event that concerns a department is copied to the topic exchange
``civicgrid.integration`` under ``<district>.<department>.<event>``; a department
reads only its own keys (broker topic permissions) from its own durable queue
``civicgrid.dept.<district>.<department>``, and answers by publishing commands
to ``civicgrid.commands`` under ``<district>.<department>.<action>``, as its own
broker user ``dept.<district>.<department>``. The petitions service publishes
the outcome of every command back on the department's own key
``<district>.<department>.command_result``.

The names below are the whole contract; ``civicgrid.provision`` creates the
broker side of it, ``services/petitions/department_commands.py`` consumes the
commands, ``examples/department_subscriber.py`` is a department's side.
"""
import re

from kombu import Exchange
from nameko.messaging import Publisher

from .errors import Invalid

INTEGRATION_EXCHANGE_NAME = "civicgrid.integration"
COMMANDS_EXCHANGE_NAME = "civicgrid.commands"
INTEGRATION_EXCHANGE = Exchange(INTEGRATION_EXCHANGE_NAME, type="topic", durable=True)
COMMANDS_EXCHANGE = Exchange(COMMANDS_EXCHANGE_NAME, type="topic", durable=True)

# the petitions service's own durable queue of every department's commands
COMMANDS_QUEUE_NAME = "civicgrid.petitions.commands"
COMMANDS_BINDING_KEY = "#"

USER_PREFIX = "dept"
QUEUE_PREFIX = "civicgrid.dept"
COMMAND_RESULT = "command_result"
COMMAND_ACTIONS = ("accept", "return", "resolve")

# A district code or department id as it may appear in a routing key, a queue
# name and a user name: no dots (they separate the words of a key), no `*`/`#`
# (topic wildcards), no spaces. The grid service allows a subset of this.
_PART = re.compile(r"^[\w-]{1,64}\Z")


def check_part(value, what):
    if not isinstance(value, str) or not _PART.match(value):
        raise Invalid(f"invalid {what}", {what: [f"{value!r}: use 1-64 letters, digits, '_' or '-'"]})
    return value


def routing_key(district, department, event_type):
    return f"{district}.{department}.{event_type}"


def department_of(event):
    """The department an event concerns, if any."""
    data = event.get("data") or {}
    return data.get("department_id")


def outgoing(event):
    """The department's copy of an event and its message properties: the correlation id goes as
    the AMQP ``correlation_id`` property (quote it to the platform's operators), not in the body,
    which stays the envelope departments know; nothing else of the platform's context goes."""
    body = {k: v for k, v in event.items() if k != "correlation_id"}
    return body, ({"correlation_id": event["correlation_id"]} if event.get("correlation_id") else {})


def integration_key(event):
    department = department_of(event)
    if not department:
        return None
    return routing_key(event["district"], department, event["type"])


# -- one department's names -------------------------------------------------

def department_user(district, department):
    """The broker user of a department's system: ``dept.hb.chengjian``."""
    return f"{USER_PREFIX}.{check_part(district, 'district')}.{check_part(department, 'department')}"


def department_queue(district, department):
    """The department's durable queue: ``civicgrid.dept.hb.chengjian``."""
    return f"{QUEUE_PREFIX}.{check_part(district, 'district')}.{check_part(department, 'department')}"


def department_binding_key(district, department):
    """What the department's queue is bound to on ``civicgrid.integration``: ``hb.chengjian.#``."""
    return f"{check_part(district, 'district')}.{check_part(department, 'department')}.#"


def command_key(district, department, action):
    """Where a department publishes a command on ``civicgrid.commands``: ``hb.chengjian.accept``."""
    return routing_key(check_part(district, "district"), check_part(department, "department"), action)


def result_key(district, department):
    """Where the outcome of a command comes back on ``civicgrid.integration``."""
    return routing_key(district, department, COMMAND_RESULT)


def parse_department_user(user_id):
    """``dept.hb.chengjian`` -> ``("hb", "chengjian")``; ``None`` for anything else."""
    if not isinstance(user_id, str):
        return None
    parts = user_id.split(".")
    if len(parts) != 3 or parts[0] != USER_PREFIX:
        return None
    if not all(_PART.match(p) for p in parts[1:]):
        return None
    return parts[1], parts[2]


def parse_command_key(key):
    """``hb.chengjian.accept`` -> ``("hb", "chengjian", "accept")``; ``None`` if not three words."""
    if not isinstance(key, str):
        return None
    parts = key.split(".")
    if len(parts) != 3 or not all(_PART.match(p) for p in parts):
        return None
    return tuple(parts)


def key_prefix_pattern(district, department):
    """The regex (RabbitMQ topic permissions) matching exactly this department's keys."""
    return "^" + re.escape(f"{district}.{department}.")


def exact_pattern(*names):
    """The regex (RabbitMQ vhost permissions) matching exactly these resource names."""
    alternatives = "|".join(re.escape(name) for name in names)
    return f"^({alternatives})$" if len(names) > 1 else f"^{alternatives}$"


# -- publishing to departments -------------------------------------------------

class IntegrationPublisher(Publisher):
    """A nameko ``Publisher`` for messages that leave the platform.

    nameko copies the worker's context data into the headers of everything it
    publishes (``nameko.auth_token``, ``nameko.call_id_stack``...): inside the
    platform that is how the caller's JWT travels, but a department must never
    receive a resident's or the service's token. This publisher sends no
    context headers; messages stay persistent, with publisher confirms.
    """

    def __init__(self, exchange=INTEGRATION_EXCHANGE, **options):
        super().__init__(exchange=exchange, **options)

    def get_message_headers(self, worker_ctx):
        return {}
