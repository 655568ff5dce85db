"""Sign-in and redemption are rate-limited per address and per user, answered in the platform's error shape."""
import pytest

from civicgrid.auth import issue_token
from gateway import limits
from gateway.app import create_app


@pytest.fixture
def client(rabbit_config):
    """A gateway with small limits and no services behind it: refused requests count as well."""
    small = {
        "auth.token": [("4/minute", limits.get_remote_address), ("2/minute", limits._username)],
        "orders.reserve": [("4/minute", limits.get_remote_address), ("2/minute", limits._user_or_address)],
    }
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "RPC_TIMEOUT": 2, "RATE_LIMITS": small})
    return app.test_client()


def sign_in(client, username, address="10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": "wrong-password"},
                       environ_base={"REMOTE_ADDR": address})


def test_sign_in_is_limited_per_username_and_per_address(client):
    assert [sign_in(client, "alice").status_code for _ in range(2)] == [503, 503]
    refused = sign_in(client, "alice")
    assert refused.status_code == 429
    assert refused.json["message"].startswith("too many requests (at most 2/minute)")
    assert refused.headers["Retry-After"]
    # the same username from elsewhere is still limited; another one from here is not yet
    assert sign_in(client, "alice", address="10.0.0.2").status_code == 429
    assert sign_in(client, "bob").status_code == 503
    # …until the address has used its four (a refused attempt counts too)
    assert sign_in(client, "carol").status_code == 429


def test_redemption_is_limited_per_signed_in_user(client):
    def reserve(user, address="10.0.0.9"):
        token, _ = issue_token(user, "hb", ["resident"])
        return client.post("/api/v1/orders", json={"item_id": "rice", "quantity": 1},
                           headers={"Authorization": f"Bearer {token}"}, environ_base={"REMOTE_ADDR": address})
    assert reserve("alice").status_code != 429
    assert reserve("alice", "10.0.0.10").status_code != 429
    assert reserve("alice", "10.0.0.11").status_code == 429
    assert reserve("bob", "10.0.0.12").status_code != 429



def test_no_request_passes_through_the_limiters_own_check(client):
    """The limited views weigh their limits in their decorators (the tests above); the limiter's
    before-request check, with no application-wide limits to weigh, is off every request's path."""
    hooks = client.application.before_request_funcs.get(None, [])
    assert hooks and not [hook for hook in hooks if getattr(hook, "__func__", None) is limits.Limiter._check_request_limit]
    assert client.get("/healthz").status_code == 200
