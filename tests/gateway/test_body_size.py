"""Bodies over the cap are refused before anything reads them, in each API's own error format."""
import pytest

from gateway.app import create_app


@pytest.fixture
def client(rabbit_config):
    return create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "RPC_TIMEOUT": 2}).test_client()


def test_a_body_over_256_kib_is_413_naming_the_body(client):
    big = b'{"title": "' + b"x" * (300 * 1024) + b'"}'
    answer = client.post("/api/v1/petitions", data=big, content_type="application/json",
                         headers={"Authorization": "Bearer whatever"})
    assert answer.status_code == 413
    assert answer.json["errors"] == {"body": ["at most 256 KiB; send photos as URLs"]}


def test_open311_answers_in_the_standards_format(client):
    answer = client.post("/open311/v2/requests.json", data={"description": "x" * (300 * 1024)})
    assert answer.status_code == 400
    assert answer.json == [{"code": 400, "description": "the request is larger than 256 KiB: send media as media_url"}]
