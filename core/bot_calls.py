"""Calls to the bots' own APIs beyond sending: their webhooks, Telegram's getUpdates, WhatsApp's templates.

Through urllib3 with a timeout on every call; the bot token goes in the
URL (Telegram) or a header (Viber) and never into an error's text.
"""

import json

import urllib3

# Beyond a long poll's own wait: the answer comes at its end.
POLL_MARGIN = 10.0
# Message templates read per Graph API page, and pages read at most: a
# business account holds at most 6,000 templates.
TEMPLATES_PAGE = 100
TEMPLATES_PAGES_MAX = 100


class BotCallFailed(Exception):
    """A bot API refused a call, or did not answer: the messenger's own description."""


def _call(config, url, body, headers=None, wait=0.0, query=None):
    """POST body as JSON, or GET with query when body is None: (status, the answer's JSON)."""
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=config.http_connect_timeout,
                                                       read=config.http_read_timeout + wait), retries=False)
    try:
        if body is None:
            answer = pool.request("GET", url, fields=query, headers=headers)
        else:
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


def whatsapp_templates(config) -> list:
    """Every message template of WHATSAPP_BUSINESS_ACCOUNT_ID as the Graph API lists them, page by page.

    https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/message_templates/
    """
    url = (f"{config.whatsapp_api_url.rstrip('/')}/{config.whatsapp_api_version}/"
           f"{config.whatsapp_business_account_id}/message_templates")
    query = {"fields": "name,language,status,category,components", "limit": str(TEMPLATES_PAGE)}
    headers = {"Authorization": f"Bearer {config.whatsapp_token}"}
    found = []
    for _ in range(TEMPLATES_PAGES_MAX):
        status, body = _call(config, url, None, headers, query=query)
        data = body.get("data") if isinstance(body, dict) else None
        if status != 200 or not isinstance(data, list):
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise BotCallFailed(f"WhatsApp message_templates: {status} {message or 'no templates listed'}")
        found += data
        paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not isinstance(after, str):
            return found
        # The cursor on the configured URL, rather than `next` as given: the
        # token goes to no other host.
        query = {**query, "after": after}
    raise BotCallFailed(f"WhatsApp message_templates: more than {TEMPLATES_PAGES_MAX} pages")
