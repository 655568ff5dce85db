"""Every schema of the OpenAPI document under a name of its own: a department's generated client gets no ``Month1``."""
import warnings

from gateway.app import create_app


def test_no_two_schemas_share_a_name(rabbit_config):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Multiple schemas resolved to the name")
        app = create_app({"TESTING": True, "AMQP_URI": rabbit_config["AMQP_URI"]})
        schemas = app.test_client().get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "DashboardMonth" in schemas and "Month" in schemas
    assert not [name for name in schemas if name[-1].isdigit() and name.rstrip("0123456789") in schemas]
