"""HTTP handlers that act as a person on a messenger, for tests and demos.

Each action changes the person's state (fake_gateway.people) and is
delivered to the bot as the real service delivers it (fake_gateway.inbound),
signed its way:

- Telegram, POST /people/telegram/{start,stop,text,block}: an Update, to
  the bot's webhook or queued for getUpdates (fake_gateway.simulator_telegram).
- Viber, POST /people/viber/{conversation_started,subscribe,unsubscribe,text}
  {"user_id", "context"?, "name"?, "text"?}: a callback, to the set_webhook
  URL or else GATEWAY_RECEIPTS_URL's /webhooks/viber, signed
  X-Viber-Content-Signature with the auth token. A text subscribes its
  sender, as Viber does, with no `subscribed` callback.
- WhatsApp, POST /people/whatsapp/text {"wa_id" (or "from"), "text",
  "name"?, "at"?}: a `messages` notification to GATEWAY_RECEIPTS_URL's
  /webhooks/whatsapp, signed X-Hub-Signature-256 with the app secret; it
  opens the number's 24-hour window from `at` (default now; earlier to
  simulate a message long past).

Each answers {"person", "callbacks": [...]}: every callback with its url,
headers, body and the bot's answer (HTTP status, or why none came), or the
update queued for getUpdates. Nothing is retried; GET /callbacks lists
them all. GET /people shows everyone's state. A person acting out of turn
(a text before starting the bot, say) is a 400 naming the field.
"""

import json
import re
import time

from aiohttp import web

from fake_gateway import inbound
from fake_gateway.ids import whatsapp_id
from fake_gateway.receipts import signature
from fake_gateway.routes import credentials_key, gateway_error, people_key, receipts_key, records_key, viber_bot_key

routes = web.RouteTableDef()
WA_ID = re.compile(r"\d{6,15}")


class Refused(Exception):
    """An action the person cannot take now, or a malformed one: a 400 naming the field."""


async def read_body(request):
    """A simulator request's JSON object."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise Refused("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Refused("body must be a JSON object")
    return body


def field(body, name, required=True):
    """A non-empty string field of a simulator request; None if optional and absent."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise Refused(f"{name}: must be a non-empty string")
    return value


def action(handler):
    """A simulator handler: its Refused answered 400, its result as {"person", "callbacks"}."""
    async def run(request):
        try:
            person, callbacks = await handler(request, await read_body(request))
        except Refused as exc:
            return gateway_error(400, str(exc))
        return web.json_response({"person": person, "callbacks": callbacks})
    run.__doc__ = handler.__doc__
    return run


def raw_body(body):
    """A callback's bytes, UTF-8 unescaped as the services send them."""
    return json.dumps(body, ensure_ascii=False).encode()


async def post_callback(app, messenger, to, event, url, body, headers):
    """POST one callback, signed by its headers over raw_body(body), and record it; what went, the answer."""
    records = app[records_key]
    raw = raw_body(body)
    answer, error = (None, "no webhook URL: set one, or GATEWAY_RECEIPTS_URL") if not url else (
        await app[receipts_key].post(url, raw, headers))
    records.callback(messenger, to, event, time.time(), url, body, answer, error)
    return {"event": event, "url": url, "headers": headers, "body": body, "answer": answer,
            "error": error}


# Viber

def _viber_url(app):
    return app[viber_bot_key].url or (app[receipts_key].url and app[receipts_key].url + "/webhooks/viber")


async def _viber_send(app, user, body):
    """Deliver a callback to the bot's webhook, unless it asked not to get that event."""
    event = body["event"]
    if not app[viber_bot_key].wants(event):
        return {"event": event, "skipped": f"{event} is not in the webhook's event_types"}
    headers = {"X-Viber-Content-Signature": signature(app[credentials_key].get("viber_auth_token"),
                                                      raw_body(body))}
    return await post_callback(app, "viber", user["user_id"], event, _viber_url(app), body, headers)


def _viber_user(app, body):
    return app[people_key].viber_user(field(body, "user_id"), field(body, "name", required=False))


@routes.post("/people/viber/conversation_started")
@action
async def viber_conversation_started(request, body):
    """A person opens the bot's chat, through a deep link's context if given; subscribes no one."""
    app = request.app
    user = _viber_user(app, body)
    context = field(body, "context", required=False)
    callback = inbound.viber_conversation_started(user, context, app[records_key].next_number(), time.time())
    return user, [await _viber_send(app, user, callback)]


@routes.post("/people/viber/subscribe")
@action
async def viber_subscribe(request, body):
    """A person subscribes with the bot's Subscribe button."""
    app = request.app
    user = _viber_user(app, body)
    if user["subscribed"]:
        raise Refused("user_id: is subscribed already")
    user["subscribed"] = True
    callback = inbound.viber_callback("subscribed", app[records_key].next_number(), time.time(),
                                      user=inbound.viber_user(user))
    return user, [await _viber_send(app, user, callback)]


@routes.post("/people/viber/unsubscribe")
@action
async def viber_unsubscribe(request, body):
    """A person unsubscribes: from now on send_message to them is status 6."""
    app = request.app
    user = app[people_key].viber.get(field(body, "user_id"))
    if user is None or not user["subscribed"]:
        raise Refused("user_id: is not subscribed")
    user["subscribed"] = False
    callback = inbound.viber_callback("unsubscribed", app[records_key].next_number(), time.time(),
                                      user_id=user["user_id"])
    return user, [await _viber_send(app, user, callback)]


@routes.post("/people/viber/text")
@action
async def viber_text(request, body):
    """A person writes to the bot, which subscribes them (Viber sends no `subscribed` for it)."""
    app = request.app
    user = _viber_user(app, body)
    text = field(body, "text")
    user["subscribed"] = True
    callback = inbound.viber_message(user, text, app[records_key].next_number(), time.time())
    return user, [await _viber_send(app, user, callback)]


# WhatsApp

@routes.post("/people/whatsapp/text")
@action
async def whatsapp_text(request, body):
    """A number writes to the business, opening its 24-hour window from the message's time."""
    app = request.app
    sender = body.get("wa_id", body.get("from"))
    if not isinstance(sender, str) or not WA_ID.fullmatch(sender.lstrip("+")):
        raise Refused("wa_id: must be a phone number in international form, 6 to 15 digits")
    text = field(body, "text")
    now = time.time()
    at = body.get("at", now)
    if not isinstance(at, (int, float)) or isinstance(at, bool) or not 0 < at <= now:
        raise Refused("at: must be a Unix time in seconds, not in the future")
    number = app[people_key].whatsapp_number(sender.lstrip("+"), field(body, "name", required=False))
    number["last_inbound"] = max(at, number["last_inbound"] or 0)
    credentials = app[credentials_key]
    message_id = whatsapp_id(app[records_key].next_number())
    notification = inbound.whatsapp_message(credentials.get("whatsapp_phone_number_id"), number,
                                            message_id, text, at)
    headers = {"X-Hub-Signature-256": "sha256=" + signature(credentials.get("whatsapp_app_secret"),
                                                            raw_body(notification))}
    url = app[receipts_key].url and app[receipts_key].url + "/webhooks/whatsapp"
    return number, [await post_callback(app, "whatsapp", number["wa_id"], "text", url, notification, headers)]


@routes.get("/people")
async def list_people(request):
    """Everyone the messengers know, per messenger."""
    return web.json_response(request.app[people_key].as_dict())
