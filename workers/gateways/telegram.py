"""Telegram Bot API: sendMessage.

Request and answer: https://core.telegram.org/bots/api#making-requests and
https://core.telegram.org/bots/api#sendmessage. Every answer is
{"ok": true, "result": Message} or {"ok": false, "error_code", "description",
"parameters"}; on flood control (429) `parameters.retry_after` names the
seconds to wait (https://core.telegram.org/bots/api#responseparameters).
Limits: about 30 messages per second overall and one per second per chat
(https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
"""

from core.gateway_urls import send_url
from workers.gateways.base import (
    SENT,
    Outcome,
    blocked,
    classify_http,
    json_body,
    opted_out,
    permanent,
    retry_after_header,
    transient,
    unexpected,
)

# 403 Forbidden: the bot was blocked by the user, the user is deactivated,
# the bot cannot initiate a conversation with the user, the bot was kicked
# from the group: none of them will receive the bot's messages.
BLOCKED_CODES = frozenset({403})
# Of those, the person's own doing, as a my_chat_member to "kicked" tells
# of it (https://core.telegram.org/bots/api#chatmemberupdated): an opt-out.
OPTED_OUT = "Forbidden: bot was blocked by the user"


def classify_telegram(response) -> Outcome:
    """Sent on ok; transient on 429 (with retry_after) and 5xx; opted out or blocked on 403; else permanent."""
    body = json_body(response)
    if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
        return unexpected(response) if response.status < 300 else classify_http(response)
    if body["ok"]:
        return SENT
    code = body.get("error_code")
    if not isinstance(code, int):
        code = response.status
    error = f"Telegram {code}: {body.get('description', '')}"
    # 400 chat not found, 401 bad token, 404 no such method: asking again
    # gets the same answer.
    if code == 429 or code >= 500:
        retry_after = (body.get("parameters") or {}).get("retry_after")
        if retry_after is None:
            retry_after = retry_after_header(response)
        return transient(error, retry_after)
    if code in BLOCKED_CODES:
        return opted_out(error) if body.get("description") == OPTED_OUT else blocked(error)
    return permanent(error)


class TelegramGateway:
    """A bot sending to chats by chat_id."""

    messenger = "telegram"

    def __init__(self, config, transport):
        self._endpoint = send_url(config, self.messenger, config.telegram_bot_token)
        # The failed store keeps this; the token never leaves the process.
        self.url = send_url(config, self.messenger)
        self._transport = transport

    def send(self, to, text, key) -> Outcome:
        """Send one text to the chat `to`."""
        return self._transport.post(
            self._endpoint, {"chat_id": to, "text": text}, key, classify_telegram
        )
