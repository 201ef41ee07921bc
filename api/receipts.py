"""Delivery receipts: the WhatsApp and Viber status callbacks, verified the providers' way.

No API token here (a provider cannot send one) and no per-token rate
limit: each body is signed with a secret the provider and the service
share, checked over the raw bytes before anything is parsed.

- WhatsApp Cloud API webhooks
  (https://developers.facebook.com/docs/graph-api/webhooks/getting-started):
  `GET /webhooks/whatsapp` answers Meta's subscription check with
  `hub.challenge` when `hub.verify_token` is WHATSAPP_VERIFY_TOKEN;
  `POST /webhooks/whatsapp` carries `entry[].changes[].value.statuses[]`,
  signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(WHATSAPP_APP_SECRET,
  body)>`.
- Viber REST API callbacks (https://developers.viber.com/docs/api/rest-bot-api/#callbacks):
  `POST /webhooks/viber`, signed `X-Viber-Content-Signature: <hex
  HMAC-SHA256(VIBER_AUTH_TOKEN, body)>`.

A missing signature is a 401, a wrong one a 403; a signed body that is not
what the provider sends is a 400 naming what is wrong; in each case nothing
is applied. Receipts for ids the service never sent are answered 200 and
ignored. What people send (Viber's conversation_started, subscribed,
unsubscribed and message; WhatsApp's `messages`) is handed to Celery by
api/inbound.py.
"""

import hashlib
import hmac
import logging

from flask import Blueprint, request

from api.bodies import parse_json
from api.errors import ApiError
from api.inbound import hand_over
from api.receipt_payloads import viber_receipts, whatsapp_receipts
from api.services import services
from core.logs import log_event

bp = Blueprint("receipts", __name__, url_prefix="/webhooks")
log = logging.getLogger("api.receipts")


def verify(messenger, header, secret, prefix=""):
    """Check the request's raw body against its signature header: 401 if missing, 403 if wrong."""
    given = request.headers.get(header)
    if given is None:
        log_event(log, "receipts.unsigned", level=logging.WARNING, messenger=messenger)
        raise ApiError(401, f"The callback is not signed: {header} is missing.",
                       {"headers": {header: ["Missing."]}})
    expected = prefix + hmac.new(secret.encode(), request.get_data(cache=True), hashlib.sha256).hexdigest()
    # An empty secret would let anyone sign.
    if not secret or not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        log_event(log, "receipts.bad_signature", level=logging.WARNING, messenger=messenger)
        raise ApiError(403, f"The callback's {header} does not match its body.",
                       {"headers": {header: ["Does not match the body."]}})


def apply(messenger, receipts):
    """Apply receipts, each (provider id, status, epoch seconds, error), and log how many changed."""
    store = services().receipts
    changed = sum(bool(store.apply(messenger, *receipt)) for receipt in receipts)
    log_event(log, "receipts.applied", messenger=messenger, receipts=len(receipts), changed=changed)


@bp.get("/whatsapp")
def whatsapp_subscription():
    """Meta's check of the callback URL: the challenge back if the verify token is right."""
    args = request.args
    token = services().config.whatsapp_verify_token
    challenge = args.get("hub.challenge")
    given = args.get("hub.verify_token", "")
    if (args.get("hub.mode") != "subscribe" or not challenge or not token
            or not hmac.compare_digest(given.encode(), token.encode())):
        raise ApiError(403, "Not a subscription check with the right hub.verify_token "
                            "(hub.mode=subscribe, hub.verify_token, hub.challenge).")
    return challenge, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/whatsapp")
def whatsapp_statuses():
    """WhatsApp's notifications: statuses delivered, read and failed are applied, texts handed over."""
    verify("whatsapp", "X-Hub-Signature-256", services().config.whatsapp_app_secret, "sha256=")
    body = parse_json(request.get_data(cache=True))
    receipts = whatsapp_receipts(body)
    hand_over("whatsapp", body)
    apply("whatsapp", receipts)
    return {"ok": True}


@bp.post("/viber")
def viber_events():
    """Viber's callbacks: delivered, seen and failed applied; conversations, subscriptions and texts handed over."""
    verify("viber", "X-Viber-Content-Signature", services().config.viber_auth_token)
    body = parse_json(request.get_data(cache=True))
    receipts = viber_receipts(body)
    hand_over("viber", body)
    apply("viber", receipts)
    return {"ok": True}
