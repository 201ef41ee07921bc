"""HTTP handlers: the three messenger endpoints and the control endpoints."""

import asyncio
import json
import time

from aiohttp import web

from fake_gateway.faults import MESSENGERS, FaultError, Faults
from fake_gateway.records import Records, only

faults_key = web.AppKey("faults", Faults)
records_key = web.AppKey("records", Records)

routes = web.RouteTableDef()


def _error(status, message, headers=None):
    return web.json_response({"ok": False, "error": message}, status=status, headers=headers)


def _parse_message(raw):
    """Return (to, text, error) from a request body; error is None when it is valid."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None, None, "body is not valid JSON"
    if not isinstance(body, dict):
        return None, None, "body must be a JSON object"
    to, text = body.get("to"), body.get("text")
    for name, value in (("to", to), ("text", text)):
        if value is None:
            return to, text, f"{name}: missing"
        if not isinstance(value, str):
            return to, text, f"{name}: must be a string"
    return to, text, None


def _fault_answer(status, retry_after):
    if status == 429:
        return _error(429, "rate limited", {"Retry-After": str(retry_after)})
    if status == 504:
        return _error(504, "gateway timed out")
    return _error(status, f"injected fault {status}")


@routes.post(r"/{messenger:telegram|whatsapp|viber}")
async def deliver(request):
    """Take one message for a messenger, answering as the current faults dictate."""
    now = time.time()
    messenger = request.match_info["messenger"]
    key = request.headers.get("Idempotency-Key")
    faults, records = request.app[faults_key], request.app[records_key]
    to, text, problem = _parse_message(await request.read())
    if problem:
        records.attempt(messenger, to, text, key, now, 400)
        return _error(400, problem)
    status, delay = faults.decide(messenger)
    if status is not None:
        records.attempt(messenger, to, text, key, now, status)
        response = _fault_answer(status, faults.retry_after)
    elif faults.refuses(messenger):
        records.attempt(messenger, to, text, key, now, 500)
        response = _error(500, f"{messenger} is unavailable")
    else:
        message_id = records.accept(messenger, to, text, key, now)
        response = web.json_response({"ok": True, "id": message_id})
    if delay:
        await asyncio.sleep(delay)
    return response


def _listing(request, name):
    """Answer with one of the record lists, filtered by ?messenger= when given."""
    messenger = request.query.get("messenger")
    if messenger is not None and messenger not in MESSENGERS:
        return _error(400, f"messenger: unknown messenger {messenger!r}")
    items = getattr(request.app[records_key], name)
    return web.json_response({name: only(items, messenger)})


@routes.get("/received")
async def list_received(request):
    """List accepted messages, optionally for one messenger."""
    return _listing(request, "received")


@routes.get("/attempts")
async def list_attempts(request):
    """List every request with the status it got, optionally for one messenger."""
    return _listing(request, "attempts")


@routes.delete("/received")
async def clear_received(request):
    """Forget all received messages and attempts."""
    request.app[records_key].clear()
    return web.json_response({"ok": True})


@routes.get("/stats")
async def stats(request):
    """Count received messages and attempts, cheaply, for pollers."""
    return web.json_response(request.app[records_key].counts())


@routes.get("/faults")
async def get_faults(request):
    """Show the current fault settings."""
    return web.json_response(request.app[faults_key].as_dict())


@routes.put("/faults")
async def put_faults(request):
    """Change some fault settings, all or nothing."""
    faults = request.app[faults_key]
    try:
        faults.update(json.loads(await request.read()))
    except FaultError as exc:
        return _error(400, str(exc))
    except ValueError:
        return _error(400, "body is not valid JSON")
    return web.json_response(faults.as_dict())


@routes.delete("/faults")
async def reset_faults(request):
    """Put the fault settings back to those the gateway started with."""
    faults = request.app[faults_key]
    faults.reset()
    return web.json_response(faults.as_dict())


@routes.get("/healthz")
async def healthz(request):
    """Say the process is up."""
    return web.json_response({"ok": True})
