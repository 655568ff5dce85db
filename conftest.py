"""Root test configuration.

nameko's pytest plugin no longer monkey-patches; services under test run on
eventlet, so the whole test process is patched before anything else imports.
"""
import warnings

warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402

import os  # noqa: E402

import pytest  # noqa: E402


def pytest_configure(config):
    # The broker tests use the same broker `make run` uses, in a throwaway vhost.
    uri = os.environ.get("AMQP_URI")
    if uri and hasattr(config.option, "RABBIT_AMQP_URI"):
        config.option.RABBIT_AMQP_URI = uri


@pytest.fixture
def service_config(rabbit_config):
    """nameko config for a container under test: the throwaway vhost and a private database."""
    cfg = dict(rabbit_config)
    cfg["MONGO_URI"] = os.environ.get("MONGO_URI", "")
    cfg["MONGO_DB_PREFIX"] = "test_" + os.urandom(4).hex()
    return cfg
