"""The people simulator's Telegram actions (see fake_gateway.simulator).

POST /people/telegram/{start,stop,text,block} deliver an Update to the
webhook setWebhook set, with X-Telegram-Bot-Api-Secret-Token when it set a
secret_token, or with no webhook queue it for getUpdates (fake_gateway.bots).
`start` {"chat_id", "payload"?, "username"?, "first_name"?} sends
"/start PAYLOAD" (a deep link's payload: https://core.telegram.org/bots/features#deep-linking),
after a my_chat_member kicked to member if the person had blocked the bot;
`stop` sends "/stop", which blocks nothing at Telegram; `text` {"chat_id",
"text"} a text; `block` a my_chat_member member to kicked. POST
/people/telegram/channel {"username": "@name"} makes a channel the bot
posts to, which sendMessage may name by username.
"""

import http
import re
import time

from aiohttp import web

from fake_gateway import inbound
from fake_gateway.bots import telegram_bot_user
from fake_gateway.routes import credentials_key, gateway_error, people_key, records_key, telegram_bot_key
from fake_gateway.simulator import Refused, action, field, post_callback, read_body

routes = web.RouteTableDef()
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


async def _telegram_send(app, person, event, update):
    """Deliver an update to the bot's webhook, or queue it for getUpdates."""
    bot = app[telegram_bot_key]
    kind = "message" if "message" in update else "my_chat_member"
    to = str(person["chat_id"])
    if not bot.url:
        bot.push(update)
        app[records_key].callback("telegram", to, event, time.time(), None, update, None, "queued")
        return {"event": event, "queued": update}
    if bot.allowed_updates is not None and kind not in bot.allowed_updates:
        return {"event": event, "skipped": f"{kind} is not in the webhook's allowed_updates"}
    headers = {"X-Telegram-Bot-Api-Secret-Token": bot.secret_token} if bot.secret_token else {}
    sent = await post_callback(app, "telegram", to, event, bot.url, update, headers)
    if sent["answer"] is None or not 200 <= sent["answer"] < 300:
        answer = sent["answer"]
        reason = (f"Wrong response from the webhook: {answer} {http.HTTPStatus(answer).phrase}"
                  if answer else sent["error"])
        bot.failed(time.time(), reason)
    return sent


def _chat_id(body):
    chat_id = body.get("chat_id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or chat_id <= 0:
        raise Refused("chat_id: must be a positive integer, a person's Telegram id")
    return chat_id


def _started_person(app, body):
    """The person named by chat_id, who must have started the bot and not blocked it."""
    person = app[people_key].telegram.get(_chat_id(body))
    if person is None or not person["started"]:
        raise Refused("chat_id: has not started the bot")
    if person["blocked"]:
        raise Refused("chat_id: has blocked the bot")
    return person


async def _telegram_message(app, person, event, text):
    bot = app[telegram_bot_key]
    update = inbound.telegram_message(bot.next_update_id(), app[records_key].next_number(),
                                      person, text, time.time())
    return await _telegram_send(app, person, event, update)


async def _telegram_member(app, person, event, old, new):
    bot = app[telegram_bot_key]
    bot_user = telegram_bot_user(app[credentials_key].get("telegram_bot_token"))
    update = inbound.telegram_member_change(bot.next_update_id(), person, bot_user, old, new, time.time())
    return await _telegram_send(app, person, event, update)


@routes.post("/people/telegram/start")
@action
async def telegram_start(request, body):
    """A person presses Start, through a deep link's payload if given; unblocks the bot if blocked."""
    app = request.app
    chat_id = _chat_id(body)
    payload = field(body, "payload", required=False)
    if payload is not None and not START_PAYLOAD.fullmatch(payload):
        raise Refused("payload: must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -")
    username = field(body, "username", required=False)
    person = app[people_key].telegram_person(chat_id, username and username.lstrip("@"),
                                             field(body, "first_name", required=False))
    callbacks = []
    if person["blocked"]:
        person["blocked"] = False
        callbacks.append(await _telegram_member(app, person, "unblock", "kicked", "member"))
    person["started"] = True
    text = f"/start {payload}" if payload else "/start"
    callbacks.append(await _telegram_message(app, person, "start", text))
    return person, callbacks


@routes.post("/people/telegram/stop")
@action
async def telegram_stop(request, body):
    """A person sends /stop: a command like any other, which Telegram itself does not act on."""
    person = _started_person(request.app, body)
    return person, [await _telegram_message(request.app, person, "stop", "/stop")]


@routes.post("/people/telegram/text")
@action
async def telegram_text(request, body):
    """A person writes to the bot."""
    person = _started_person(request.app, body)
    text = field(body, "text")
    return person, [await _telegram_message(request.app, person, "text", text)]


@routes.post("/people/telegram/block")
@action
async def telegram_block(request, body):
    """A person blocks the bot (Stop and block): from now on sendMessage to them is 403."""
    person = _started_person(request.app, body)
    person["blocked"] = True
    return person, [await _telegram_member(request.app, person, "block", "member", "kicked")]


@routes.post("/people/telegram/channel")
async def telegram_channel(request):
    """Make a channel the bot posts to, which sendMessage may name by @username."""
    try:
        username = field(await read_body(request), "username")
    except Refused as exc:
        return gateway_error(400, str(exc))
    if not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{4,31}", username):
        return gateway_error(400, "username: must be @ and 5 to 32 letters, digits or _")
    request.app[people_key].channels.add(username.lower())
    return web.json_response({"channels": sorted(request.app[people_key].channels)})
