"""Entrypoints through which departments' systems answer over the bus (社区吹哨，部门报到).

A department publishes ``accept`` / ``return`` / ``resolve`` commands to the
topic exchange ``civicgrid.commands`` as its own broker user; the petitions
service consumes them from its durable queue ``civicgrid.petitions.commands``,
applies each exactly as the HTTP action would (``usecases.act``, same schemas,
same state and department checks) and publishes the outcome, success or error,
on the department's own key ``<district>.<department>.command_result`` of
``civicgrid.integration``. See docs/integration.md.

Delivery: the message is acked only once its outcome has been published (with
publisher confirms); a crash before that redelivers the command, and since
every action is state-checked a redelivered ``accept`` that had already been
applied comes back as a 409 outcome rather than applying twice.
"""
import logging
from functools import partial

from kombu import Queue
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer

from civicgrid import audit
from civicgrid.errors import CivicGridError, Invalid
from civicgrid.handlers import RetryOnFailure
from civicgrid.events import utcnow
from civicgrid.integration import (
    COMMANDS_BINDING_KEY, COMMANDS_EXCHANGE, COMMANDS_QUEUE_NAME, IntegrationPublisher, result_key,
)

from . import commands, usecases
from .dependencies import GridDirectory
from .repository import PetitionRepository
from .views import petition_view

log = logging.getLogger(__name__)

COMMANDS_QUEUE = Queue(COMMANDS_QUEUE_NAME, exchange=COMMANDS_EXCHANGE, routing_key=COMMANDS_BINDING_KEY,
                       durable=True)


class Undecodable:
    """A message kombu could not decode (a content type other than JSON, or broken JSON)."""

    def __init__(self, raw, error):
        self.raw = raw
        self.error = error


class CommandsQueueConsumer(QueueConsumer):
    """nameko's queue consumer, on a connection of its own, that hands a message kombu
    cannot decode to the entrypoint (which answers it with a 422 outcome) instead of
    kombu's default: log it and ack it away, leaving the department without an answer."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._undecodable, provider)
        return consumers

    def _undecodable(self, provider, message, exc):
        self.handle_message(provider, Undecodable(message.body, exc), message)


class CommandConsumer(RetryOnFailure, Consumer):
    """``consume`` that also passes who published the message and under which key; a command
    whose outcome cannot be published is retried later, then parked (``civicgrid.retries``).

    nameko context headers of an outside message are ignored: a department's
    message must not inject context data (a token, a call id) into the worker.
    """

    queue_consumer = CommandsQueueConsumer()

    @property
    def retry_queue_name(self):
        return self.queue.name

    def handle_message(self, body, message):
        properties = message.properties or {}
        meta = {
            "user_id": properties.get("user_id"),
            "routing_key": (message.delivery_info or {}).get("routing_key"),
            "redelivered": bool((message.delivery_info or {}).get("redelivered")),
        }
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, (body, meta), {}, context_data={}, handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)


command_consumer = CommandConsumer.decorator


class DepartmentCommands:
    """Mixed into ``PetitionsService``: uses its ``db``, ``grid``, ``_relay`` (and ``clock`` if it has one)."""

    # Outcomes leave the platform: no nameko context headers (they would carry a token).
    command_results = IntegrationPublisher()

    @command_consumer(COMMANDS_QUEUE)
    def handle_department_command(self, body, meta):
        """One command in, one outcome out; raises (and so retries later) only if the outcome cannot be published."""
        sender = commands.sender_of(meta["user_id"])
        if sender is None:
            # The broker vouches for user_id; without a department's there is nobody to answer
            # (and answering the routing key's department would let anyone write to its queue).
            log.warning("dropped a command from %r under %r: not a department's broker user",
                        meta["user_id"], meta["routing_key"])
            return None
        result = self._run_command(body, meta)
        district, department = sender
        self.command_results(result, routing_key=result_key(district, department))
        return result["ok"]

    def _run_command(self, body, meta):
        command = None
        raw = body.raw if isinstance(body, Undecodable) else body
        try:
            auth = commands.department_from(meta["user_id"], meta["routing_key"])
            if isinstance(body, Undecodable):
                raise Invalid("the command could not be decoded: publish JSON (content type application/json)",
                              {"_schema": [str(body.error)]})
            command = commands.parse_command(body)
            commands.check_action(command, meta["routing_key"])
            now = self._command_now()
            petition = usecases.act(PetitionRepository(self.db), GridDirectory(self.grid), auth,
                                    command["petition_id"], command["action"], command["payload"], now)
        except Exception as exc:
            if not isinstance(exc, CivicGridError):
                log.exception("command %r from %s failed", meta["routing_key"], meta["user_id"])
            return commands.outcome(command, body=raw, error=commands.error_of(exc))
        audit.record(self.db, audit.entry(
            self.name, "act", auth, {"channel": "amqp", "broker_user": meta["user_id"]},
            {"petition_id": command["petition_id"], "action": command["action"], "payload": command["payload"]},
            None, utcnow()))
        self._relay(petition["_id"])
        return commands.outcome(command, petition=petition_view(petition, now))

    def _command_now(self):
        clock = getattr(self, "clock", None)
        return clock() if callable(clock) else utcnow()
