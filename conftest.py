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
def db_prefix():
    """Databases of this test's own; with a real MongoDB (MONGO_URI) they are dropped afterwards."""
    prefix = "test_" + os.urandom(4).hex()
    yield prefix
    from civicgrid.harness import drop_databases
    drop_databases(prefix)


@pytest.fixture
def open_db(db_prefix):
    """``open_db("grid")``: the store a service would get, mongomock unless MONGO_URI is set."""
    from civicgrid.store import ensure_kit_indexes, open_database
    clients = []

    def factory(service_name):
        client, db = open_database(service_name, prefix=db_prefix)
        clients.append(client)
        ensure_kit_indexes(db)
        return db

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def service_config(rabbit_config, db_prefix):
    """nameko config for a container under test: the throwaway vhost and a private database."""
    cfg = dict(rabbit_config)
    cfg["MONGO_URI"] = os.environ.get("MONGO_URI", "")
    cfg["MONGO_DB_PREFIX"] = db_prefix
    return cfg
