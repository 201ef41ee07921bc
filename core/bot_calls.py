"""Calls to the bots' own APIs beyond sending: setting their webhooks, and Telegram's getUpdates.

Through urllib3 with a timeout on every call; the bot token goes in the
URL (Telegram) or a header (Viber) and never into an error's text.
"""

import json

import urllib3

# Beyond a long poll's own wait: the answer comes at its end.
POLL_MARGIN = 10.0


class BotCallFailed(Exception):
    """A bot API refused a call, or did not answer: the messenger's own description."""


def _call(config, url, body, headers=None, wait=0.0):
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=config.http_connect_timeout,
                                                       read=config.http_read_timeout + wait), retries=False)
    try:
        answer = pool.request("POST", url, body=json.dumps(body).encode(),
                              headers={"Content-Type": "application/json", **(headers or {})})
    except urllib3.exceptions.HTTPError as exc:
        raise BotCallFailed(f"no answer: {type(exc).__name__}") from None
    try:
        return answer.status, json.loads(answer.data)
    except ValueError:
        raise BotCallFailed(f"HTTP {answer.status}, not JSON") from None


def telegram(config, method, wait=0.0, **params):
    """Call a Telegram Bot API method; its result, or BotCallFailed with Telegram's description."""
    url = f"{config.telegram_api_url.rstrip('/')}/bot{config.telegram_bot_token}/{method}"
    status, body = _call(config, url, params, wait=wait)
    if not isinstance(body, dict) or not body.get("ok"):
        description = body.get("description") if isinstance(body, dict) else None
        raise BotCallFailed(f"Telegram {method}: {status} {description or 'no description'}")
    return body.get("result")


def set_telegram_webhook(config, url):
    """setWebhook to url with TELEGRAM_WEBHOOK_SECRET as its secret token (an empty url removes it)."""
    return telegram(config, "setWebhook", url=url, secret_token=config.telegram_webhook_secret,
                    allowed_updates=["message", "my_chat_member"])


def get_updates(config, offset, timeout):
    """Telegram's updates from offset on, waiting up to timeout seconds for one."""
    return telegram(config, "getUpdates", wait=timeout + POLL_MARGIN, offset=offset, timeout=int(timeout),
                    allowed_updates=["message", "my_chat_member"])


def set_viber_webhook(config, url):
    """Viber set_webhook to url, for the events the dispatcher reads (an empty url removes it)."""
    status, body = _call(config, f"{config.viber_api_url.rstrip('/')}/pa/set_webhook",
                         {"url": url, "event_types": ["delivered", "seen", "failed", "subscribed",
                                                      "unsubscribed", "conversation_started"]},
                         headers={"X-Viber-Auth-Token": config.viber_auth_token})
    if not isinstance(body, dict) or body.get("status") != 0:
        message = body.get("status_message") if isinstance(body, dict) else None
        raise BotCallFailed(f"Viber set_webhook: {status} {message or 'no status_message'}")
    return body
