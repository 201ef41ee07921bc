"""Viber REST Bot API: POST /pa/send_message.

Request and answer: https://developers.viber.com/docs/api/rest-bot-api/#send-message
(header X-Viber-Auth-Token; `receiver`, `type: "text"`, `text`, `sender.name`).
Errors come as HTTP 200 with a non-zero `status` and its `status_message`
(https://developers.viber.com/docs/api/rest-bot-api/#error-codes). No overall
send rate is published; broadcasts are capped at 500 requests per 10 seconds
(https://creators.viber.com/docs/bots-api/resources/messaging/broadcast-message),
which is the default limit here.
"""

from core.gateway_urls import send_url
from workers.gateways.base import (
    Outcome,
    blocked,
    classify_http,
    json_body,
    permanent,
    retry_after_header,
    sent,
    transient,
    unexpected,
)

# 12 tooManyRequests passes; any other status the table names (1 invalidUrl,
# 2 invalidAuthToken, 3 badData, 4 missingData, 5 receiverNotRegistered,
# 6 receiverNotSubscribed, 7 publicAccountBlocked, 8 publicAccountNotFound,
# 9 publicAccountSuspended, 10 webhookNotSet, 11 receiverNoSuitableDevice,
# 13 apiVersionNotSupported, 14 incompatibleWithVersion, 15
# publicAccountNotAuthorized, 16-20) is the same on every try. Codes beyond
# the table are Viber's "general error": tried again.
TRANSIENT_STATUSES = frozenset({12})
DOCUMENTED_STATUSES = frozenset(range(1, 21))
# 6 receiverNotSubscribed: the person unsubscribed from the bot (or never subscribed).
BLOCKED_STATUSES = frozenset({6})


def classify_viber(response) -> Outcome:
    """Sent on status 0; transient on 12 and general errors; blocked on 6; permanent on the rest."""
    body = json_body(response)
    status = body.get("status") if isinstance(body, dict) else None
    if response.status != 200 or not isinstance(status, int):
        return unexpected(response) if response.status < 300 else classify_http(response)
    if status == 0:
        return sent(body.get("message_token"))
    error = f"Viber {status}: {body.get('status_message', '')}"
    if status in BLOCKED_STATUSES:
        return blocked(error)
    if status in DOCUMENTED_STATUSES and status not in TRANSIENT_STATUSES:
        return permanent(error)
    return transient(error, retry_after_header(response))


class ViberGateway:
    """A bot account sending to its subscribers by Viber user id."""

    messenger = "viber"

    def __init__(self, config, transport):
        self.url = send_url(config, self.messenger)
        self._headers = {"X-Viber-Auth-Token": config.viber_auth_token}
        self._sender = {"name": config.viber_sender_name}
        self._transport = transport

    def send(self, to, text, key) -> Outcome:
        """Send one text to the subscriber `to`."""
        body = {"receiver": to, "type": "text", "text": text, "sender": self._sender}
        return self._transport.post(self.url, body, key, classify_viber, self._headers)
