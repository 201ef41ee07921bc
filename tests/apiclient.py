"""Small HTTP helpers for talking to the stack under test as a user would."""

import time

import requests

TIMEOUT = 10


def call(stack, method, path, body=None, **kwargs):
    """Send a JSON body (GET and DELETE too, as the original API does) to the API."""
    return requests.request(method, stack.api_url + path, json=body, timeout=TIMEOUT, **kwargs)


def add_contact(stack, user, name, telegram="", whatsapp="", viber=""):
    """Add a contact through the original API and check it was accepted."""
    reply = call(stack, "POST", "/api/contacts", {
        "user_name": user,
        "contact": {"name": name, "messangers": {
            "telegram": telegram, "whatsApp": whatsapp, "viber": viber}},
    })
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"success": True}


def send(stack, user, names, text, when=None):
    """Send through the original API; returns the reply."""
    body = {"user_name": user, "contact": names, "message": text}
    if when is not None:
        body["time"] = when
    return call(stack, "PUT", "/api/contacts", body)


def received(stack, messenger=None):
    """What the fake gateway accepted."""
    params = {"messenger": messenger} if messenger else None
    reply = requests.get(stack.gateway_url + "/received", params=params, timeout=TIMEOUT)
    return reply.json()["received"]


def attempts(stack, messenger=None):
    """Every request the fake gateway saw, with the status it answered."""
    params = {"messenger": messenger} if messenger else None
    reply = requests.get(stack.gateway_url + "/attempts", params=params, timeout=TIMEOUT)
    return reply.json()["attempts"]


def set_faults(stack, **faults):
    """Tell the fake gateway how to misbehave."""
    reply = requests.put(stack.gateway_url + "/faults", json=faults, timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text


def failed(stack, user):
    """The user's failed deliveries through the original API."""
    reply = call(stack, "GET", "/api/get_failed_mess", {"user_name": user})
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def wallclock(ts):
    """[Y, M, D, h, m, s] in UTC for an epoch time (the stack runs in UTC)."""
    t = time.gmtime(ts)
    return [t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec]


def v1(stack, token, method, path, body=None, headers=None, timeout=TIMEOUT, **kwargs):
    """Call /api/v1 as the token's user (body as JSON)."""
    headers = {"Authorization": f"Bearer {token}", **(headers or {})}
    return requests.request(method, stack.api_url + "/api/v1" + path, json=body, headers=headers,
                            timeout=timeout, **kwargs)
