"""nameko entrypoints whose failed messages are retried later, then parked (``civicgrid.retries``).

Use ``civicgrid.handlers.event_handler`` wherever ``nameko.events.event_handler`` would be
used; the signature is the same. A message whose handler raised is republished to a wait
queue (delayed redelivery) and only then acked; if that republish itself fails (the broker
went away) the message is requeued, so it is never lost.
"""
import logging

from nameko.events import EventHandler
from nameko.messaging import Consumer

from . import retries

log = logging.getLogger("civicgrid.handlers")


class RetryOnFailure:
    """Mixed into a nameko ``Consumer`` subclass; ``retry_queue_name`` names its queue."""

    ephemeral = False

    def setup(self):
        super().setup()
        retries.declare(self.retry_queue_name, self.container.config.get("AMQP_URI"), ephemeral=self.ephemeral)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        name = self.retry_queue_name
        try:
            outcome, attempt = retries.reroute(message, name, exc_info, self.container.config.get("AMQP_URI"),
                                               ephemeral=self.ephemeral)
        except Exception:
            log.exception("%s: could not move a failed message aside; requeued instead", name)
            self.queue_consumer.requeue_message(message)
            return
        level = logging.ERROR if outcome == "parked" else logging.WARNING
        log.log(level, "%s: attempt %s failed (%s): %s", name, attempt, retries.describe(exc_info),
                "parked for an operator" if outcome == "parked" else "retried later")
        self.queue_consumer.ack_message(message)


class RetryingEventHandler(RetryOnFailure, EventHandler):

    @property
    def ephemeral(self):
        return not self.reliable_delivery

    @property
    def retry_queue_name(self):
        return self.queue.name


class RetryingConsumer(RetryOnFailure, Consumer):

    @property
    def retry_queue_name(self):
        return self.queue.name


event_handler = RetryingEventHandler.decorator
consume = RetryingConsumer.decorator
