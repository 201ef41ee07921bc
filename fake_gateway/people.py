"""The simulated people on each messenger, as the real services know them, in memory.

Each service decides from its own state whether a bot may write to someone
(fake_gateway.strict); the simulator (fake_gateway.simulator) changes that
state as a person acts:

- Telegram: a person by numeric chat id, who started the bot or not and
  blocked it or not, with a username they may have; and the channels the
  bot posts to, the only chats it may name by @username.
- Viber: a user by opaque id, subscribed to the bot or not.
- WhatsApp: a number by wa_id, with the time of its last message to the
  business, which opens the 24-hour customer-service window.
"""

# https://developers.facebook.com/docs/whatsapp/conversation-types#customer-service-window
WHATSAPP_WINDOW = 24 * 3600


class People:
    """Everyone the gateway's messengers know, changed by the simulator, emptied by a reset."""

    def __init__(self):
        self.clear()

    def clear(self):
        """Forget every person and channel."""
        self.telegram = {}
        self.channels = set()
        self.viber = {}
        self.whatsapp = {}

    def telegram_person(self, chat_id, username=None, first_name=None):
        """The Telegram person with this chat id, made known (not started) if new, names updated."""
        person = self.telegram.setdefault(chat_id, {
            "chat_id": chat_id, "first_name": f"Person {chat_id}", "username": None,
            "started": False, "blocked": False})
        if username is not None:
            person["username"] = username
        if first_name is not None:
            person["first_name"] = first_name
        return person

    def telegram_refusal(self, chat):
        """Why sendMessage may not write to chat (a key of TELEGRAM_CHAT_ERRORS), or None."""
        if chat.startswith("@"):
            return None if chat.lower() in self.channels else "chat_not_found"
        if not chat.lstrip("-").isdigit():
            return "chat_not_found"
        person = self.telegram.get(int(chat))
        if person is None:
            # A group or channel the bot is not in, or a user it never met.
            return "chat_not_found" if int(chat) < 0 else "not_started"
        if person["blocked"]:
            return "blocked"
        return None if person["started"] else "not_started"

    def viber_user(self, user_id, name=None):
        """The Viber user with this id, made known (not subscribed) if new, name updated."""
        user = self.viber.setdefault(user_id, {"user_id": user_id, "name": "Viber user",
                                               "subscribed": False})
        if name is not None:
            user["name"] = name
        return user

    def viber_subscribed(self, user_id):
        """Whether this Viber user is subscribed to the bot."""
        return self.viber.get(user_id, {}).get("subscribed", False)

    def whatsapp_number(self, wa_id, name=None):
        """The WhatsApp number with this wa_id, made known if new, name updated."""
        number = self.whatsapp.setdefault(wa_id, {"wa_id": wa_id, "name": f"+{wa_id}",
                                                  "last_inbound": None})
        if name is not None:
            number["name"] = name
        return number

    def whatsapp_window_open(self, wa_id, now):
        """Whether this number wrote to the business within the last 24 hours."""
        last = self.whatsapp.get(wa_id, {}).get("last_inbound")
        return last is not None and now - last < WHATSAPP_WINDOW

    def as_dict(self):
        """Everyone, per messenger."""
        return {"telegram": list(self.telegram.values()),
                "telegram_channels": sorted(self.channels),
                "viber": list(self.viber.values()),
                "whatsapp": list(self.whatsapp.values())}
