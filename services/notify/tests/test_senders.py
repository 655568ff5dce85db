"""The shipped SMS and WeChat providers against local stand-ins of their HTTP interfaces."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from services.notify import channels, senders


class FakeProvider:
    """WeChat's token and template-message endpoints, and an SMS gateway, answering from a script."""

    def __init__(self):
        self.tokens_issued = 0
        self.valid = set()
        self.sent = []
        self.answers = []  # per send: an errcode, or an HTTP status for the SMS gateway
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if query.get("secret") != ["s3cret"]:
                    return fake.reply(self, 200, {"errcode": 40125, "errmsg": "invalid appsecret"})
                fake.tokens_issued += 1
                token = f"token-{fake.tokens_issued}"
                fake.valid = {token}
                fake.reply(self, 200, {"access_token": token, "expires_in": 7200})

            def do_POST(self):
                url = urlsplit(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                step = fake.answers.pop(0) if fake.answers else 0
                if url.path == "/sms":
                    fake.sent.append((body, self.headers.get("Authorization")))
                    return fake.reply(self, step or 200, {"id": f"sms-{len(fake.sent)}"})
                token = parse_qs(url.query)["access_token"][0]
                if token not in fake.valid:
                    return fake.reply(self, 200, {"errcode": 42001, "errmsg": "access_token expired"})
                fake.sent.append((body, token))
                if step:
                    return fake.reply(self, 200, {"errcode": step, "errmsg": "scripted"})
                fake.reply(self, 200, {"errcode": 0, "errmsg": "ok", "msgid": 200228332})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def reply(handler, status, body):
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


@pytest.fixture
def provider():
    fake = FakeProvider()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def wechat_settings(monkeypatch, provider):
    monkeypatch.setenv("CIVICGRID_WECHAT_APPID", "wx1234")
    monkeypatch.setenv("CIVICGRID_WECHAT_APPSECRET", "s3cret")
    monkeypatch.setenv("CIVICGRID_WECHAT_API_BASE", provider.base)
    monkeypatch.setenv("CIVICGRID_WECHAT_TEMPLATE_ID", "tpl-notice")


DOC = {"_id": "d1", "payload": {"title": "诉求已派单", "body": "您的诉求「路灯」已派单至镇城建办"}}


def test_wechat_template_messages_reuse_the_token_and_renew_it_when_refused(provider, wechat_settings):
    channel = channels.WeChatChannel(channels.load_sender("services.notify.senders:wechat_official_account", "x"))
    assert channel.send(DOC, {"address": "oWen123456"}) == {"provider_id": "200228332"}
    channel.send(DOC, {"address": "oZhang12345"})
    assert provider.tokens_issued == 1  # cached
    body, token = provider.sent[0]
    assert body == {"touser": "oWen123456", "template_id": "tpl-notice", "data": {
        "first": {"value": "诉求已派单"}, "keyword1": {"value": "您的诉求「路灯」已派单至镇城建办"}, "remark": {"value": ""}}}
    provider.valid = set()  # WeChat let the token go (another server fetched a new one, say)
    assert channel.send(DOC, {"address": "oWen123456"})["provider_id"] == "200228332"
    assert provider.tokens_issued == 2 and provider.sent[-1][1] == "token-2"


@pytest.mark.parametrize("errcode, retryable", [(43004, False), (40003, False), (-1, True), (45009, True)])
def test_wechat_errors_are_classified(provider, wechat_settings, errcode, retryable):
    channel = channels.WeChatChannel(senders.wechat_official_account())
    provider.answers = [errcode]
    with pytest.raises(channels.DeliveryError) as err:
        channel.send(DOC, {"address": "oWen123456"})
    assert err.value.retryable is retryable and str(errcode) in str(err.value)


def test_wechat_with_wrong_credentials_fails_naming_them(provider, wechat_settings, monkeypatch):
    monkeypatch.setenv("CIVICGRID_WECHAT_APPSECRET", "wrong")
    with pytest.raises(channels.DeliveryError, match="refused the credentials: 40125"):
        channels.WeChatChannel(senders.wechat_official_account()).send(DOC, {"address": "oWen123456"})


def test_a_provider_without_its_settings_refuses_to_start(monkeypatch):
    monkeypatch.delenv("CIVICGRID_WECHAT_APPID", raising=False)
    with pytest.raises(RuntimeError, match="CIVICGRID_WECHAT_APPID must be set"):
        channels.load_sender("services.notify.senders:wechat_official_account", "WeChat")
    monkeypatch.delenv("CIVICGRID_SMS_URL", raising=False)
    with pytest.raises(RuntimeError, match="CIVICGRID_SMS_URL"):
        senders.http_sms()


def test_the_http_sms_gateway(provider, monkeypatch):
    monkeypatch.setenv("CIVICGRID_SMS_URL", provider.base + "/sms")
    monkeypatch.setenv("CIVICGRID_SMS_TOKEN", "t0k")
    channel = channels.SmsChannel(senders.http_sms())
    assert channel.send(DOC, {"address": "13800000000"}) == {"provider_id": "sms-1"}
    assert provider.sent[0] == ({"phone": "13800000000", "text": "【诉求已派单】您的诉求「路灯」已派单至镇城建办"},
                                "Bearer t0k")
    for status, retryable in ((503, True), (429, True), (400, False)):
        provider.answers = [status]
        with pytest.raises(channels.DeliveryError) as err:
            channel.send(DOC, {"address": "13800000000"})
        assert err.value.retryable is retryable and err.value.status_code == status
