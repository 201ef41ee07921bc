"""Strict mode: a real-API send refused as the real service refuses it for want of consent.

With the fault setting `strict` on, a valid send in a messenger's own shape
is checked against the people the gateway simulates (fake_gateway.people)
and the WhatsApp templates (fake_gateway.templates) before rate limits and
faults apply; a refused one is recorded as an attempt, never received:

- Telegram sendMessage: only a numeric chat id of a person who started the
  bot and has not blocked it, or the @username of a channel. A username or
  an unknown group is 400 "Bad Request: chat not found"; a person who never
  started the bot 403 "Forbidden: bot can't initiate conversation with a
  user"; one who blocked it 403 "Forbidden: bot was blocked by the user".
- Viber send_message: only a subscribed user; else status 6
  (receiverNotSubscribed), with HTTP 200 as ever.
- WhatsApp messages: a text only within 24 hours of that number's last
  message to the business, else 131047 (Re-engagement message); a template,
  in or out of the window, only if approved in that language (else 132001,
  HTTP 404) and given as many body parameters as it has placeholders (else
  132000).

The errors and their sources are in fake_gateway.documented.
"""

from fake_gateway.documented import TELEGRAM_CHAT_ERRORS
from fake_gateway.ids import wa_id


def refusal(shape, message, people, templates, now):
    """(answer, recorded error name) refusing a valid send, or None to let it through."""
    messenger = shape.messenger
    if messenger == "telegram":
        reason = people.telegram_refusal(message.to)
        if reason is None:
            return None
        code, description = TELEGRAM_CHAT_ERRORS[reason]
        return shape.described(code, description), f"telegram:{code}"
    if messenger == "viber":
        if people.viber_subscribed(message.to):
            return None
        return shape.documented(6), "viber:6"
    if message.template is not None:
        refused = templates.refusal(*message.template)
    elif people.whatsapp_window_open(wa_id(message.to), now):
        refused = None
    else:
        refused = 131047, None
    if refused is None:
        return None
    code, details = refused
    return shape.documented(code, details=details), f"whatsapp:{code}"
