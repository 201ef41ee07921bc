"""HTTP handlers for the bots' settings and the business account's templates, in each API's shape.

- Telegram Bot API: getMe, setWebhook, deleteWebhook, getWebhookInfo and
  getUpdates (https://core.telegram.org/bots/api#getting-updates), by GET
  or POST, parameters in the query string, a form or JSON; a wrong token is
  401 Unauthorized. The webhook is not required to be HTTPS, so that a
  local API can take it.
- Viber REST API: set_webhook, which first checks the URL with a signed
  `webhook` callback and answers status 1 (invalidUrl) unless it gets 200
  (https://developers.viber.com/docs/api/rest-bot-api/#setting-a-webhook).
- Graph API: GET /{version}/{waba-id}/message_templates with the Bearer
  token, filtered by name, language, status and category, paged by `limit`
  (default 25) and the `after` cursor
  (https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/message_templates/).
- The gateway's own: POST /templates adds a template in Graph's shape (or
  replaces the one of its name and language); DELETE /templates goes back
  to the seeded ones (fake_gateway.templates).
"""

import base64
import json
import re
import time

from aiohttp import web

from fake_gateway import inbound
from fake_gateway.apis import SHAPES
from fake_gateway.bots import Conflict, telegram_bot_user
from fake_gateway.receipts import WABA_ID, signature
from fake_gateway.routes import (
    credentials_key,
    gateway_error,
    receipts_key,
    records_key,
    telegram_bot_key,
    templates_key,
    viber_bot_key,
)
from fake_gateway.templates import TemplateError

routes = web.RouteTableDef()
TELEGRAM = SHAPES["telegram"]
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
TEMPLATES_PAGE = 25


class BadRequest(Exception):
    """A Bot API parameter Telegram answers 400 for, with its description."""


async def _telegram_params(request):
    """A Bot API call's parameters, from the query string and a JSON or form body."""
    params = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.read())
            except ValueError:
                raise BadRequest("Bad Request: can't parse JSON object") from None
            if not isinstance(body, dict):
                raise BadRequest("Bad Request: can't parse JSON object")
            params.update(body)
        else:
            params.update(await request.post())
    return params


def _integer(params, name, default, low, high):
    """An integer parameter, clamped into [low, high]; 400 if it is no integer."""
    value = params.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Bad Request: invalid {name} specified") from None
    return max(low, min(high, number))


def _flag(params, name):
    """A Boolean parameter: JSON true, or "true"/"1" in a query string or form."""
    return params.get(name) in (True, "true", "True", "1")


def _telegram(method):
    """A Bot API method handler: the token checked, BadRequest and Conflict answered as Telegram does."""
    async def handler(request):
        credentials = request.app[credentials_key]
        if TELEGRAM.authorize(request, credentials) is not None:
            return TELEGRAM.documented(401)
        try:
            result, description = await method(request, await _telegram_params(request))
        except BadRequest as exc:
            return TELEGRAM.described(400, str(exc))
        except Conflict as exc:
            return TELEGRAM.described(409, str(exc))
        body = {"ok": True, "result": result}
        if description:
            body["description"] = description
        return web.json_response(body)
    handler.__doc__ = method.__doc__
    return handler


async def get_me(request, params):
    """Telegram Bot API: getMe, the bot's own User."""
    return telegram_bot_user(request.app[credentials_key].get("telegram_bot_token")), None


async def set_webhook(request, params):
    """Telegram Bot API: setWebhook; an empty url removes it."""
    bot = request.app[telegram_bot_key]
    url = params.get("url") or ""
    secret = params.get("secret_token")
    if not isinstance(url, str) or (url and not re.match(r"https?://[^/\s]+", url)):
        raise BadRequest("Bad Request: invalid webhook URL specified")
    if secret is not None and not (isinstance(secret, str) and SECRET_TOKEN.fullmatch(secret)):
        raise BadRequest("Bad Request: secret token contains unallowed characters")
    allowed = params.get("allowed_updates")
    if isinstance(allowed, str):
        try:
            allowed = json.loads(allowed)
        except ValueError:
            raise BadRequest("Bad Request: can't parse allowed updates JSON object") from None
    if _flag(params, "drop_pending_updates"):
        bot.drop_pending()
    if not url:
        return True, "Webhook was deleted" if bot.delete_webhook() else "Webhook is already deleted"
    changed = bot.set_webhook(url, secret, _integer(params, "max_connections", 40, 1, 100), allowed)
    return True, "Webhook was set" if changed else "Webhook is already set"


async def delete_webhook(request, params):
    """Telegram Bot API: deleteWebhook, and the pending updates too if asked."""
    bot = request.app[telegram_bot_key]
    if _flag(params, "drop_pending_updates"):
        bot.drop_pending()
    return True, "Webhook was deleted" if bot.delete_webhook() else "Webhook is already deleted"


async def get_webhook_info(request, params):
    """Telegram Bot API: getWebhookInfo."""
    return request.app[telegram_bot_key].info(), None


async def get_updates(request, params):
    """Telegram Bot API: getUpdates, long-polling up to `timeout` seconds."""
    offset = _integer(params, "offset", 0, -2 ** 31, 2 ** 63)
    limit = _integer(params, "limit", 100, 1, 100)
    timeout = _integer(params, "timeout", 0, 0, 3600)
    updates = await request.app[telegram_bot_key].get_updates(offset, limit, timeout, time.monotonic)
    return updates, None


for name, method in (("getMe", get_me), ("setWebhook", set_webhook), ("deleteWebhook", delete_webhook),
                     ("getWebhookInfo", get_webhook_info), ("getUpdates", get_updates)):
    for verb in ("GET", "POST"):
        routes.route(verb, f"/bot{{token}}/{name}")(_telegram(method))


@routes.post("/pa/set_webhook")
async def viber_set_webhook(request):
    """Viber REST API: set_webhook, checked with a `webhook` callback; an empty url removes it."""
    app = request.app
    viber = SHAPES["viber"]
    credentials = app[credentials_key]
    if viber.authorize(request, credentials) is not None:
        return viber.documented(2)
    try:
        body = json.loads(await request.read())
    except ValueError:
        return viber.documented(3)
    if not isinstance(body, dict):
        return viber.documented(3)
    url, events = body.get("url"), body.get("event_types")
    if url is None:
        return viber.documented(4)
    if not isinstance(url, str) or (events is not None and not isinstance(events, list)):
        return viber.documented(3)
    if url:
        records = app[records_key]
        at = time.time()
        check = inbound.viber_callback("webhook", records.next_number(), at)
        raw = json.dumps(check).encode()
        headers = {"X-Viber-Content-Signature": signature(credentials.get("viber_auth_token"), raw)}
        answer, error = await app[receipts_key].post(url, raw, headers)
        records.callback("viber", "", "webhook", at, url, check, answer, error)
        if answer != 200:
            return viber.documented(1)
    kept = app[viber_bot_key].set_webhook(url, events)
    return web.json_response({"status": 0, "status_message": "ok",
                              "chat_hostname": inbound.VIBER_HOSTNAME, "event_types": kept})


def _cursor(index):
    return base64.urlsafe_b64encode(str(index).encode()).decode()


@routes.get(r"/{version:v\d+\.\d+}/{waba_id}/message_templates")
async def whatsapp_message_templates(request):
    """Graph API: the business account's message templates, a page at a time."""
    whatsapp = SHAPES["whatsapp"]
    credentials = request.app[credentials_key]
    if request.headers.get("Authorization") != f"Bearer {credentials.get('whatsapp_token')}":
        return whatsapp.documented(190)
    waba_id = request.match_info["waba_id"]
    if waba_id != WABA_ID:
        error = {"message": f"Unsupported get request. Object with ID '{waba_id}' does not exist, "
                            "cannot be loaded due to missing permissions, or does not support this "
                            "operation. Please read the Graph API documentation at "
                            "https://developers.facebook.com/docs/graph-api",
                 "type": "GraphMethodException", "code": 100, "error_subcode": 33,
                 "fbtrace_id": "AfakeTraceId"}
        return web.json_response({"error": error}, status=400)
    query = request.query
    matching = [t for t in request.app[templates_key].all
                if all(query.get(field) in (None, t[field])
                       for field in ("name", "language", "status", "category"))]
    try:
        limit = max(1, int(query.get("limit", TEMPLATES_PAGE)))
        start = max(0, int(base64.urlsafe_b64decode(query["after"]).decode()) + 1) if "after" in query else 0
    except ValueError:
        return whatsapp.documented(100)
    page = matching[start:start + limit]
    fields = query.get("fields")
    if fields:
        wanted = set(fields.split(",")) | {"id"}
        page = [{k: v for k, v in t.items() if k in wanted} for t in page]
    body = {"data": page}
    if page:
        body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page) - 1)}}
        if start + len(page) < len(matching):
            after = _cursor(start + len(page) - 1)
            body["paging"]["next"] = str(request.url.update_query(after=after))
    return web.json_response(body)


@routes.post("/templates")
async def put_template(request):
    """Add a template in Graph's shape, or replace the one of its name and language; it as kept."""
    try:
        kept = request.app[templates_key].put(json.loads(await request.read()))
    except TemplateError as exc:
        return gateway_error(400, str(exc))
    except ValueError:
        return gateway_error(400, "body is not valid JSON")
    return web.json_response(kept)


@routes.delete("/templates")
async def reset_templates(request):
    """Put the templates back to the seeded ones."""
    request.app[templates_key].reset()
    return web.json_response({"data": request.app[templates_key].all})
