"""The API client opens a fresh connection after an idle spell, rather than race the server's keep-alive close."""
import http.server
import threading
import time

from civicgrid import client as client_module
from civicgrid.client import Client


class _Peers(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers = []

    def do_GET(self):
        self.peers.append(self.client_address[1])
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_connection_idle_longer_than_the_limit_is_not_reused(monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Peers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(client_module, "IDLE_SECONDS", 0.2)
        api = Client(f"http://127.0.0.1:{server.server_port}")
        assert api.get("/a") == {"ok": True} and api.get("/b") == {"ok": True}
        time.sleep(0.3)
        assert api.get("/c") == {"ok": True}
        first, second, third = _Peers.peers[-3:]
        assert first == second and third != second          # kept while busy, fresh after the idle spell
    finally:
        server.shutdown()
