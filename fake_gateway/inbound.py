"""What each messenger sends a bot when a person acts, in its own shape.

- Telegram Update (https://core.telegram.org/bots/api#update): `message`
  (https://core.telegram.org/bots/api#message) with from, chat, date and
  text, a leading command marked by a `bot_command` entity (offsets in UTF-16
  units); or `my_chat_member` (https://core.telegram.org/bots/api#chatmemberupdated)
  when a person blocks the bot (member to kicked) or comes back.
- Viber callbacks (https://developers.viber.com/docs/api/rest-bot-api/#callbacks):
  conversation_started, subscribed, unsubscribed, message, and the webhook
  check, each with a millisecond timestamp and a message_token.
- WhatsApp Cloud API `messages` notification of an inbound text
  (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components):
  `contacts[]` with the profile name and wa_id, `messages[]` with from, id,
  timestamp, type text and text.body.
"""

from fake_gateway.documented import utf16_length
from fake_gateway.receipts import DISPLAY_PHONE_NUMBER, WABA_ID

VIBER_HOSTNAME = "SN-CHAT-01_"


def telegram_user(person):
    """A person as Telegram's User object."""
    user = {"id": person["chat_id"], "is_bot": False, "first_name": person["first_name"],
            "language_code": "en"}
    if person["username"]:
        user["username"] = person["username"]
    return user


def telegram_chat(person):
    """A person's private chat with the bot, as Telegram's Chat object."""
    chat = {"id": person["chat_id"], "first_name": person["first_name"], "type": "private"}
    if person["username"]:
        chat["username"] = person["username"]
    return chat


def telegram_message(update_id, message_id, person, text, at):
    """An Update with a message the person wrote to the bot."""
    message = {"message_id": message_id, "from": telegram_user(person),
               "chat": telegram_chat(person), "date": int(at), "text": text}
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"offset": 0, "length": utf16_length(command), "type": "bot_command"}]
    return {"update_id": update_id, "message": message}


def telegram_member_change(update_id, person, bot_user, old, new, at):
    """An Update telling that the bot's status in the person's chat changed (member, kicked)."""
    def member(status):
        return {"user": bot_user, "status": status, **({"until_date": 0} if status == "kicked" else {})}
    return {"update_id": update_id, "my_chat_member": {
        "chat": telegram_chat(person), "from": telegram_user(person), "date": int(at),
        "old_chat_member": member(old), "new_chat_member": member(new)}}


def viber_user(user):
    """A Viber user as callbacks describe them."""
    return {"id": user["user_id"], "name": user["name"], "language": "en", "country": "GB",
            "api_version": 10}


def viber_callback(event, token, at, **fields):
    """A Viber callback of an event, with the fields that event carries."""
    return {"event": event, "timestamp": int(at * 1000), "chat_hostname": VIBER_HOSTNAME,
            "message_token": token, **fields}


def viber_conversation_started(user, context, token, at):
    """The callback when a person opens the bot's chat, with a deep link's context if any."""
    fields = {"type": "open", "user": viber_user(user), "subscribed": user["subscribed"]}
    if context is not None:
        fields["context"] = context
    return viber_callback("conversation_started", token, at, **fields)


def viber_message(user, text, token, at):
    """The callback of a text a person sent the bot."""
    return viber_callback("message", token, at, sender=viber_user(user),
                          message={"type": "text", "text": text}, silent=False)


def whatsapp_message(phone_number_id, number, message_id, text, at):
    """The Cloud API notification of a text a number sent the business."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER,
                          "phone_number_id": phone_number_id},
             "contacts": [{"profile": {"name": number["name"]}, "wa_id": number["wa_id"]}],
             "messages": [{"from": number["wa_id"], "id": message_id, "timestamp": str(int(at)),
                           "type": "text", "text": {"body": text}}]}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}]}
