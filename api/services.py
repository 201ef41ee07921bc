"""The app's services (core/services.py), one per app, as the routes reach them."""

import time

from flask import current_app

from core.awaiting import TELEGRAM_CHAT
from core.services import Services


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["dispatcher"]


def max_recipients() -> int:
    """How many contacts one send may name (MAX_RECIPIENTS)."""
    return services().config.max_recipients


def release_waiting(user, name, ids) -> int:
    """A Telegram chat id written by hand takes effect as a join's does: the contact's waiting deliveries go to it.

    Only with the real APIs, where deliveries wait (core/awaiting.py); how many went.
    """
    svc = services()
    if svc.config.messenger_api != "real":
        return 0
    return svc.awaiting.send_now(svc.dispatcher, user, name, ids.get("telegram"), time.time())


def noting_chat_ids(contacts, chat_ids: dict):
    """Contacts as they pass to an import, each one's Telegram chat id noted by name (real mode only)."""
    real = services().config.messenger_api == "real"
    for contact in contacts:
        if real and TELEGRAM_CHAT.fullmatch(contact.get("telegram") or ""):
            chat_ids[contact["name"]] = contact["telegram"]
        yield contact


def release_imported(user, chat_ids: dict) -> int:
    """After an import, what release_waiting does for each contact it gave a chat id that has deliveries waiting."""
    svc = services()
    return sum(release_waiting(user, name, {"telegram": chat_ids[name]})
               for name in svc.awaiting.waiting_among(user, chat_ids))
