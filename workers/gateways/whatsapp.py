"""WhatsApp Cloud API: POST /{version}/{phone_number_id}/messages.

Request: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
(Bearer token; `messaging_product: "whatsapp"`, `to`, `type: "text"`,
`text.body`; or, outside the 24-hour window, `type: "template"` with the
template's name, language code and body parameters:
https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates).
Errors are Graph API errors {"error": {"message", "type", "code",
"error_data": {"details"}, "fbtrace_id"}}, sorted here by `code` as Meta asks:
https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
Throughput: 80 messages per second per business phone number by default
(https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput).
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
)

# Worth trying again later: 1 API unknown (possibly a server error), 2 API
# service down or overloaded, 4 too many API calls, 80007 WABA rate limit,
# 130429 throughput reached, 131000 something went wrong, 131016 service
# unavailable, 131048 spam rate limit, 131056 pair rate limit, 131057 account
# in maintenance, 133004 server temporarily unavailable. Every other code
# (0/190 token, 3/10/200-299 permission, 100 invalid parameter, 131026
# undeliverable, 131030 not on the allowed list, 131047 re-engagement, 368
# policy block, ...) needs a person to change something first.
TRANSIENT_CODES = frozenset(
    {1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 131057, 133004}
)
# The person will not receive from this number: 131026 message undeliverable
# (not a WhatsApp number, terms not accepted, or the business blocked),
# 131050 the user stopped marketing messages.
BLOCKED_CODES = frozenset({131026, 131050})


def classify_whatsapp(response) -> Outcome:
    """Sent on 2xx; transient on rate-limit and outage codes; blocked on refusals; else permanent."""
    body = json_body(response)
    if 200 <= response.status < 300:
        return sent(_message_id(body))
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return classify_http(response)
    code = error["code"]
    text = f"WhatsApp {code}: {error.get('message', '')}"
    details = (error.get("error_data") or {}).get("details")
    if details:
        text += f" ({details})"
    if code in TRANSIENT_CODES:
        return transient(text, retry_after_header(response))
    return blocked(text) if code in BLOCKED_CODES else permanent(text)


def _message_id(body):
    """The wamid of an accepted message ({"messages": [{"id"}]}), or None."""
    messages = body.get("messages") if isinstance(body, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    return first.get("id") if isinstance(first, dict) else None


class WhatsAppGateway:
    """A business phone number sending texts and message templates to WhatsApp users."""

    messenger = "whatsapp"

    def __init__(self, config, transport):
        self.url = send_url(config, self.messenger)
        self._headers = {"Authorization": f"Bearer {config.whatsapp_token}"}
        self._transport = transport

    def send(self, to, text, key) -> Outcome:
        """Send one text to the WhatsApp user `to` (a phone number)."""
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": text},
        }
        return self._transport.post(self.url, body, key, classify_whatsapp, self._headers)

    def send_template(self, to, template, key) -> Outcome:
        """Send an approved template ({name, language, params}) to the WhatsApp user `to`."""
        parameters = [{"type": "text", "text": text} for text in template["params"]]
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": {"name": template["name"], "language": {"code": template["language"]},
                         "components": [{"type": "body", "parameters": parameters}] if parameters else []},
        }
        return self._transport.post(self.url, body, key, classify_whatsapp, self._headers)
