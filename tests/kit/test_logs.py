"""JSON log lines and the correlation id: the formatter, the filter, the envelope, the outbox."""
import io
import json
import logging
import logging.config
import os
import uuid
import warnings

import pytest
import yaml

from civicgrid import correlation, events, integration, launcher, logs, outbox
from civicgrid.harness import ROOT
from civicgrid.errors import Invalid


def logger_to(stream, service="grid"):
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter(service))
    logger = logging.getLogger("test.logs." + uuid.uuid4().hex[:6])
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_the_platform_fields_time_first():
    stream = io.StringIO()
    log = logger_to(stream, "petitions")
    with correlation.bound("req-42"):
        log.info("rpc %s ok", "petitions.submit", extra={"petition_id": "hb-000001", "duration_ms": 3.2})
    log.warning("诉求 %s", "灯不亮")
    first, second = lines(stream)
    assert list(first)[:7] == ["time", "level", "service", "pid", "logger", "message", "correlation_id"]
    assert first["time"].endswith("+00:00") and first["level"] == "INFO" and first["service"] == "petitions"
    assert first["message"] == "rpc petitions.submit ok" and first["correlation_id"] == "req-42"
    assert first["petition_id"] == "hb-000001" and first["duration_ms"] == 3.2
    assert second["correlation_id"] is None and second["level"] == "WARNING"
    assert "灯不亮" in stream.getvalue()   # readable, not \\u escapes


def test_a_traceback_stays_on_the_one_line():
    stream = io.StringIO()
    log = logger_to(stream)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("failed")
    [line] = lines(stream)
    assert "RuntimeError: boom" in line["exc_info"] and line["level"] == "ERROR"


def json_lines_of(config, logger_name, stream):
    """Apply a logging config to one logger of the test's own (the root stays pytest's)."""
    config = dict(config, loggers={logger_name: {"level": "INFO", "handlers": ["console"], "propagate": False}})
    config.pop("root", None)
    config["disable_existing_loggers"] = False   # nameko run's default True would silence the rest of the tests
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    with correlation.bound("req-1"):
        logging.getLogger(logger_name).info("hello %s", "world")
    return lines(stream)


def test_the_config_gunicorn_and_configure_use_writes_json_lines():
    [line] = json_lines_of(logs.dict_config("gateway"), "test.dictconfig.gateway", io.StringIO())
    assert (line["service"], line["correlation_id"], line["message"]) == ("gateway", "req-1", "hello world")
    root = logging.getLogger()
    before = list(root.handlers)
    logs.configure("gateway")   # pytest's handler is on the root already: left alone, as basicConfig would
    assert root.handlers == before


@pytest.mark.parametrize("service", ["grid", "petitions", "points", "notify"])
def test_each_service_config_yml_logs_json_and_names_its_metrics_port(service, monkeypatch):
    monkeypatch.delenv("CIVICGRID_METRICS_PORT", raising=False)
    with warnings.catch_warnings():   # nameko's CLI imports pkg_resources (DESIGN.md, pins)
        warnings.simplefilter("ignore")
        from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor

    class Loader(yaml.SafeLoader):
        """The ${VAR:default} substitution `nameko run` does, on a loader of our own: nameko's
        setup_yaml_parser() would change yaml.SafeLoader for every later test."""
    Loader.add_constructor("!env_var", env_var_constructor)
    Loader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)
    with open(os.path.join(ROOT, "services", service, "config.yml"), encoding="utf-8") as f:
        config = yaml.load(f, Loader=Loader)
    assert config["METRICS_PORT"] == launcher.METRICS_PORTS[service]
    [line] = json_lines_of(config["LOGGING"], f"test.dictconfig.{service}", io.StringIO())
    assert (line["service"], line["correlation_id"]) == (service, "req-1")


@pytest.mark.parametrize("sent, kept", [
    ("req-42", "req-42"), ("  abc:def/1+2=3@x.y_z  ", "abc:def/1+2=3@x.y_z"), ("x" * 300, "x" * 100),
    ("has space", None), ("引号", None), ("", None), (None, None), (42, None), ('a"b', None),
])
def test_only_a_printable_capped_id_is_taken(sent, kept):
    assert correlation.clean(sent) == kept


def test_bound_restores_the_outer_id_and_ignores_an_unusable_one():
    assert correlation.current() is None
    with correlation.bound("outer"):
        with correlation.bound("inner") as inner:
            assert inner == correlation.current() == "inner"
        with correlation.bound(None) as same:
            assert same == correlation.current() == "outer"
        assert correlation.current() == "outer"
    assert correlation.current() is None


ACTOR = {"id": "u1", "role": "resident"}
DATA = {"user_id": "u1", "amount": 2, "balance": 2, "reason": "rated", "transaction_id": "t1"}


def test_an_event_made_in_a_request_carries_its_id_and_an_old_envelope_stays_valid():
    plain = events.make_event("points_awarded", "hb", ACTOR, DATA)
    assert "correlation_id" not in plain          # outside a request: the envelope as before
    with correlation.bound("req-7"):
        inside = events.make_event("points_awarded", "hb", ACTOR, DATA)
        chosen = events.make_event("points_awarded", "hb", ACTOR, DATA, correlation_id="cause-1")
    assert inside["correlation_id"] == "req-7" and chosen["correlation_id"] == "cause-1"
    events.validate_event(plain)
    with pytest.raises(Invalid) as err:
        events.validate_event(dict(inside, correlation_id="x" * 101))
    assert "correlation_id" in err.value.errors


def test_the_outbox_relay_publishes_each_event_under_the_id_it_was_stored_with(open_db):
    db = open_db("petitions")
    with correlation.bound("submit-req"):
        first = events.make_event("points_awarded", "hb", ACTOR, DATA)
    with correlation.bound("rate-req"):
        second = events.make_event("points_awarded", "hb", ACTOR, dict(DATA, transaction_id="t2"))
    db.petitions.insert_one({"_id": "hb-000001", "outbox": [first, second]})
    seen = []
    with correlation.bound("relay-timer"):   # the relay's own worker has an id of its own
        sent = outbox.publish_pending(db.petitions, lambda type_, event: seen.append(
            (event["correlation_id"], correlation.current())))
        assert correlation.current() == "relay-timer"
    assert sent == 2 and seen == [("submit-req", "submit-req"), ("rate-req", "rate-req")]


def test_a_department_gets_the_id_as_a_message_property_and_the_envelope_it_knows():
    with correlation.bound("req-9"):
        event = events.make_event("points_awarded", "hb", ACTOR, DATA)
    body, properties = integration.outgoing(event)
    assert "correlation_id" not in body and body["event_id"] == event["event_id"]
    assert properties == {"correlation_id": "req-9"}
    assert integration.outgoing(events.make_event("points_awarded", "hb", ACTOR, DATA))[1] == {}
