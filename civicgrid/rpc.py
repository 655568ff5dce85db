"""The RPC entrypoint every service uses: domain errors are expected, not crashes, and a reply the
broker cannot take does not bring the service down."""
import logging

import amqp.exceptions
import kombu.exceptions
from nameko.rpc import Rpc

from .errors import EXPECTED

log = logging.getLogger("civicgrid.rpc")
# what publishing the reply raises while the broker is away (kombu gives up after its retries)
BROKER_AWAY = (OSError, kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError)


class AnsweringRpc(Rpc):
    """nameko's ``rpc``, except when the reply cannot be published. nameko lets that error end the
    worker, which kills the container and the process with it (seen in the chaos run when the broker
    restarted mid-call). Here the call is acknowledged as done (its effect is stored; running it again
    could file a second petition) and the caller, who has no answer, sees its timeout. If even the
    acknowledgement cannot reach the broker, the broker gives the call again, as to a restarted process."""

    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_AWAY as error:
            log.warning("the answer to %s.%s could not be sent (%s: %s)", worker_ctx.service_name,
                        worker_ctx.entrypoint.method_name, type(error).__name__, error)
            try:
                self.rpc_consumer.queue_consumer.ack_message(message)
            except BROKER_AWAY:
                log.warning("nor its acknowledgement: the broker will give the call again")
            return result, exc_info


def rpc(fn):
    return AnsweringRpc.decorator(expected_exceptions=EXPECTED)(fn)
