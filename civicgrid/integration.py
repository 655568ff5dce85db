"""How departments' own systems plug in: two exchanges and the names on them.

Every petition event that concerns a department is copied to the topic exchange
``civicgrid.integration`` under ``<district>.<department>.<event>``; a department
reads only its own keys (broker topic permissions) from its own durable queue,
and answers by publishing commands to ``civicgrid.commands``.
"""
from kombu import Exchange

INTEGRATION_EXCHANGE = Exchange("civicgrid.integration", type="topic", durable=True)
COMMANDS_EXCHANGE = Exchange("civicgrid.commands", type="topic", durable=True)


def routing_key(district, department, event_type):
    return f"{district}.{department}.{event_type}"


def department_of(event):
    """The department an event concerns, if any."""
    data = event.get("data") or {}
    return data.get("department_id")


def integration_key(event):
    department = department_of(event)
    if not department:
        return None
    return routing_key(event["district"], department, event["type"])
