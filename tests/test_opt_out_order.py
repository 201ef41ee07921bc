"""A person's opt-out and return take effect in the messenger's order, whatever order the workers take them in.

People send STOP and START (or /stop and /start) back to back, several rounds each, all at once, to a
stack with two worker processes of 16 threads (the shipped WORKER_PROCESSES on this 2-core host, and
the shipped WORKER_CONCURRENCY): whoever said START last is opted in, whoever said STOP last is opted
out, on Telegram (ordered by update_id), Viber (by its millisecond timestamps) and WhatsApp (by its
second timestamps, ties by when the API received them). Then one send to all: it arrives at exactly
those opted in. A /stop right after joining by an invite leaves the new contact opted out. Real APIs,
strict fake gateway, shipped settings.
"""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest

from apiclient import received, v1
from conftest import token_for
from helpers import wait_until
from people import act, fresh, handled, people_stack

# People per messenger, half ending with START, half with STOP; rounds of the pair each.
PEOPLE = 24
ROUNDS = 3
# How the person says each, per messenger: a simulator action and its body. On Telegram half of
# either kind of person use the commands (/stop, /start), half the words.
SAY = {
    "telegram": {
        "stop": lambda n: ("telegram/stop", {"chat_id": 7000 + n}) if n % 4 < 2 else
        ("telegram/text", {"chat_id": 7000 + n, "text": "STOP"}),
        "start": lambda n: ("telegram/start", {"chat_id": 7000 + n}) if n % 4 < 2 else
        ("telegram/text", {"chat_id": 7000 + n, "text": "START"}),
    },
    "viber": {
        "stop": lambda n: ("viber/text", {"user_id": f"order-{n}=", "text": "STOP"}),
        "start": lambda n: ("viber/text", {"user_id": f"order-{n}=", "text": "START"}),
    },
    "whatsapp": {
        "stop": lambda n: ("whatsapp/text", {"wa_id": f"1555700{n:04d}", "text": "STOP"}),
        "start": lambda n: ("whatsapp/text", {"wa_id": f"1555700{n:04d}", "text": "START"}),
    },
}
ID = {"telegram": lambda n: str(7000 + n), "viber": lambda n: f"order-{n}=",
      "whatsapp": lambda n: f"+1555700{n:04d}"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with people_stack(tmp_path_factory, "opt-out-order", worker_processes=2) as running:
        yield running


def say(stack, messenger, n, what):
    path, body = SAY[messenger][what](n)
    act(stack, path, **body)


def last_word(n) -> str:
    """Even people end with START (STOP then START each round), odd ones with STOP."""
    return "start" if n % 2 == 0 else "stop"


@pytest.mark.parametrize("messenger", sorted(SAY))
def test_the_last_word_wins_however_the_workers_take_them(live, messenger):
    stack = fresh(live)
    token = token_for(stack, "alice")
    for n in range(PEOPLE):
        reply = v1(stack, token, "PUT", f"/contacts/P{n}", {messenger: ID[messenger](n)})
        assert reply.status_code == 200, reply.text
        if messenger == "telegram":
            act(stack, "telegram/start", chat_id=7000 + n)
    handled(stack)

    def person(n):
        first, second = ("stop", "start") if last_word(n) == "start" else ("start", "stop")
        for _ in range(ROUNDS):
            say(stack, messenger, n, first)
            say(stack, messenger, n, second)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(person, range(PEOPLE)))
    handled(stack)
    blocked = {n: v1(stack, token, "GET", f"/contacts/P{n}").json()["blocked"] for n in range(PEOPLE)}
    wrong = {n: b for n, b in blocked.items() if b != ([] if last_word(n) == "start" else [messenger])}
    assert wrong == {}, f"opted the wrong way (person: blocked), even people said START last: {wrong}"
    # One send to all: it arrives at those opted in and no one else; the others' deliveries are suppressed.
    reply = v1(stack, token, "POST", "/messages", {"to": [f"P{n}" for n in range(PEOPLE)], "text": "after",
                                                  "messengers": [messenger]})
    assert reply.status_code == 202, reply.text
    deliveries = wait_until(lambda: final(stack, token, reply.json()["id"]), timeout=10,
                            message="every delivery final")
    statuses = sorted(d["status"] for d in deliveries)
    assert statuses.count("suppressed") == PEOPLE // 2 and "failed" not in statuses, statuses
    got = {r["to"] for r in received(stack, messenger) if r["text"] == "after"}
    assert sorted(got) == sorted(ID[messenger](n) for n in range(PEOPLE) if last_word(n) == "start")
    assert len(received(stack, messenger)) == PEOPLE // 2


def final(stack, token, message_id):
    """The message's deliveries once each is final, else None."""
    deliveries = v1(stack, token, "GET", f"/messages/{message_id}").json()["deliveries"]
    done = ("sent", "delivered", "read", "failed", "suppressed")
    return all(d["status"] in done for d in deliveries) and deliveries


def test_a_stop_right_after_joining_by_invite_ends_opted_out(live):
    """A /stop handled before the /start that bound the contact still counts: the contact joins opted out."""
    stack = fresh(live)
    token = token_for(stack, "alice")
    codes = []
    for n in range(PEOPLE):
        assert v1(stack, token, "POST", "/contacts", {"name": f"J{n}", "telegram": f"joiner{n}"}).status_code == 201
        link = v1(stack, token, "POST", f"/contacts/J{n}/invites").json()["links"]["telegram"]
        codes.append(parse_qs(urlsplit(link).query)["start"][0])

    def person(n):
        act(stack, "telegram/start", chat_id=8000 + n, payload=codes[n])
        act(stack, "telegram/stop", chat_id=8000 + n)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(person, range(PEOPLE)))
    handled(stack)
    contacts = [v1(stack, token, "GET", f"/contacts/J{n}").json() for n in range(PEOPLE)]
    assert [c["telegram"] for c in contacts] == [str(8000 + n) for n in range(PEOPLE)]
    assert [n for n, c in enumerate(contacts) if c["blocked"] != ["telegram"]] == []
