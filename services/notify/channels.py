"""Channels behind one interface: ``send(delivery, target)`` returns what the other side said or raises.

- ``inbox``: written by the handler itself (domain.notify), always on, nothing to send;
- ``webhook``: a department's or district's system, HTTPS, signed (signing.py);
- ``sms`` and ``wechat``: adapters around a *sender*; the default sender only logs,
  a real provider is named by ``CIVICGRID_SMS_SENDER`` / ``CIVICGRID_WECHAT_SENDER``
  (``package.module:factory``, the factory returns an object with ``send``).

A failure is ``DeliveryError``: ``retryable`` ones (timeouts, 5xx, 429, a provider
that is down) are tried again later with backoff; others (a 404 URL, a removed
webhook) fail at once. Every send has a time limit, so one slow receiver holds one
green thread of the courier and nothing else.
"""
import importlib
import json
import logging
import urllib.parse
import uuid

import eventlet

from civicgrid import correlation

from . import options, signing

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class DeliveryError(Exception):
    def __init__(self, message, retryable=True, status_code=None):
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code


def url_problem(url):
    """Why a webhook URL is not acceptable, or ``None``."""
    if not isinstance(url, str) or len(url) > 2000:
        return "must be a URL of at most 2000 characters"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "is not a URL"
    if not parts.hostname:
        return "must name a host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        if options.webhook_allow_local_http():
            return None
        return "must be https (http://127.0.0.1 only with CIVICGRID_WEBHOOK_ALLOW_LOCAL_HTTP=1, for tests)"
    return "must be an https:// URL"


class Channel:
    name = None

    def send(self, delivery, target):  # pragma: no cover - the interface
        raise NotImplementedError


class WebhookChannel(Channel):
    """POSTs ``{"delivery_id", "attempt", "event"}`` as JSON, signed, within ``options.webhook_timeout()`` s."""
    name = "webhook"

    def __init__(self, session=None):
        import requests
        self.requests = requests
        self.session = session or requests.Session()

    @staticmethod
    def body(delivery):
        # the attempt number makes every attempt's body, hence its signature, unique: a receiver
        # refusing a signature it has seen refuses replays, never a genuine retry
        return json.dumps({"delivery_id": delivery["_id"], "attempt": delivery.get("attempts", 0) + 1,
                           "event": delivery["payload"]["event"]},
                          ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")

    def send(self, delivery, target):
        problem = url_problem(target.get("url"))
        if problem:
            raise DeliveryError(f"webhook URL {problem}", retryable=False)
        body = self.body(delivery)
        headers = signing.headers(target["secret"], body, delivery["_id"], delivery["type"])
        if delivery.get("correlation_id"):   # the request that caused it, for the receiver's own logs
            headers[correlation.HEADER] = delivery["correlation_id"]
        timeout = options.webhook_timeout()
        try:
            # connect and read limits, and one for the whole exchange (a receiver trickling bytes)
            with eventlet.Timeout(timeout * 2 + 1):
                response = self.session.post(target["url"], data=body, headers=headers,
                                             timeout=(timeout, timeout), allow_redirects=False)
        except eventlet.Timeout:
            raise DeliveryError(f"no complete answer within {timeout * 2 + 1:g}s")
        except self.requests.Timeout:
            raise DeliveryError(f"timed out after {timeout:g}s")
        except self.requests.RequestException as err:
            raise DeliveryError(f"connection failed: {err.__class__.__name__}")
        code = response.status_code
        if 200 <= code < 300:
            return {"status_code": code}
        retryable = code >= 500 or code in (408, 425, 429)
        raise DeliveryError(f"receiver answered {code}", retryable=retryable, status_code=code)


def mask(address):
    address = str(address or "")
    return address[:3] + "****" + address[-2:] if len(address) > 6 else "****"


class LoggingSender:
    """The default sender of SMS and WeChat messages: it logs, and says it sent."""

    def __init__(self, kind):
        self.kind = kind

    def send(self, address, title, body, **extra):
        log.info("%s to %s: %s | %s", self.kind, mask(address), title, body)
        return {"provider_id": f"log-{uuid.uuid4().hex[:12]}"}


def load_sender(spec, kind):
    """The sender a setting names (``package.module:factory``), or one that logs."""
    if not spec:
        return LoggingSender(kind)
    module, _, factory = spec.partition(":")
    return getattr(importlib.import_module(module), factory or "create")()


class _SenderChannel(Channel):
    def __init__(self, sender):
        self.sender = sender

    def _call(self, *args, **kwargs):
        try:
            with eventlet.Timeout(options.webhook_timeout() * 2 + 1):
                return self.sender.send(*args, **kwargs) or {}
        except eventlet.Timeout:
            raise DeliveryError(f"{self.name} provider did not answer in time")
        except DeliveryError:
            raise
        except Exception as err:  # a provider's own error: worth another try
            raise DeliveryError(f"{self.name} provider failed: {err}")


class SmsChannel(_SenderChannel):
    name = "sms"
    LIMIT = 300

    def send(self, delivery, target):
        payload = delivery["payload"]
        text = f"【{payload['title']}】{payload['body']}"[:self.LIMIT]
        return self._call(target["address"], payload["title"], text, kind="sms")


class WeChatChannel(_SenderChannel):
    """A WeChat template message: the notice's heading and body as the template's keywords."""
    name = "wechat"

    def send(self, delivery, target):
        payload = delivery["payload"]
        data = {"first": payload["title"], "keyword1": payload["body"],
                "remark": payload.get("remark") or ""}
        return self._call(target["address"], payload["title"], payload["body"], kind="wechat",
                          template_id=options.wechat_template_id(), data=data)


def default_channels():
    return {
        "webhook": WebhookChannel(),
        "sms": SmsChannel(load_sender(options.sms_sender(), "SMS")),
        "wechat": WeChatChannel(load_sender(options.wechat_sender(), "WeChat")),
    }
