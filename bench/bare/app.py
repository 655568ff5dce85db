"""The bare gateway: plain Flask over the platform's own RPC pool (gateway/rpc.py), no schemas, no auth."""
import logging

from flask import Flask, jsonify, request

from civicgrid import config as settings
from gateway.rpc import RpcPool


def create_app():
    # the gateway's own logging set-up (gateway/app.py), so both log alike
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bare-gateway %(levelname)s %(name)s: %(message)s")
    app = Flask(__name__)
    pool = RpcPool(settings.amqp_uri(), settings.rpc_timeout())

    @app.post("/bare/touch")
    def touch():
        body = request.get_json(force=True, silent=True) or {}
        return jsonify(pool.call(None, "bare", "touch", str(body.get("id") or "x")))

    @app.get("/bare/echo/<value>")
    def echo(value):
        return jsonify(pool.call(None, "bare", "echo", value))

    @app.get("/bare/seen/<value>")
    def seen(value):
        return jsonify({"seen": pool.call(None, "bare_handler", "has_seen", value)})

    @app.get("/bare/handled")
    def handled():
        return jsonify({"handled": pool.call(None, "bare_handler", "handled")})

    @app.get("/bare/passed-on")
    def passed_on():
        return jsonify({"passed_on": pool.call(None, "bare_handler", "passed_on")})

    @app.get("/bare/landed")
    def landed():
        """What bare took of them (frozen during the drain ceiling: it takes them after)."""
        return jsonify({"landed": pool.call(None, "bare", "landed")})

    @app.get("/readyz")
    def readyz():
        for service in ("bare", "bare_handler"):
            pool.call(None, service, "ping")
        return jsonify({"status": "ready"})

    return app
