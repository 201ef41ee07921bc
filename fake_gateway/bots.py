"""The bots' own settings at Telegram and Viber: their webhooks, and Telegram's queue of updates.

Telegram (https://core.telegram.org/bots/api#getting-updates): a bot gets
its updates either from a webhook (setWebhook, with a secret_token sent back
in X-Telegram-Bot-Api-Secret-Token) or by polling getUpdates, never both:
while a webhook is set getUpdates is 409. Without one, updates wait in a
queue; getUpdates returns those from `offset` on (an update is confirmed,
and forgotten, once a call's offset is higher than its update_id; a
negative offset keeps only the last -offset), at most `limit`, waiting up
to `timeout` seconds for one if none waits. A newer getUpdates ends a
waiting one with 409.

Viber (https://developers.viber.com/docs/api/rest-bot-api/#webhooks): one
webhook URL per bot, and the optional events it wants.

These survive DELETE /received, as the bots' settings would; the queue does not.
"""

import asyncio
import itertools
import time
from collections import deque

from fake_gateway.documented import TELEGRAM_OTHER_POLLER, TELEGRAM_WEBHOOK_ACTIVE

TELEGRAM_BOT_NAME = "Dispatcher"
TELEGRAM_BOT_USERNAME = "fake_dispatcher_bot"
# Update ids go on rising across restarts (from the start's milliseconds),
# as the dispatcher keeps the ids it has seen for days.
FIRST_UPDATE_ID = int(time.time() * 1000)
VIBER_EVENTS = ("delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started")
# Viber sends these whatever a bot asks for.
VIBER_MANDATORY = ("subscribed", "unsubscribed")


class Conflict(Exception):
    """A getUpdates call Telegram answers 409, with its description."""


def telegram_bot_user(token):
    """The bot's own User object, its id the token's number."""
    number = token.split(":", 1)[0]
    return {"id": int(number) if number.isdigit() else 0, "is_bot": True,
            "first_name": TELEGRAM_BOT_NAME, "username": TELEGRAM_BOT_USERNAME}


class TelegramBot:
    """The bot's webhook settings and the updates waiting for getUpdates."""

    def __init__(self):
        self.url = ""
        self.secret_token = None
        self.max_connections = 40
        self.allowed_updates = None
        self.last_error = None
        self.queue = deque()
        self._update_ids = itertools.count(FIRST_UPDATE_ID)
        self._poller = 0
        self._wake = asyncio.Event()

    def next_update_id(self):
        """The id of the next update: each one higher than the last."""
        return next(self._update_ids)

    def set_webhook(self, url, secret_token, max_connections, allowed_updates):
        """Set the webhook; whether anything changed."""
        changed = (url, secret_token) != (self.url, self.secret_token)
        self.url, self.secret_token = url, secret_token
        self.max_connections, self.allowed_updates = max_connections, allowed_updates
        self.last_error = None
        self._notify()
        return changed

    def delete_webhook(self):
        """Remove the webhook; whether there was one."""
        had = bool(self.url)
        self.url, self.secret_token, self.allowed_updates, self.last_error = "", None, None, None
        return had

    def drop_pending(self):
        """Forget every update waiting for getUpdates."""
        self.queue.clear()
        self._notify()

    def failed(self, at, message):
        """Note that the webhook refused an update or could not be reached, for getWebhookInfo."""
        self.last_error = (int(at), message)

    def info(self):
        """getWebhookInfo's WebhookInfo."""
        info = {"url": self.url, "has_custom_certificate": False,
                "pending_update_count": len(self.queue)}
        if self.url:
            info["max_connections"] = self.max_connections
            if self.allowed_updates is not None:
                info["allowed_updates"] = self.allowed_updates
            if self.last_error is not None:
                info["last_error_date"], info["last_error_message"] = self.last_error
        return info

    def push(self, update):
        """Queue an update for getUpdates, waking a waiting poll."""
        self.queue.append(update)
        self._notify()

    async def get_updates(self, offset, limit, timeout, clock):
        """The updates from offset on, at most limit, waiting up to timeout seconds for one."""
        if self.url:
            raise Conflict(TELEGRAM_WEBHOOK_ACTIVE)
        if offset > 0:
            while self.queue and self.queue[0]["update_id"] < offset:
                self.queue.popleft()
        elif offset < 0:
            while len(self.queue) > -offset:
                self.queue.popleft()
        self._poller += 1
        mine = self._poller
        self._notify()
        deadline = clock() + timeout
        while not self.queue and clock() < deadline:
            wake = self._wake
            try:
                await asyncio.wait_for(wake.wait(), deadline - clock())
            except asyncio.TimeoutError:
                break
            if self._poller != mine:
                raise Conflict(TELEGRAM_OTHER_POLLER)
        return list(itertools.islice(self.queue, limit))

    def _notify(self):
        """Wake every waiting getUpdates to look again."""
        self._wake.set()
        self._wake = asyncio.Event()


class ViberBot:
    """The Viber bot's webhook URL and the optional events it asked for."""

    def __init__(self):
        self.url = ""
        self.event_types = list(VIBER_EVENTS)

    def set_webhook(self, url, event_types):
        """Set (or with an empty url, remove) the webhook; the events it will get."""
        self.url = url
        wanted = VIBER_EVENTS if event_types is None else event_types
        self.event_types = [e for e in VIBER_EVENTS if e in wanted or e in VIBER_MANDATORY]
        return self.event_types

    def wants(self, event):
        """Whether the bot gets callbacks of this event (message always)."""
        return event == "message" or event in self.event_types
