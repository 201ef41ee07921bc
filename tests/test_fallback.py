"""Fallback chains: per contact, one delivery at a time over the messengers
named, in order; the next starts when one fails for good (or, with
`fallback_after: delivered`, gets no receipt in time); the first success
ends the chain. Real stack over HTTP; the fake gateway's Viber fails unless
told otherwise."""

import json
import signal
import time

import pytest
from click.testing import CliRunner

from apiclient import add_contact, attempts, received, set_faults, v1
from conftest import consenting, token_for
from console.app import main
from helpers import wait_until
from people import wrote

WAITING = ("standby", "scheduled", "queued", "sending", "retrying")
SENT = ("sent", "delivered", "read")


@pytest.fixture
def token(stack):
    return token_for(stack)


def chain_send(stack, token, names, chain, headers=None, **options):
    """A v1 send with a fallback chain; the 202 answer."""
    reply = v1(stack, token, "POST", "/messages",
               {"to": names, "text": "hello", "fallback": chain, **options}, headers=headers)
    assert reply.status_code == 202, reply.text
    return reply.json()


def settled(stack, token, message_id, timeout=30):
    """The message, once none of its deliveries waits or sends."""
    def done():
        message = v1(stack, token, "GET", f"/messages/{message_id}").json()
        return all(d["status"] not in WAITING for d in message["deliveries"]) and message
    return wait_until(done, timeout=timeout, message="every step settled")


def steps(message):
    """{contact: [(step, messenger, status), ...]} in chain order."""
    out = {}
    for d in message["deliveries"]:
        out.setdefault(d["contact"], []).append((d["step"], d["messenger"], d["status"]))
    return out


def test_a_failing_messenger_falls_back_to_the_next(stack, token):
    add_contact(stack, "alice", "Artem", telegram="t1", whatsapp="+1", viber="v1")
    answer = chain_send(stack, token, "Artem", ["viber", "telegram", "whatsapp"])
    # The answer shows every step: only the first started.
    assert [(d["step"], d["messenger"], d["status"]) for d in answer["deliveries"]] == [
        (1, "viber", "queued"), (2, "telegram", "standby"), (3, "whatsapp", "standby")]
    message = settled(stack, token, answer["id"])
    assert steps(message)["Artem"] == [(1, "viber", "failed"), (2, "telegram", "sent"),
                                       (3, "whatsapp", "not_needed")]
    assert message["status"] == "partial"
    assert [(r["messenger"], r["to"]) for r in received(stack)] == [("telegram", "t1")]
    # Viber failed, but the message got through: nothing in the failed store.
    assert v1(stack, token, "GET", "/failed").json() == []


def test_the_first_success_ends_the_chain_and_each_contact_has_its_own(stack, token):
    add_contact(stack, "alice", "Artem", telegram="t1", whatsapp="+1")
    add_contact(stack, "alice", "Lera", viber="v2", whatsapp="+2")
    add_contact(stack, "alice", "Nobody", telegram="t3")
    answer = chain_send(stack, token, ["Artem", "Lera", "Nobody"], ["whatsapp", "viber"])
    message = settled(stack, token, answer["id"])
    # Each chain runs over the messengers its contact has; Nobody has none of them.
    assert steps(message) == {"Artem": [(1, "whatsapp", "sent")],
                              "Lera": [(1, "whatsapp", "sent"), (2, "viber", "not_needed")]}
    assert sorted(r["to"] for r in received(stack)) == ["+1", "+2"]


def test_when_every_step_fails_the_last_is_the_failed_record(stack, token):
    add_contact(stack, "alice", "Artem", telegram="t1", viber="v1")
    set_faults(stack, script=[503] * 5)
    answer = chain_send(stack, token, "Artem", ["telegram", "viber"])
    message = settled(stack, token, answer["id"])
    assert steps(message)["Artem"] == [(1, "telegram", "failed"), (2, "viber", "failed")]
    failed = v1(stack, token, "GET", "/failed").json()
    assert [(f["messenger"], f["delivery_id"]) for f in failed] == [
        ("viber", message["deliveries"][1]["id"])]
    assert received(stack) == []


def test_a_cancel_stops_the_steps_not_started(stack, token):
    add_contact(stack, "alice", "Artem", telegram="t1", viber="v1")
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    answer = chain_send(stack, token, "Artem", ["viber", "telegram"], not_before=later)
    cancelled = v1(stack, token, "POST", f"/messages/{answer['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert [d["status"] for d in cancelled.json()["message"]["deliveries"]] == ["cancelled"] * 2


def test_a_repeated_key_makes_one_chain(stack, token):
    add_contact(stack, "alice", "Artem", telegram="t1", viber="v1")
    key = {"Idempotency-Key": "chain-1"}
    first = chain_send(stack, token, "Artem", ["viber", "telegram"], headers=key)
    again = chain_send(stack, token, "Artem", ["viber", "telegram"], headers=key)
    assert again["id"] == first["id"]
    assert again["deliveries"] == first["deliveries"]
    settled(stack, token, first["id"])
    assert [r["messenger"] for r in received(stack)] == ["telegram"]


@pytest.mark.parametrize("body, field", [
    ({"fallback": ["telegram", "telegram"]}, "fallback"),
    ({"fallback": ["icq"]}, "fallback"),
    ({"fallback": []}, "fallback"),
    ({"fallback": ["telegram"], "messengers": ["telegram"]}, "messengers"),
    ({"fallback_after": "delivered"}, "fallback_after"),
    ({"fallback": ["telegram"], "fallback_within": 10}, "fallback_within"),
    ({"fallback": ["telegram"], "fallback_after": "read"}, "fallback_after"),
    ({"fallback": ["telegram"], "fallback_after": "delivered", "fallback_within": 0}, "fallback_within"),
])
def test_bad_chains_are_refused_naming_the_field(stack, token, body, field):
    add_contact(stack, "alice", "Artem", telegram="t1")
    reply = v1(stack, token, "POST", "/messages", {"to": "Artem", "text": "x", **body})
    assert reply.status_code == 422, reply.text
    assert field in reply.json()["errors"]["json"]
    assert v1(stack, token, "GET", "/messages").json() == []


def test_a_blocked_step_is_suppressed_and_the_next_one_sends(make_stack):
    stack = consenting(make_stack(messenger_api="real"))
    token = token_for(stack)
    v1(stack, token, "PUT", "/contacts/Artem", {"telegram": "1001", "whatsapp": "+15550001"})
    # Within WhatsApp's 24-hour window, so that its text goes.
    wrote(stack, "+15550001")
    set_faults(stack, script=["telegram:403"])
    settled(stack, token, chain_send(stack, token, "Artem", ["telegram", "whatsapp"])["id"])
    assert v1(stack, token, "GET", "/contacts/Artem").json()["blocked"] == ["telegram"]
    message = settled(stack, token, chain_send(stack, token, "Artem", ["telegram", "whatsapp"])["id"])
    (first, second), = steps(message).values()
    assert first == (1, "telegram", "suppressed") and second[2] in SENT
    assert len(attempts(stack, "telegram")) == 1


def test_delivered_mode_waits_for_the_receipt_then_falls_back(make_stack):
    stack = consenting(make_stack(messenger_api="real"))
    token = token_for(stack)
    v1(stack, token, "PUT", "/contacts/Artem", {"telegram": "1001", "whatsapp": "+15550001"})
    v1(stack, token, "PUT", "/contacts/Lera", {"telegram": "1002", "whatsapp": "+16660001"})
    wrote(stack, "+15550001", "+16660001")
    # Artem's WhatsApp never reports delivered; Lera's does, after 0.5 s.
    set_faults(stack, receipts={"+15550001": "never"})
    started = time.time()
    answer = chain_send(stack, token, ["Artem", "Lera"], ["whatsapp", "telegram"],
                        fallback_after="delivered", fallback_within=3)
    message = settled(stack, token, answer["id"])
    chains = steps(message)
    assert chains["Artem"][0][:2] == (1, "whatsapp") and chains["Artem"][0][2] == "sent"
    assert chains["Artem"][1][:2] == (2, "telegram") and chains["Artem"][1][2] in SENT
    assert chains["Lera"][0][2] in ("delivered", "read")
    assert chains["Lera"][1] == (2, "telegram", "not_needed")
    telegram = received(stack, "telegram")
    assert [r["to"] for r in telegram] == ["1001"]
    # Artem's Telegram step waited out the 3 s for a receipt.
    assert telegram[0]["time"] - started >= 3


def test_a_worker_killed_mid_chain_leaves_one_success_per_contact(make_stack):
    stack = make_stack(shipped=True, worker_processes=1)
    token = token_for(stack)
    names = [f"c{i}" for i in range(20)]
    for name in names:
        add_contact(stack, "alice", name, telegram=f"t{name}", viber=f"v{name}")
    # Viber fails (the fake gateway's default), slowly: workers die with
    # attempts in flight, and again once Telegram's steps have begun.
    set_faults(stack, latency_ms=300)
    answer = chain_send(stack, token, names, ["viber", "telegram"])
    wait_until(lambda: len(attempts(stack, "viber")) >= 10, timeout=20, message="viber attempts")
    stack.kill("worker", signal.SIGKILL)
    stack.start("worker")
    wait_until(lambda: len(received(stack, "telegram")) >= 3, timeout=90, message="telegram steps")
    stack.kill("worker", signal.SIGKILL)
    stack.start("worker")
    message = settled(stack, token, answer["id"], timeout=120)
    chains = steps(message)
    assert set(chains) == set(names)
    # Accepted: 20 chains. Arrived: each contact's Telegram step, and only
    # it (a send in flight at a kill arrives again, under the same delivery's
    # Idempotency-Key: never as a second step); Viber failed for every one of
    # them; nothing in the failed store.
    assert all(c == [(1, "viber", "failed"), (2, "telegram", "sent")] for c in chains.values()), chains
    steps_sent = {d["id"]: d["to"] for d in message["deliveries"] if d["messenger"] == "telegram"}
    telegram = received(stack, "telegram")
    assert {(r["key"], r["to"]) for r in telegram} == set(steps_sent.items())
    assert received(stack, "viber") == []
    assert v1(stack, token, "GET", "/failed").json() == []


def test_the_cli_sends_a_chain_and_waits_for_it(stack, token, tmp_path):
    add_contact(stack, "alice", "Artem", telegram="t1", viber="v1")
    env = {"DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token,
           "DISPATCHER_CONFIG": str(tmp_path / "cli.json")}
    result = CliRunner().invoke(main, ["send", "hi", "--to", "Artem", "--fallback", "viber,telegram",
                                       "--wait", "--json"], env=env, prog_name="python cli.py")
    # Viber failed, Telegram sent: the contact was reached, so no exit 1.
    assert result.exit_code == 0, result.output
    message = json.loads(result.stdout)
    assert [(d["messenger"], d["status"]) for d in message["deliveries"]] == [
        ("viber", "failed"), ("telegram", "sent")]
    # Every step failing is a failure.
    set_faults(stack, script=[503] * 10)
    result = CliRunner().invoke(main, ["send", "hi", "--to", "Artem", "--fallback", "telegram",
                                       "--wait"], env=env, prog_name="python cli.py")
    assert result.exit_code == 1
    assert "1 of 1 deliveries failed: Artem on telegram" in result.output
