"""HTTP handlers: the messenger endpoints, in each shape, and the control endpoints."""

import asyncio
import json
import time

from aiohttp import web

from fake_gateway import strict
from fake_gateway.apis import SHAPES
from fake_gateway.bots import TelegramBot, ViberBot
from fake_gateway.credentials import CredentialError, Credentials
from fake_gateway.documented import GARBLED, LONGEST_TEXT, utf16_length
from fake_gateway.faults import MESSENGERS, FaultError, Faults
from fake_gateway.limits import Limits
from fake_gateway.people import People
from fake_gateway.receipts import ReceiptSender
from fake_gateway.records import Records, only
from fake_gateway.templates import Templates

faults_key = web.AppKey("faults", Faults)
records_key = web.AppKey("records", Records)
credentials_key = web.AppKey("credentials", Credentials)
receipts_key = web.AppKey("receipts", ReceiptSender)
limits_key = web.AppKey("limits", Limits)
people_key = web.AppKey("people", People)
templates_key = web.AppKey("templates", Templates)
telegram_bot_key = web.AppKey("telegram_bot", TelegramBot)
viber_bot_key = web.AppKey("viber_bot", ViberBot)

routes = web.RouteTableDef()


def gateway_error(status, message, headers=None):
    """The gateway's own error answer, for its simple routes and control endpoints."""
    return web.json_response({"ok": False, "error": message}, status=status, headers=headers)


def _fault_answer(status, retry_after):
    if status == 429:
        return gateway_error(429, "rate limited", {"Retry-After": str(retry_after)})
    if status == 504:
        return gateway_error(504, "gateway timed out")
    return gateway_error(status, f"injected fault {status}")


async def _take(request, messenger, shape):
    """Take one message in a shape, answering as the credentials, rate limits and faults dictate."""
    now = time.time()
    key = request.headers.get("Idempotency-Key")
    app = request.app
    faults, records, limits = app[faults_key], app[records_key], app[limits_key]
    denied = shape.authorize(request, app[credentials_key])
    raw = await request.read()
    message = shape.parse(raw)
    to, text, problem = message.to, message.text, message.problem
    if message.template is not None:
        text = app[templates_key].render(*message.template)
    elif problem is None and utf16_length(text) > LONGEST_TEXT[messenger]:
        problem = shape.too_long(LONGEST_TEXT[messenger])
    if denied is not None:
        response = shape.documented(denied)
        records.attempt(messenger, to, text, key, now, response.status, f"{messenger}:{denied}")
        return response
    if problem is not None:
        response, error = shape.invalid(problem)
        records.attempt(messenger, to, text, key, now, response.status, error)
        return response
    refused = (strict.refusal(shape, message, app[people_key], app[templates_key], now)
               if faults.strict and shape.api == "real" else None)
    if refused is not None:
        response, error = refused
        records.attempt(messenger, to, text, key, now, response.status, error)
        return response
    retry_after = limits.retry_after(messenger, to) if faults.enforce_limits else None
    if retry_after is not None:
        limits.refuse(messenger)
        response, error = shape.throttled(retry_after)
        records.attempt(messenger, to, text, key, now, response.status, error)
        return response
    answer, delay = faults.decide(messenger, shape.api, key)
    message_id = None
    if answer in GARBLED:
        response = shape.garbled()
        records.attempt(messenger, to, text, key, now, response.status, answer)
    elif isinstance(answer, str):
        response = shape.documented(int(answer.split(":")[1]), faults.retry_after)
        records.attempt(messenger, to, text, key, now, response.status, answer)
    elif answer is not None:
        records.attempt(messenger, to, text, key, now, answer)
        response = _fault_answer(answer, faults.retry_after)
    elif faults.refuses(messenger):
        records.attempt(messenger, to, text, key, now, 500)
        response = gateway_error(500, f"{messenger} is unavailable")
    else:
        message_id = records.accept(messenger, to, text, key, now, shape.answered_id)
        if faults.enforce_limits:
            limits.note(messenger, to)
        response = shape.accepted(message_id, to, text, now)
    if delay:
        await asyncio.sleep(delay)
    if message_id is not None and shape.api == "real":
        app[receipts_key].expect(messenger, message_id, to, faults)
    return response


@routes.post(r"/{messenger:telegram|whatsapp|viber}")
async def deliver(request):
    """Take one message for a messenger in the gateway's own shape."""
    return await _take(request, request.match_info["messenger"], SHAPES["simple"])


@routes.post("/bot{token}/sendMessage")
async def telegram_send_message(request):
    """Telegram Bot API: sendMessage."""
    return await _take(request, "telegram", SHAPES["telegram"])


@routes.post(r"/{version:v\d+\.\d+}/{phone_number_id}/messages")
async def whatsapp_messages(request):
    """WhatsApp Cloud API: send a message from a business phone number."""
    return await _take(request, "whatsapp", SHAPES["whatsapp"])


@routes.post("/pa/send_message")
async def viber_send_message(request):
    """Viber REST API: send_message."""
    return await _take(request, "viber", SHAPES["viber"])


def _listing(request, name):
    """Answer with one of the record lists, filtered by ?messenger= and ?to= when given."""
    messenger = request.query.get("messenger")
    if messenger is not None and messenger not in MESSENGERS:
        return gateway_error(400, f"messenger: unknown messenger {messenger!r}")
    items = getattr(request.app[records_key], name)
    return web.json_response({name: only(items, messenger, request.query.get("to"))})


@routes.get("/received")
async def list_received(request):
    """List accepted messages, optionally for one messenger and one recipient."""
    return _listing(request, "received")


@routes.get("/attempts")
async def list_attempts(request):
    """List every request with the status it got, optionally for one messenger."""
    return _listing(request, "attempts")


@routes.get("/receipts")
async def list_receipts(request):
    """List every receipt callback made and its answer, optionally for one messenger and recipient."""
    return _listing(request, "receipts")


@routes.get("/callbacks")
async def list_callbacks(request):
    """List every simulated person's callback made and its answer, optionally for one messenger and person."""
    return _listing(request, "callbacks")


@routes.delete("/received")
async def clear_received(request):
    """Forget messages, attempts, callbacks, rate counts, people and queued updates; owe no receipt."""
    request.app[receipts_key].cancel()
    request.app[records_key].clear()
    request.app[limits_key].clear()
    request.app[people_key].clear()
    request.app[telegram_bot_key].drop_pending()
    return web.json_response({"ok": True})


@routes.get("/stats")
async def stats(request):
    """Count received messages, attempts and sends refused past a rate limit, cheaply, for pollers."""
    counts = request.app[records_key].counts()
    return web.json_response({**counts, "rate_limited": request.app[limits_key].refused})


async def _change(request, key, error):
    """Apply a JSON body of changes to a settings object, all or nothing; its new state."""
    settings = request.app[key]
    try:
        settings.update(json.loads(await request.read()))
    except error as exc:
        return gateway_error(400, str(exc))
    except ValueError:
        return gateway_error(400, "body is not valid JSON")
    return web.json_response(settings.as_dict())


def _reset(request, key):
    """Put a settings object back to its initial state; that state."""
    settings = request.app[key]
    settings.reset()
    return web.json_response(settings.as_dict())


@routes.get("/faults")
async def get_faults(request):
    """Show the current fault settings."""
    return web.json_response(request.app[faults_key].as_dict())


@routes.put("/faults")
async def put_faults(request):
    """Change some fault settings, all or nothing."""
    return await _change(request, faults_key, FaultError)


@routes.delete("/faults")
async def reset_faults(request):
    """Put the fault settings back to those the gateway started with."""
    return _reset(request, faults_key)


@routes.get("/credentials")
async def get_credentials(request):
    """Show the credentials the real-API emulations accept."""
    return web.json_response(request.app[credentials_key].as_dict())


@routes.put("/credentials")
async def put_credentials(request):
    """Change some accepted credentials, all or nothing."""
    return await _change(request, credentials_key, CredentialError)


@routes.delete("/credentials")
async def reset_credentials(request):
    """Put the accepted credentials back to those the gateway started with."""
    return _reset(request, credentials_key)


@routes.get("/healthz")
async def healthz(request):
    """Say the process is up."""
    return web.json_response({"ok": True})
