"""What people send the bot, read from each messenger's own shape into small events.

An event is a dict: `key` (the messenger's own id of the update, which a
redelivery repeats), `kind`, `sender` (the chat id, Viber user id or wa_id),
`at` (epoch seconds), and `text`, `code` and `name` where they apply. Kinds:

- start: Telegram `/start [payload]`, Viber `conversation_started` (the
  deep link's payload or context in `code`);
- text: a text (`code` too if it holds an invite code, as a WhatsApp
  invite's prefilled text does);
- stop: Telegram `/stop`; blocked and unblocked: Telegram's
  `my_chat_member` to kicked and back;
- subscribed, unsubscribed: Viber's.

Updates that carry none of these (a photo, an edited message, Viber's
`delivered`) give no event. A body that is not what the messenger sends is
BadUpdate, naming the field.
"""

import re

# Invite codes (core/invites.py): found anywhere in a text.
CODE = re.compile(r"inv_[A-Za-z0-9_-]{24}")
# Epoch seconds beyond this (the year 5138) are no messenger's timestamps.
LATEST_SECONDS = 10 ** 11
TELEGRAM_LEFT = ("kicked", "left")
TELEGRAM_BACK = ("member",)
VIBER_EVENTS = ("conversation_started", "subscribed", "unsubscribed", "message")


class BadUpdate(ValueError):
    """A field of an update that is not what the messenger sends."""

    def __init__(self, path, problem):
        super().__init__(f"{path} {problem}")
        self.path = path
        self.problem = problem


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _object(parent, key, path):
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, dict):
        raise BadUpdate(f"{path}{key}", "must be an object")
    return value


def _string(parent, key, path, optional=False):
    value = parent.get(key)
    if optional and value is None:
        return None
    if not isinstance(value, str) or not value:
        raise BadUpdate(f"{path}{key}", "must be a non-empty string")
    return value


def _seconds(value, path, scale=1):
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 14:
        value = int(value)
    if not _integer(value) or not 0 <= value < LATEST_SECONDS * scale:
        raise BadUpdate(path, "must be a Unix time")
    return value / scale


def _event(key, kind, sender, at, text=None, code=None, name=None):
    return {"key": str(key), "kind": kind, "sender": str(sender), "at": at, "text": text, "code": code,
            "name": name}


def _text_event(key, sender, at, text, name):
    found = CODE.search(text)
    return _event(key, "text", sender, at, text=text, code=found and found.group(), name=name)


def telegram_events(update) -> list:
    """The events of a Telegram Update (https://core.telegram.org/bots/api#update)."""
    if not isinstance(update, dict):
        raise BadUpdate("body", "must be a JSON object")
    update_id = update.get("update_id")
    if not _integer(update_id) or update_id < 0:
        raise BadUpdate("update_id", "must be a non-negative integer")
    if "my_chat_member" in update:
        change = _object(update, "my_chat_member", "")
        chat = _object(change, "chat", "my_chat_member.")
        status = _string(_object(change, "new_chat_member", "my_chat_member."), "status",
                         "my_chat_member.new_chat_member.")
        at = _seconds(change.get("date"), "my_chat_member.date")
        kind = "blocked" if status in TELEGRAM_LEFT else "unblocked" if status in TELEGRAM_BACK else None
        return [_event(update_id, kind, _chat_id(chat, "my_chat_member.chat.id"), at)] if kind else []
    if "message" not in update:
        return []
    message = _object(update, "message", "")
    chat = _object(message, "chat", "message.")
    sender = _chat_id(chat, "message.chat.id")
    at = _seconds(message.get("date"), "message.date")
    text = message.get("text")
    # Only people's own chats: a group the bot is in is no one's contact.
    if not isinstance(text, str) or not text or chat.get("type", "private") != "private":
        return []
    name = chat.get("username") or chat.get("first_name")
    command, _, argument = text.partition(" ")
    # "/start@bot_name" in a chat with several bots.
    command = command.split("@")[0]
    if command == "/start":
        return [_event(update_id, "start", sender, at, code=argument.strip() or None, name=name)]
    if command == "/stop":
        return [_event(update_id, "stop", sender, at, name=name)]
    if text.startswith("/"):
        return []
    return [_text_event(update_id, sender, at, text, name)]


def _chat_id(chat, path):
    chat_id = chat.get("id")
    if not _integer(chat_id):
        raise BadUpdate(path, "must be an integer")
    return chat_id


def viber_events(body) -> list:
    """The events of a Viber callback (https://developers.viber.com/docs/api/rest-bot-api/#callbacks)."""
    if not isinstance(body, dict):
        raise BadUpdate("body", "must be a JSON object")
    event = _string(body, "event", "")
    if event not in VIBER_EVENTS:
        return []
    token = body.get("message_token")
    if not _integer(token) or token < 0:
        raise BadUpdate("message_token", "must be a non-negative integer")
    at = _seconds(body.get("timestamp"), "timestamp", 1000)
    if event == "unsubscribed":
        return [_event(token, "unsubscribed", _string(body, "user_id", ""), at)]
    if event == "message":
        sender = _object(body, "sender", "")
        message = _object(body, "message", "")
        if message.get("type") != "text":
            return []
        return [_text_event(token, _string(sender, "id", "sender."), at, _string(message, "text", "message."),
                            sender.get("name"))]
    user = _object(body, "user", "")
    user_id, name = _string(user, "id", "user."), user.get("name")
    if event == "subscribed":
        return [_event(token, "subscribed", user_id, at, name=name)]
    return [_event(token, "start", user_id, at, code=_string(body, "context", "", optional=True), name=name)]


def whatsapp_events(body) -> list:
    """The texts in a Cloud API notification: `entry[].changes[].value.messages[]` of type text."""
    if not isinstance(body, dict):
        raise BadUpdate("body", "must be a JSON object")
    events = []
    for entry, entry_path in _list(body, "entry", ""):
        for change, path in _list(entry, "changes", entry_path + "."):
            if change.get("field") != "messages":
                continue
            value = _object(change, "value", path + ".")
            names = {c.get("wa_id"): (c.get("profile") or {}).get("name")
                     for c, _ in _list(value, "contacts", path + ".value.", optional=True)}
            for message, message_path in _list(value, "messages", path + ".value.", optional=True):
                prefix = message_path + "."
                wamid, sender = _string(message, "id", prefix), _string(message, "from", prefix)
                at = _seconds(message.get("timestamp"), prefix + "timestamp")
                if message.get("type") != "text":
                    continue
                text = _string(_object(message, "text", prefix), "body", prefix + "text.")
                events.append(_text_event(wamid, sender, at, text, names.get(sender)))
    return events


def _list(parent, key, path, optional=False):
    value = parent.get(key, [] if optional else None)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadUpdate(f"{path}{key}", "must be a list of objects")
    return [(item, f"{path}{key}[{i}]") for i, item in enumerate(value)]


PARSERS = {"telegram": telegram_events, "viber": viber_events, "whatsapp": whatsapp_events}
