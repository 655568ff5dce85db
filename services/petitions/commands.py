"""Commands departments' systems publish on ``civicgrid.commands``: parsing, authority, outcomes.

Plain Python, no nameko: ``department_commands.py`` is the entrypoint that uses it.

A command is a JSON body published with routing key ``<district>.<department>.<action>``
by the department's own broker user, whose name RabbitMQ puts beyond forging:
it refuses a message whose ``user_id`` property is not the user that published it
(validated user-id). So ``user_id`` says who speaks; the routing key must agree.

    {"command_id": "<uuid>", "petition_id": "hb-000042", "action": "resolve",
     "payload": {"note": "已修复"}}

``payload`` is what the same action takes over HTTP ({} for accept, {"reason"} for
return, {"note"} for resolve) and is validated by the same schemas, in ``usecases.act``.
"""
import json

from marshmallow import Schema, fields, validate

from civicgrid.auth import AuthContext
from civicgrid.errors import CivicGridError, Forbidden, Invalid
from civicgrid.integration import COMMAND_ACTIONS, COMMAND_RESULT, parse_command_key, parse_department_user
from civicgrid.validation import load, schema

DEPARTMENT_ROLE = "department_staff"


class CommandSchema(Schema):
    command_id = fields.UUID(required=True, metadata={"description": "the department's id of this command; "
                                                                     "the outcome carries it back"})
    petition_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    action = fields.String(required=True, validate=validate.OneOf(COMMAND_ACTIONS))
    payload = fields.Dict(keys=fields.String(), load_default=dict,
                          metadata={"description": "the action's body, as over HTTP"})


def decode_body(body):
    """The command as a dict, whatever arrived: kombu hands over raw bytes or text
    when the publisher set no JSON content type, so those are parsed here."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("the command is not UTF-8 JSON", {"_schema": ["body is not UTF-8 text"]})
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise Invalid("the command is not JSON", {"_schema": [f"body is not JSON: {exc}"]})
    if not isinstance(body, dict):
        raise Invalid("the command is not a JSON object", {"_schema": ["body must be a JSON object"]})
    return body


def parse_command(body):
    """Validate a command body; returns ``{command_id (str), petition_id, action, payload}``."""
    command = load(schema(CommandSchema), decode_body(body))
    command["command_id"] = str(command["command_id"])
    return command


def sender_of(message_user_id):
    """``(district, department)`` of the department that published a message, or ``None``.

    Only the AMQP ``user_id`` property counts (the broker vouches for it); a
    message without one, or from a user that is not a department's, has no
    department to answer to.
    """
    return parse_department_user(message_user_id)


def department_from(message_user_id, routing_key):
    """The auth context of the department that published a command with this ``routing_key``.

    Raises ``Forbidden`` when the message carries no department user or when the
    routing key names another district or department than the user's, ``Invalid``
    when the routing key is not ``<district>.<department>.<action>``.
    """
    sender = sender_of(message_user_id)
    if sender is None:
        raise Forbidden("commands must be published by a department's broker user with the AMQP "
                        "user_id property set to it (dept.<district>.<department>)",
                        {"user_id": [f"{message_user_id!r} is not a department's broker user"]})
    district, department = sender
    parsed = parse_command_key(routing_key)
    if parsed is None:
        raise Invalid("the routing key must be <district>.<department>.<action>",
                      {"routing_key": [f"{routing_key!r} is not three words"]})
    if parsed[:2] != (district, department):
        raise Forbidden(f"{message_user_id} may only publish under {district}.{department}.*",
                        {"routing_key": [f"{routing_key!r} names another department"]})
    return AuthContext(user_id=f"dept:{district}.{department}", district=district,
                       roles=(DEPARTMENT_ROLE,), department=department, name=f"{district}.{department}")


def check_action(command, routing_key):
    """The action in the routing key and in the body must be the same."""
    parsed = parse_command_key(routing_key)
    if parsed is not None and parsed[2] != command["action"]:
        raise Invalid("the routing key and the body name different actions",
                      {"action": [f"body says {command['action']!r}, routing key says {parsed[2]!r}"]})


def error_of(exc):
    """The platform's one error shape, for any exception."""
    if isinstance(exc, CivicGridError):
        return {"code": exc.code, "status": exc.status, "message": exc.message, "errors": _jsonable(exc.errors)}
    return {"code": "error", "status": 500,
            "message": "the command could not be handled; check the petition before sending it again",
            "errors": {}}


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))


def _peek(body, key):
    """What a (maybe malformed) body says about ``key``, so a failure can still be matched to its command."""
    if isinstance(body, (bytes, bytearray, str)):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
    if isinstance(body, dict):
        value = body.get(key)
        return value if isinstance(value, str) and len(value) <= 200 else None
    return None


def outcome(command=None, body=None, petition=None, error=None):
    """What goes back to the department on ``<district>.<department>.command_result``.

    ``command`` is the parsed command when parsing got that far; otherwise the ids
    are read, as far as possible, from the raw ``body``.
    """
    source = command or {}
    return {
        "type": COMMAND_RESULT,
        "command_id": source.get("command_id") or _peek(body, "command_id"),
        "petition_id": source.get("petition_id") or _peek(body, "petition_id"),
        "action": source.get("action") or _peek(body, "action"),
        "ok": error is None,
        "petition": petition if error is None else None,
        "error": error,
    }
