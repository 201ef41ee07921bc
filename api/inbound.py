"""What people send the bot: Telegram's updates here, Viber's and WhatsApp's beside their receipts.

`POST /webhooks/telegram` takes Updates (https://core.telegram.org/bots/api#setwebhook)
with `X-Telegram-Bot-Api-Secret-Token`, the TELEGRAM_WEBHOOK_SECRET that
`cli.py admin telegram set-webhook` gave setWebhook: missing is a 401,
wrong a 403, compared in constant time, and nothing is changed. Each
webhook only reads the update into events and hands them to Celery
(core/inbound.py), once per update id; the work is workers/inbound.py's.
"""

import hmac
import logging

from flask import Blueprint, request

from api.bodies import parse_json
from api.errors import ApiError
from api.services import services
from core.inbound_updates import PARSERS, BadUpdate
from core.logs import log_event

bp = Blueprint("inbound", __name__, url_prefix="/webhooks")
log = logging.getLogger("api.inbound")
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def hand_over(messenger, body) -> int:
    """Read a verified body's events (400 naming the field if it is not the messenger's) and queue the new ones."""
    try:
        events = PARSERS[messenger](body)
    except BadUpdate as exc:
        raise ApiError(400, f"The update is not what {messenger.title()} sends: {exc.path} {exc.problem}.",
                       {"json": {exc.path: [exc.problem[0].upper() + exc.problem[1:] + "."]}}) from None
    new = services().inbound.hand_over(messenger, events) if events else 0
    log_event(log, "inbound.received", messenger=messenger, events=len(events), new=new)
    return new


@bp.post("/telegram")
def telegram_update():
    """A Telegram Update: /start with an invite code, /stop, a text, or the bot blocked or unblocked."""
    given = request.headers.get(TELEGRAM_SECRET_HEADER)
    if given is None:
        log_event(log, "inbound.unsigned", level=logging.WARNING, messenger="telegram")
        raise ApiError(401, f"The update carries no {TELEGRAM_SECRET_HEADER}.",
                       {"headers": {TELEGRAM_SECRET_HEADER: ["Missing."]}})
    secret = services().config.telegram_webhook_secret
    # An empty secret would let anyone in.
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        log_event(log, "inbound.bad_secret", level=logging.WARNING, messenger="telegram")
        raise ApiError(403, f"The update's {TELEGRAM_SECRET_HEADER} is not the webhook's secret.",
                       {"headers": {TELEGRAM_SECRET_HEADER: ["Not the webhook's secret."]}})
    hand_over("telegram", parse_json(request.get_data(cache=True)))
    return {"ok": True}
