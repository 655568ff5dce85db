"""Parked messages for the platform's operator: list them with their error, replay or discard them.

The same as ``python -m civicgrid.parked``; parked messages hold any district's events,
so only the platform administrator sees them.
"""
import functools

from flask import current_app, g
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from civicgrid import parked
from civicgrid.errors import Forbidden
from civicgrid.provision import ProvisionError

from ..security import BEARER, authenticated

blp = Blueprint("operator", __name__, url_prefix="/api/v1/operator",
                description="Platform operation: messages every retry failed to handle (dead letters)")


class ParkedOut(Schema):
    queue = fields.String(metadata={"description": "the parked queue: <consumer queue>.parked"})
    consumer_queue = fields.String()
    id = fields.String(metadata={"description": "the event id (or AMQP message id)"})
    type = fields.String(allow_none=True)
    attempts = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "the last attempt's exception"})
    failed_at = fields.String(allow_none=True)
    body = fields.Raw()


class ParkedQuery(Schema):
    queue = fields.String(validate=validate.Regexp(r"\.parked\Z", error="must name a parked queue (….parked)"))


class ParkedAction(Schema):
    queue = fields.String(validate=validate.Regexp(r"\.parked\Z", error="must name a parked queue (….parked)"))
    ids = fields.List(fields.String(validate=validate.Length(min=1, max=128)), validate=validate.Length(min=1, max=500))
    all = fields.Boolean(load_default=False)

    @validates_schema
    def _ids_or_all(self, data, **kwargs):
        if not data.get("all") and not data.get("ids"):
            raise ValidationError("name the messages (ids) or send all: true", "ids")
        if data.get("all") and data.get("ids"):
            raise ValidationError("either ids or all, not both", "all")


def _broker_answers(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except ProvisionError as err:
            abort(503, message=str(err))
    return wrapper


def _operator_only():
    if not g.auth.is_platform_admin:
        raise Forbidden("only the platform administrator handles parked messages")
    return current_app.config.get("AMQP_URI")


@blp.route("/parked", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(ParkedQuery, location="query")
@blp.response(200, ParkedOut(many=True))
@authenticated
@_broker_answers
def list_parked(query):
    """Every parked message (or one queue's), oldest first per queue, with the error that parked it."""
    return parked.list_parked(_operator_only(), queue=query.get("queue"))


@blp.route("/parked/replay", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ParkedAction)
@blp.response(200, ParkedOut(many=True))
@authenticated
@_broker_answers
def replay(action):
    """Send the named messages (or all) back to their consumer with a fresh count of attempts."""
    return parked.replay(_operator_only(), queue=action.get("queue"),
                         ids=None if action["all"] else set(action["ids"]))


@blp.route("/parked/discard", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ParkedAction)
@blp.response(200, ParkedOut(many=True))
@authenticated
@_broker_answers
def discard(action):
    """Drop the named messages (or all) for good; the answer lists what was dropped."""
    return parked.discard(_operator_only(), queue=action.get("queue"),
                          ids=None if action["all"] else set(action["ids"]))
