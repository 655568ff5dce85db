"""Real providers behind the SMS and WeChat channels, chosen by settings.

``channels.load_sender`` takes ``package.module:factory`` from ``CIVICGRID_SMS_SENDER`` /
``CIVICGRID_WECHAT_SENDER``; unset, the channels only log. These two factories are the
providers the platform ships:

- ``services.notify.senders:wechat_official_account``: WeChat template messages (模板消息)
  through the district's official account (公众号). ``CIVICGRID_WECHAT_APPID`` and
  ``CIVICGRID_WECHAT_APPSECRET`` get an access token (cached until a minute before it
  expires, fetched again at once when WeChat says it is no longer valid);
  ``CIVICGRID_WECHAT_TEMPLATE_ID`` names the template (keywords ``first``, ``keyword1``,
  ``remark``); ``CIVICGRID_WECHAT_API_BASE`` defaults to https://api.weixin.qq.com.
- ``services.notify.senders:http_sms``: an SMS gateway over HTTPS (a district's relay, or a
  provider's HTTP interface): POST ``{"phone", "text"}`` as JSON to ``CIVICGRID_SMS_URL`` with
  ``Authorization: Bearer <CIVICGRID_SMS_TOKEN>``; a 2xx is sent (its JSON ``id``, if any, is kept).

Either raises ``DeliveryError``: retryable for what may pass (timeouts, 5xx, 429, WeChat's
"system busy" and rate limits), not for what will not (an unknown openid, a user who
unfollowed the account, a refused number), so the courier's backoff applies as for webhooks.
"""
import os
import threading
import time

from . import options
from .channels import DeliveryError

# WeChat's errcodes: the access token is no longer good / worth another try later
TOKEN_INVALID = {40001, 40014, 42001}
RETRYABLE_ERRCODES = {-1, 45009, 45047}


def _setting(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must be set for this provider")
    return value


def _post_json(session, url, payload, **kwargs):
    import requests
    timeout = options.webhook_timeout()
    try:
        response = session.post(url, json=payload, timeout=(timeout, timeout), allow_redirects=False, **kwargs)
    except requests.Timeout:
        raise DeliveryError(f"provider timed out after {timeout:g}s")
    except requests.RequestException as err:
        raise DeliveryError(f"provider unreachable: {err.__class__.__name__}")
    return response


def _classify(response, who):
    code = response.status_code
    if 200 <= code < 300:
        return
    raise DeliveryError(f"{who} answered {code}", retryable=code >= 500 or code in (408, 429), status_code=code)


class WeChatOfficialAccount:
    """Template messages through one official account; thread-safe token cache."""

    def __init__(self, appid, secret, base="https://api.weixin.qq.com", session=None, clock=time.monotonic):
        import requests
        self.appid, self.secret, self.base = appid, secret, base.rstrip("/")
        self.session = session or requests.Session()
        self.clock = clock
        self._token = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _fetch_token(self):
        import requests
        timeout = options.webhook_timeout()
        try:
            response = self.session.get(f"{self.base}/cgi-bin/token", timeout=(timeout, timeout), params={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})
        except requests.RequestException as err:
            raise DeliveryError(f"WeChat token request failed: {err.__class__.__name__}")
        _classify(response, "WeChat token endpoint")
        body = response.json()
        if not body.get("access_token"):
            # a wrong appid or secret will not fix itself, but an operator can fix it and retry
            errcode = body.get("errcode")
            raise DeliveryError(f"WeChat refused the credentials: {errcode} {body.get('errmsg')}",
                                retryable=errcode in RETRYABLE_ERRCODES)
        return body["access_token"], float(body.get("expires_in") or 7200)

    def token(self, stale=None):
        with self._lock:
            if self._token is None or self._token == stale or self.clock() >= self._expires:
                token, lifetime = self._fetch_token()
                self._token, self._expires = token, self.clock() + max(0.0, lifetime - 60)
            return self._token

    def send(self, address, title, body, template_id=None, data=None, **extra):
        payload = {"touser": address, "template_id": template_id or options.wechat_template_id(),
                   "data": {k: {"value": v} for k, v in (data or {"first": title, "keyword1": body}).items()}}
        token = self.token()
        for _ in range(2):
            response = _post_json(self.session, f"{self.base}/cgi-bin/message/template/send?access_token={token}",
                                  payload)
            _classify(response, "WeChat")
            answer = response.json()
            errcode = answer.get("errcode", 0)
            if errcode == 0:
                return {"provider_id": str(answer.get("msgid", ""))}
            if errcode in TOKEN_INVALID:
                token = self.token(stale=token)
                continue
            raise DeliveryError(f"WeChat error {errcode}: {answer.get('errmsg')}",
                                retryable=errcode in RETRYABLE_ERRCODES)
        raise DeliveryError("WeChat kept refusing a fresh access token")


class HttpSms:
    """An SMS gateway reached with one authenticated JSON POST per message."""

    def __init__(self, url, token=None, session=None):
        import requests
        self.url, self.token = url, token
        self.session = session or requests.Session()

    def send(self, address, title, text, **extra):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = _post_json(self.session, self.url, {"phone": address, "text": text}, headers=headers)
        _classify(response, "SMS gateway")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return {"provider_id": str(answer.get("id", "")) if isinstance(answer, dict) else ""}


def wechat_official_account():
    return WeChatOfficialAccount(_setting("CIVICGRID_WECHAT_APPID"), _setting("CIVICGRID_WECHAT_APPSECRET"),
                                 os.environ.get("CIVICGRID_WECHAT_API_BASE") or "https://api.weixin.qq.com")


def http_sms():
    return HttpSms(_setting("CIVICGRID_SMS_URL"), os.environ.get("CIVICGRID_SMS_TOKEN"))
