"""An answer the broker cannot take ends neither the worker nor the service (civicgrid/rpc.py)."""
import types

import kombu.exceptions
import pytest

from civicgrid.rpc import AnsweringRpc


class _Queue:
    def __init__(self, error=None):
        self.error, self.acked = error, []

    def ack_message(self, message):
        if self.error:
            raise self.error
        self.acked.append(message)


class _Consumer:
    def __init__(self, error=None, ack_error=None):
        self.error, self.answered, self.queue_consumer = error, [], _Queue(ack_error)

    def handle_result(self, message, result, exc_info):
        if self.error:
            raise self.error
        self.answered.append(result)
        return result, exc_info


def entrypoint(consumer):
    rpc = AnsweringRpc.__new__(AnsweringRpc)          # no container: only handle_result is exercised
    rpc.rpc_consumer = consumer
    return rpc


WORKER = types.SimpleNamespace(service_name="petitions", entrypoint=types.SimpleNamespace(method_name="submit"))


def test_a_reply_is_sent_as_nameko_sends_it():
    consumer = _Consumer()
    assert entrypoint(consumer).handle_result("msg", WORKER, {"id": "hb-1"}, None) == ({"id": "hb-1"}, None)
    assert consumer.answered == [{"id": "hb-1"}]


@pytest.mark.parametrize("error", [kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED"),
                                   ConnectionResetError(104, "Connection reset by peer")])
def test_a_reply_the_broker_cannot_take_leaves_the_worker_standing_and_the_call_done(error, caplog):
    consumer = _Consumer(error)
    result = entrypoint(consumer).handle_result("msg", WORKER, {"id": "hb-1"}, None)
    assert result == ({"id": "hb-1"}, None)
    assert "petitions.submit could not be sent" in caplog.text
    assert consumer.queue_consumer.acked == ["msg"]          # not run a second time


def test_when_not_even_the_acknowledgement_gets_through_the_worker_still_stands(caplog):
    consumer = _Consumer(ConnectionResetError(104, "reset"), ack_error=ConnectionResetError(104, "reset"))
    assert entrypoint(consumer).handle_result("msg", WORKER, None, None) == (None, None)
    assert "give the call again" in caplog.text


def test_anything_else_is_not_swallowed():
    with pytest.raises(ZeroDivisionError):
        entrypoint(_Consumer(ZeroDivisionError())).handle_result("msg", WORKER, None, None)
