"""The request and answer shapes the fake gateway speaks.

`simple` is its own: POST /{messenger} with {"to", "text"}. The other three
imitate the real APIs closely enough for the service's adapters:

- Telegram Bot API, POST /bot{token}/sendMessage with {"chat_id", "text"}:
  {"ok": true, "result": {...}}, or {"ok": false, "error_code",
  "description", "parameters": {"retry_after"}}; a wrong token gets 401
  Unauthorized.
- WhatsApp Cloud API, POST /{version}/{phone_number_id}/messages with a
  Bearer token and {"messaging_product": "whatsapp", "to", "type": "text",
  "text": {"body"}}: {"messages": [{"id"}], ...}, or {"error": {"message",
  "type", "code", "error_data": {"details"}, "fbtrace_id"}}; a wrong token
  gets 401 with code 190, an unknown phone number id 400 with code 100.
- Viber REST API, POST /pa/send_message with X-Viber-Auth-Token and
  {"receiver", "type": "text", "text", "sender": {"name"}}: always HTTP 200,
  {"status": 0, "status_message": "ok", ...} or a non-zero status; a wrong
  token gets status 2 (invalidAuthToken).

DOCUMENTED names every error a fault script may ask for, as
"<messenger>:<code>" (Telegram: the HTTP error_code; WhatsApp: error.code;
Viber: status), and GARBLED the answers in the API's envelope with a field
of the wrong type ("telegram:garbled", "whatsapp:garbled"), as a proxy or an
API change might send: answers a client must survive.

The ids a WhatsApp or Viber answer names (fake_gateway.ids) are the ones
that message's receipts name (fake_gateway.receipts).
"""

import json

from aiohttp import web

from fake_gateway.ids import viber_token, wa_id, whatsapp_id

TELEGRAM_ERRORS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# code: (HTTP status, message, details)
WHATSAPP_ERRORS = {
    1: (400, "(#1) An unknown error occurred", "Invalid request or possible server error."),
    2: (503, "(#2) Service temporarily unavailable",
        "Temporary due to downtime or due to being overloaded."),
    4: (400, "(#4) Application request limit reached",
        "The app has reached its API call rate limit."),
    100: (400, "(#100) Invalid parameter",
          "The request included one or more unsupported or misspelled parameters."),
    190: (401, "Error validating access token: Session has expired", None),
    368: (400, "(#368) Temporarily blocked for policies violations", None),
    80007: (400, "(#80007) Rate limit issues",
            "The WhatsApp Business Account has reached its rate limit."),
    130429: (400, "(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    131000: (500, "(#131000) Something went wrong",
             "Message failed to send due to an unknown error."),
    131016: (503, "(#131016) Service unavailable", "A service is temporarily unavailable."),
    131026: (400, "(#131026) Message undeliverable", "Unable to deliver message."),
    131030: (400, "(#131030) Recipient phone number not in allowed list",
             "Add recipient phone number to recipient list and try again."),
    131031: (400, "(#131031) Business Account locked", None),
    131047: (400, "(#131047) Re-engagement message",
             "More than 24 hours have passed since the recipient last replied to the "
             "sender number."),
    131048: (400, "(#131048) Spam rate limit hit",
             "Message failed to send because there are restrictions on how many messages "
             "can be sent from this phone number."),
    131056: (400, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this "
             "phone number to the same phone number in a short period of time."),
    131057: (400, "(#131057) Account in maintenance mode", None),
    133004: (503, "(#133004) Server temporarily unavailable", None),
}

VIBER_STATUSES = {
    1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData",
    5: "receiverNotRegistered", 6: "receiverNotSubscribed", 7: "publicAccountBlocked",
    8: "publicAccountNotFound", 9: "publicAccountSuspended", 10: "webhookNotSet",
    11: "receiverNoSuitableDevice", 12: "tooManyRequests", 13: "apiVersionNotSupported",
    14: "incompatibleWithVersion", 15: "publicAccountNotAuthorized",
    16: "inchatReplyMessageNotAllowed", 17: "publicAccountIsNotInline", 18: "noPublicChat",
    19: "cannotSendBroadcast", 20: "broadcastNotAllowed",
}

GARBLED = frozenset(["telegram:garbled", "whatsapp:garbled"])
DOCUMENTED = frozenset(
    [f"telegram:{c}" for c in TELEGRAM_ERRORS]
    + [f"whatsapp:{c}" for c in WHATSAPP_ERRORS]
    + [f"viber:{c}" for c in VIBER_STATUSES]
) | GARBLED


def _json(raw):
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class Simple:
    """The fake gateway's own shape; any messenger, no credentials."""

    api = "simple"

    def authorize(self, request, credentials):
        """The documented error code for wrong credentials, or None; this shape has none."""
        return None

    def parse(self, raw):
        """(to, text, problem) from a request body; problem is None when it is valid."""
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

    def invalid(self, problem):
        """The answer to a malformed request, and its documented error name (if any)."""
        return web.json_response({"ok": False, "error": problem}, status=400), None

    def accepted(self, message_id, to, text, now):
        """The answer to an accepted message."""
        return web.json_response({"ok": True, "id": message_id})

    def answered_id(self, message_id):
        """The id the answer to message number message_id names."""
        return message_id


class Telegram(Simple):
    """Telegram Bot API sendMessage."""

    api = "real"
    messenger = "telegram"

    def authorize(self, request, credentials):
        """401 Unauthorized unless the path carries the bot's token."""
        if request.match_info["token"] != credentials.get("telegram_bot_token"):
            return 401
        return None

    def parse(self, raw):
        """(chat_id, text, problem) from a sendMessage body."""
        body = _json(raw)
        if body is None:
            return None, None, "Bad Request: can't parse JSON object"
        chat, text = body.get("chat_id"), body.get("text")
        if not isinstance(chat, (str, int)) or isinstance(chat, bool) or chat == "":
            return None, text, "Bad Request: chat_id is empty"
        if not isinstance(text, str) or not text:
            return str(chat), None, "Bad Request: message text is empty"
        return str(chat), text, None

    def invalid(self, problem):
        """400 with Telegram's description of the problem."""
        body = {"ok": False, "error_code": 400, "description": problem}
        return web.json_response(body, status=400), None

    def documented(self, code, retry_after=1):
        """Telegram's answer for one of its documented error codes."""
        body = {"ok": False, "error_code": code,
                "description": TELEGRAM_ERRORS[code].format(retry_after=retry_after)}
        if code == 429:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=code)

    def garbled(self):
        """A flood-control answer whose parameters are a string, not an object."""
        return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests",
                                  "parameters": "retry later"}, status=429)

    def accepted(self, message_id, to, text, now):
        """{"ok": true, "result": Message}."""
        chat = int(to) if to.lstrip("-").isdigit() else to
        return web.json_response({"ok": True, "result": {
            "message_id": message_id, "date": int(now),
            "chat": {"id": chat, "type": "private"}, "text": text,
        }})


class WhatsApp(Simple):
    """WhatsApp Cloud API messages."""

    api = "real"
    messenger = "whatsapp"

    def authorize(self, request, credentials):
        """Code 190 for a wrong token, code 100 for an unknown phone number id."""
        if request.headers.get("Authorization") != f"Bearer {credentials.get('whatsapp_token')}":
            return 190
        if request.match_info["phone_number_id"] != credentials.get("whatsapp_phone_number_id"):
            return 100
        return None

    def parse(self, raw):
        """(to, text.body, problem) from a messages body."""
        body = _json(raw)
        if body is None:
            return None, None, "(#100) Invalid parameter: the body is not a JSON object"
        to, text = body.get("to"), body.get("text")
        text = text.get("body") if isinstance(text, dict) else None
        if body.get("messaging_product") != "whatsapp":
            return to, text, "(#100) The parameter messaging_product is required."
        if not isinstance(to, str) or not to:
            return None, text, "(#100) The parameter to is required."
        if body.get("type", "text") != "text" or not isinstance(text, str) or not text:
            return to, None, "(#100) The parameter text['body'] is required."
        return to, text, None

    def invalid(self, problem):
        """400 with code 100, as Graph answers a bad parameter."""
        return self._error(400, 100, problem), None

    def documented(self, code, retry_after=1):
        """The Graph API error for one of WhatsApp's documented codes."""
        status, message, details = WHATSAPP_ERRORS[code]
        return self._error(status, code, message, details)

    def garbled(self):
        """A rate-limit error whose error_data is a string, not an object."""
        return web.json_response({"error": {"message": "Rate limit hit", "type": "OAuthException",
                                            "code": 131056, "error_data": "retry later"}},
                                 status=400)

    def _error(self, status, code, message, details=None):
        error = {"message": message, "type": "OAuthException", "code": code,
                 "fbtrace_id": "AfakeTraceId"}
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        return web.json_response({"error": error}, status=status)

    def answered_id(self, message_id):
        """The message's wamid."""
        return whatsapp_id(message_id)

    def accepted(self, message_id, to, text, now):
        """The message's wamid and the contact it went to."""
        return web.json_response({
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id(to)}],
            "messages": [{"id": whatsapp_id(message_id)}],
        })


class Viber(Simple):
    """Viber REST API send_message: every answer is HTTP 200 with a status."""

    api = "real"
    messenger = "viber"

    def authorize(self, request, credentials):
        """Status 2 unless X-Viber-Auth-Token is the account's token."""
        if request.headers.get("X-Viber-Auth-Token") != credentials.get("viber_auth_token"):
            return 2
        return None

    def parse(self, raw):
        """(receiver, text, problem) from a send_message body; problem is a status."""
        body = _json(raw)
        if body is None:
            return None, None, 3
        to, text, sender = body.get("receiver"), body.get("text"), body.get("sender")
        named = isinstance(sender, dict) and isinstance(sender.get("name"), str)
        if not (isinstance(to, str) and to and isinstance(text, str) and text
                and body.get("type") == "text" and named):
            return to if isinstance(to, str) else None, text if isinstance(text, str) else None, 4
        return to, text, None

    def invalid(self, problem):
        """badData or missingData, as Viber answers them."""
        return self.documented(problem), f"viber:{problem}"

    def documented(self, code, retry_after=1):
        """HTTP 200 with one of Viber's documented non-zero statuses."""
        return web.json_response({"status": code, "status_message": VIBER_STATUSES[code],
                                  "chat_hostname": "SN-CHAT-01_"})

    def answered_id(self, message_id):
        """The message's token."""
        return viber_token(message_id)

    def accepted(self, message_id, to, text, now):
        """Status 0 and the message's token."""
        return web.json_response({"status": 0, "status_message": "ok",
                                  "message_token": viber_token(message_id),
                                  "chat_hostname": "SN-CHAT-01_", "billing_status": 1})


SHAPES = {"simple": Simple(), "telegram": Telegram(), "whatsapp": WhatsApp(), "viber": Viber()}
