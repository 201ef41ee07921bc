"""Helpers for the inbound tests: a stack of the real APIs whose bots hear the fake gateway's simulated people."""

import contextlib

import redis
import requests

from apiclient import received
from conftest import reset, running_stack
from core.bot_calls import set_telegram_webhook
from helpers import wait_until

TIMEOUT = 10


@contextlib.contextmanager
def people_stack(tmp_path_factory, label, **overrides):
    """A stack at shipped settings on the real APIs, token auth, Telegram's webhook set to its API."""
    settings = {"shipped": True, "messenger_api": "real", "auth_mode": "token", **overrides}
    with running_stack(tmp_path_factory, label, **settings) as running:
        if running.config.telegram_updates == "webhook":
            set_telegram_webhook(running.config, running.api_url + "/webhooks/telegram")
        yield running


def fresh(running):
    """The stack with empty stores and gateway records, the gateway strict and Viber accepting."""
    reset(running)
    answer = requests.put(running.gateway_url + "/faults", json={"strict": True, "viber_accepts": True},
                          timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return running


def act(running, path, status=200, **body):
    """Act as a person through the gateway's simulator; its answer."""
    answer = requests.post(f"{running.gateway_url}/people/{path}", json=body, timeout=TIMEOUT)
    assert answer.status_code == status, answer.text
    return answer.json()


def wrote(running, *numbers):
    """Each WhatsApp number writes to the business, which opens its 24-hour window; once the dispatcher handled it."""
    for number in numbers:
        act(running, "whatsapp/text", wa_id=number, text="Hello")
    handled(running)


def sent_to(running, messenger, to):
    """The texts the gateway accepted for one recipient, in order."""
    return [r["text"] for r in received(running, messenger) if r["to"] == to]


def handled(running):
    """Wait until every update handed over is handled: the inbound queue empty, nothing unacknowledged."""
    client = redis.Redis.from_url(running.config.redis_url)
    try:
        wait_until(lambda: client.llen(running.config.inbound_queue) == 0 and client.hlen("unacked") == 0,
                   timeout=10, message="inbound updates handled")
    finally:
        client.close()
