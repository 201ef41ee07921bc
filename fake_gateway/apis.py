"""The request and answer shapes the fake gateway speaks.

`simple` is its own: POST /{messenger} with {"to", "text"}. The other three
imitate the real APIs closely enough for the service's adapters:

- Telegram Bot API, POST /bot{token}/sendMessage with {"chat_id", "text"}:
  {"ok": true, "result": {...}}, or {"ok": false, "error_code",
  "description", "parameters": {"retry_after"}}; a wrong token gets 401
  Unauthorized.
- WhatsApp Cloud API, POST /{version}/{phone_number_id}/messages with a
  Bearer token and {"messaging_product": "whatsapp", "to", "type": "text",
  "text": {"body"}} or {..., "type": "template", "template": {"name",
  "language": {"code"}, "components": [{"type": "body", "parameters":
  [{"type": "text", "text"}]}]}}: {"messages": [{"id"}], ...}, or {"error": {"message",
  "type", "code", "error_data": {"details"}, "fbtrace_id"}}; a wrong token
  gets 401 with code 190, an unknown phone number id 400 with code 100.
- Viber REST API, POST /pa/send_message with X-Viber-Auth-Token and
  {"receiver", "type": "text", "text", "sender": {"name"}}: always HTTP 200,
  {"status": 0, "status_message": "ok", ...} or a non-zero status; a wrong
  token gets status 2 (invalidAuthToken).

A text longer than its messenger takes (fake_gateway.documented.LONGEST_TEXT, counted in
UTF-16 units) is refused as each API refuses it: simple, 400 naming `text`;
Telegram, 400 "Bad Request: message is too long"; WhatsApp, 400 with code
100 (invalid parameter) on text['body']; Viber, status 3 (badData).

A send past its messenger's rate limit (fault setting `enforce_limits`,
fake_gateway.limits) is refused as each API refuses it: simple, 429 with
Retry-After; Telegram, 429 "Too Many Requests: retry after N" with
parameters.retry_after; WhatsApp, 400 with code 130429 (throughput reached).

The errors each API documents, and the names a fault script gives them,
are in fake_gateway.documented.

The ids a WhatsApp or Viber answer names (fake_gateway.ids) are the ones
that message's receipts name (fake_gateway.receipts).
"""

import json
from typing import NamedTuple

from aiohttp import web

from fake_gateway.documented import TELEGRAM_ERRORS, VIBER_STATUSES, WHATSAPP_ERRORS
from fake_gateway.ids import viber_token, wa_id, whatsapp_id


class Message(NamedTuple):
    """A send request as parsed: recipient, text, the problem refusing it (None if valid), template."""

    to: object
    text: object
    problem: object = None
    # (name, language, [body parameter texts]) of a WhatsApp template send.
    template: object = None


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
        """The Message in a request body; its problem is None when it is valid."""
        try:
            body = json.loads(raw)
        except ValueError:
            return Message(None, None, "body is not valid JSON")
        if not isinstance(body, dict):
            return Message(None, None, "body must be a JSON object")
        to, text = body.get("to"), body.get("text")
        for name, value in (("to", to), ("text", text)):
            if value is None:
                return Message(to, text, f"{name}: missing")
            if not isinstance(value, str):
                return Message(to, text, f"{name}: must be a string")
        return Message(to, text)

    def too_long(self, limit):
        """The problem `parse` would name for a text over the messenger's limit."""
        return f"text: too long, at most {limit} characters"

    def invalid(self, problem):
        """The answer to a malformed request, and its documented error name (if any)."""
        return web.json_response({"ok": False, "error": problem}, status=400), None

    def throttled(self, retry_after):
        """The answer to a send past a rate limit, and its documented error name (if any)."""
        body = {"ok": False, "error": f"too many requests: retry after {retry_after}"}
        return web.json_response(body, status=429, headers={"Retry-After": str(retry_after)}), None

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
        """The Message in a sendMessage body, its chat_id as a string."""
        body = _json(raw)
        if body is None:
            return Message(None, None, "Bad Request: can't parse JSON object")
        chat, text = body.get("chat_id"), body.get("text")
        if not isinstance(chat, (str, int)) or isinstance(chat, bool) or chat == "":
            return Message(None, text, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text:
            return Message(str(chat), None, "Bad Request: message text is empty")
        return Message(str(chat), text)

    def too_long(self, limit):
        """Telegram's description of a text over 4096 characters."""
        return "Bad Request: message is too long"

    def invalid(self, problem):
        """400 with Telegram's description of the problem."""
        body = {"ok": False, "error_code": 400, "description": problem}
        return web.json_response(body, status=400), None

    def documented(self, code, retry_after=1):
        """Telegram's answer for one of its documented error codes."""
        parameters = {"retry_after": retry_after} if code == 429 else None
        return self.described(code, TELEGRAM_ERRORS[code].format(retry_after=retry_after), parameters)

    def described(self, code, description, parameters=None):
        """Telegram's error envelope: ok false, the error code (its HTTP status too) and description."""
        body = {"ok": False, "error_code": code, "description": description}
        if parameters is not None:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    def throttled(self, retry_after):
        """Flood control: 429 naming the seconds to wait."""
        return self.documented(429, retry_after), "telegram:429"

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
        """The Message in a messages body: a text's body, or a template's name, language and parameters."""
        body = _json(raw)
        if body is None:
            return Message(None, None, "(#100) Invalid parameter: the body is not a JSON object")
        to, text = body.get("to"), body.get("text")
        text = text.get("body") if isinstance(text, dict) else None
        if body.get("messaging_product") != "whatsapp":
            return Message(to, text, "(#100) The parameter messaging_product is required.")
        if not isinstance(to, str) or not to:
            return Message(None, text, "(#100) The parameter to is required.")
        if body.get("type") == "template":
            template, problem = _template(body.get("template"))
            return Message(to, None, problem, template)
        if body.get("type", "text") != "text" or not isinstance(text, str) or not text:
            return Message(to, None, "(#100) The parameter text['body'] is required.")
        return Message(to, text)

    def too_long(self, limit):
        """Graph's message for a text body over the limit."""
        return f"(#100) Param text['body'] must be at most {limit} characters long."

    def invalid(self, problem):
        """400 with code 100, as Graph answers a bad parameter."""
        return self._error(400, 100, problem), None

    def documented(self, code, retry_after=1, details=None):
        """The Graph API error for one of WhatsApp's documented codes, with its own details if given."""
        status, message, documented_details = WHATSAPP_ERRORS[code]
        return self._error(status, code, message, details or documented_details)

    def throttled(self, retry_after):
        """Cloud API throughput reached (130429); Graph names no wait."""
        return self.documented(130429), "whatsapp:130429"

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
        """The Message in a send_message body; its problem is a status."""
        body = _json(raw)
        if body is None:
            return Message(None, None, 3)
        to, text, sender = body.get("receiver"), body.get("text"), body.get("sender")
        named = isinstance(sender, dict) and isinstance(sender.get("name"), str)
        if not (isinstance(to, str) and to and isinstance(text, str) and text
                and body.get("type") == "text" and named):
            return Message(to if isinstance(to, str) else None, text if isinstance(text, str) else None, 4)
        return Message(to, text)

    def too_long(self, limit):
        """badData: Viber names no status of its own for a text over 7000 characters."""
        return 3

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


def _template(template):
    """((name, language, [body parameter texts]), problem) from a messages body's template object."""
    if not isinstance(template, dict) or not isinstance(template.get("name"), str) or not template["name"]:
        return None, "(#100) The parameter template['name'] is required."
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str) or not code:
        return None, "(#100) The parameter template['language']['code'] is required."
    params = []
    for component in template.get("components") or []:
        if not isinstance(component, dict) or not isinstance(component.get("parameters", []), list):
            return None, "(#100) Invalid parameter: template['components']"
        if str(component.get("type", "")).lower() != "body":
            continue
        for param in component.get("parameters", []):
            if not isinstance(param, dict) or not isinstance(param.get("text"), str):
                return None, "(#100) Invalid parameter: a body parameter needs a text"
            params.append(param["text"])
    return (template["name"], code, params), None


SHAPES = {"simple": Simple(), "telegram": Telegram(), "whatsapp": WhatsApp(), "viber": Viber()}
