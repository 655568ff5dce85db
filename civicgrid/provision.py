"""Give a department's system its place on the broker, through the RabbitMQ management API.

    python -m civicgrid.provision department --district hb --department chengjian \
        [--password P] [--vhost V] [--allow-bindings]

creates (or brings up to date: running it twice is fine)

- the durable topic exchanges ``civicgrid.integration`` and ``civicgrid.commands``;
- the broker user ``dept.<district>.<department>`` (no tags: no management UI);
- its durable queue ``civicgrid.dept.<district>.<department>`` bound to
  ``civicgrid.integration`` with ``<district>.<department>.#``;
- vhost permissions: configure nothing, read its own queue, write the
  commands exchange (``--allow-bindings`` adds what ``queue.bind`` on its own
  queue needs: write on the queue, read on ``civicgrid.integration``);
- topic permissions: read only ``<district>.<department>.*`` keys of
  ``civicgrid.integration``, write only ``<district>.<department>.*`` keys of
  ``civicgrid.commands``.

The password comes from ``--password``, else ``CIVICGRID_DEPARTMENT_PASSWORD``;
else an existing user keeps its password and a new one gets a generated
password, printed once. The vhost comes from ``--vhost``, else from
``AMQP_URI``'s path; the management API from ``RABBIT_API_URI`` (default
``http://guest:guest@127.0.0.1:15672``). See docs/integration.md.
"""
import argparse
import os
import secrets
import sys
import urllib.parse

import requests

from . import config
from .integration import (
    COMMANDS_EXCHANGE_NAME, INTEGRATION_EXCHANGE_NAME, department_binding_key, department_queue,
    department_user, exact_pattern, key_prefix_pattern,
)

DEFAULT_API_URI = "http://guest:guest@127.0.0.1:15672"
NOTHING = "^$"


class ProvisionError(Exception):
    pass


def api_uri():
    return os.environ.get("RABBIT_API_URI") or DEFAULT_API_URI


def vhost_of(amqp_uri):
    """The vhost an AMQP URI names: its path, unquoted; ``/`` when it names none."""
    path = urllib.parse.urlsplit(amqp_uri).path
    vhost = urllib.parse.unquote(path[1:]) if path.startswith("/") else urllib.parse.unquote(path)
    return vhost or "/"


def department_uri(amqp_uri, vhost, user, password=None):
    """The AMQP URI a department connects with (without the password unless given)."""
    parts = urllib.parse.urlsplit(amqp_uri)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    netloc = urllib.parse.quote(user, safe="")
    if password is not None:
        netloc += ":" + urllib.parse.quote(password, safe="")
    netloc += f"@{host}:{parts.port or 5672}"
    return urllib.parse.urlunsplit((parts.scheme or "amqp", netloc, "/" + urllib.parse.quote(vhost, safe=""), "", ""))


class Management:
    """The few calls of the RabbitMQ management HTTP API this needs."""

    def __init__(self, uri=None, timeout=10):
        parts = urllib.parse.urlsplit(uri or api_uri())
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{parts.path.rstrip('/')}/api"
        self.auth = (urllib.parse.unquote(parts.username or "guest"),
                     urllib.parse.unquote(parts.password or "guest"))
        self.timeout = timeout

    def request(self, method, path, json=None, ok=(200, 201, 204)):
        try:
            response = requests.request(method, self.base + path, json=json, auth=self.auth, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ProvisionError(f"the RabbitMQ management API at {self.base} is not reachable ({exc}); "
                                 "enable it with `rabbitmq-plugins enable rabbitmq_management` "
                                 "or point RABBIT_API_URI at it") from None
        if response.status_code not in ok:
            raise ProvisionError(f"{method} {path}: {response.status_code} {response.text.strip()}")
        return response

    def get(self, path):
        response = self.request("GET", path, ok=(200, 404))
        return response.json() if response.status_code == 200 else None


def q(name):
    return urllib.parse.quote(name, safe="")


def department_permissions(district, department, allow_bindings=False):
    """The vhost and topic permissions of a department's user (see docs/integration.md)."""
    queue = department_queue(district, department)
    own_keys = key_prefix_pattern(district, department)
    if allow_bindings:
        vhost = {"configure": NOTHING,
                 "write": exact_pattern(queue, COMMANDS_EXCHANGE_NAME),
                 "read": exact_pattern(queue, INTEGRATION_EXCHANGE_NAME)}
    else:
        vhost = {"configure": NOTHING,
                 "write": exact_pattern(COMMANDS_EXCHANGE_NAME),
                 "read": exact_pattern(queue)}
    topic = [
        {"exchange": INTEGRATION_EXCHANGE_NAME, "read": own_keys, "write": NOTHING},
        {"exchange": COMMANDS_EXCHANGE_NAME, "read": NOTHING, "write": own_keys},
    ]
    return vhost, topic


def declare_exchanges(api, vhost):
    for name in (INTEGRATION_EXCHANGE_NAME, COMMANDS_EXCHANGE_NAME):
        api.request("PUT", f"/exchanges/{q(vhost)}/{q(name)}",
                    {"type": "topic", "durable": True, "auto_delete": False, "internal": False, "arguments": {}})


def provision_department(district, department, password=None, vhost=None, allow_bindings=False,
                         api=None, amqp_uri=None):
    """Create or update everything a department needs on the broker; returns a summary dict.

    ``password`` None keeps an existing user's password, or generates one for a new user
    (returned as ``generated_password``).
    """
    api = api or Management()
    amqp_uri = amqp_uri or config.amqp_uri()
    vhost = vhost or vhost_of(amqp_uri)
    user = department_user(district, department)
    queue = department_queue(district, department)
    binding_key = department_binding_key(district, department)

    if api.get(f"/vhosts/{q(vhost)}") is None:
        raise ProvisionError(f"no vhost {vhost!r} on the broker: create it first (rabbitmqctl add_vhost)")
    declare_exchanges(api, vhost)

    generated = None
    existing = api.get(f"/users/{q(user)}")
    if password is not None:
        api.request("PUT", f"/users/{q(user)}", {"password": password, "tags": ""})
    elif existing is not None:
        # keep the password a running subscriber uses; make sure the user has no tags
        api.request("PUT", f"/users/{q(user)}", {
            "password_hash": existing["password_hash"], "hashing_algorithm": existing["hashing_algorithm"],
            "tags": ""})
    else:
        generated = secrets.token_urlsafe(18)
        api.request("PUT", f"/users/{q(user)}", {"password": generated, "tags": ""})

    vhost_permissions, topic_permissions = department_permissions(district, department, allow_bindings)
    api.request("PUT", f"/permissions/{q(vhost)}/{q(user)}", vhost_permissions)
    for entry in topic_permissions:
        api.request("PUT", f"/topic-permissions/{q(vhost)}/{q(user)}", entry)

    api.request("PUT", f"/queues/{q(vhost)}/{q(queue)}", {"durable": True, "auto_delete": False, "arguments": {}})
    bindings = api.get(f"/bindings/{q(vhost)}/e/{q(INTEGRATION_EXCHANGE_NAME)}/q/{q(queue)}") or []
    if not any(b.get("routing_key") == binding_key for b in bindings):
        api.request("POST", f"/bindings/{q(vhost)}/e/{q(INTEGRATION_EXCHANGE_NAME)}/q/{q(queue)}",
                    {"routing_key": binding_key, "arguments": {}})

    return {
        "user": user, "vhost": vhost, "queue": queue, "binding_key": binding_key,
        "exchange": INTEGRATION_EXCHANGE_NAME, "commands_exchange": COMMANDS_EXCHANGE_NAME,
        "amqp_uri": department_uri(amqp_uri, vhost, user),
        "created_user": existing is None, "generated_password": generated,
        "permissions": vhost_permissions, "topic_permissions": topic_permissions,
    }


def remove_department(district, department, vhost=None, delete_user=True, api=None, amqp_uri=None):
    """Take a department off the broker: its queue (and with it the binding), optionally its user."""
    api = api or Management()
    vhost = vhost or vhost_of(amqp_uri or config.amqp_uri())
    api.request("DELETE", f"/queues/{q(vhost)}/{q(department_queue(district, department))}", ok=(200, 204, 404))
    if delete_user:
        api.request("DELETE", f"/users/{q(department_user(district, department))}", ok=(200, 204, 404))


def _summary(result):
    lines = [
        f"department user  {result['user']}" + ("  (created)" if result["created_user"] else "  (updated)"),
        f"queue            {result['queue']}  (vhost {result['vhost']})",
        f"binding          {result['exchange']} -> {result['binding_key']}",
        f"commands         {result['commands_exchange']}  <district>.<department>.<accept|return|resolve>",
        f"connect with     {result['amqp_uri']}",
    ]
    if result["generated_password"]:
        lines.append(f"password         {result['generated_password']}  (shown once: store it now)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m civicgrid.provision",
                                     description="Provision broker access for CivicGrid integrations.")
    sub = parser.add_subparsers(dest="what", required=True)
    dept = sub.add_parser("department", help="a department's broker user, queue and permissions")
    dept.add_argument("--district", required=True)
    dept.add_argument("--department", required=True)
    dept.add_argument("--password", help="default: $CIVICGRID_DEPARTMENT_PASSWORD, else keep / generate")
    dept.add_argument("--vhost", help="default: the vhost of $AMQP_URI")
    dept.add_argument("--allow-bindings", action="store_true",
                      help="let the department (re)bind its own queue, within its own keys")
    args = parser.parse_args(argv)
    password = args.password or os.environ.get("CIVICGRID_DEPARTMENT_PASSWORD") or None
    try:
        result = provision_department(args.district, args.department, password=password, vhost=args.vhost,
                                      allow_bindings=args.allow_bindings)
    except Exception as exc:  # one clear line, not a traceback
        message = getattr(exc, "message", None) or str(exc)
        details = getattr(exc, "errors", None)
        print(f"provision failed: {message}" + (f" {details}" if details else ""), file=sys.stderr)
        return 1
    print(_summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
