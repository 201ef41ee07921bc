"""The app's services (core/services.py), one per app, as the routes reach them."""

import time

from flask import current_app

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
