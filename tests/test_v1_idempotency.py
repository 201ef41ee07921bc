"""Idempotency-Key on POST /api/v1/messages: a repeat sends nothing new, also when requests race."""

import threading
import time

import pytest

from apiclient import received, v1
from helpers import wait_until

BODY = {"to": "Lera", "text": "once"}


@pytest.fixture
def token(stack, user_token):
    token = user_token("alice")
    assert v1(stack, token, "POST", "/contacts", {"name": "Lera", "telegram": "lera"}).status_code == 201
    return token


def post(stack, token, body, key):
    return v1(stack, token, "POST", "/messages", body, headers={"Idempotency-Key": key})


def messages(stack, token):
    return v1(stack, token, "GET", "/messages").json()


def delivered_once(stack):
    """What the gateway got, after waiting for a duplicate's chance to arrive too."""
    wait_until(lambda: received(stack), timeout=10, message="delivered")
    time.sleep(0.5)
    return received(stack)


def test_a_repeat_gets_the_first_answer_and_sends_nothing_new(stack, token):
    first = post(stack, token, BODY, "k-1")
    assert first.status_code == 202
    wait_until(lambda: received(stack), timeout=10, message="delivered")
    again = post(stack, token, BODY, "k-1")
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [m["id"] for m in messages(stack, token)] == [first.json()["id"]]
    assert len(delivered_once(stack)) == 1


def test_the_same_key_with_another_body_is_a_conflict(stack, token):
    first = post(stack, token, BODY, "k-1")
    other = post(stack, token, {**BODY, "text": "twice?"}, "k-1")
    assert other.status_code == 409
    error = other.json()
    assert error["code"] == 409 and "Idempotency-Key" in error["message"]
    assert [m["id"] for m in messages(stack, token)] == [first.json()["id"]]
    assert [r["text"] for r in delivered_once(stack)] == ["once"]


def test_other_keys_and_no_key_send_again(stack, token):
    ids = {post(stack, token, BODY, key).json()["id"] for key in ("a", "b")}
    ids |= {v1(stack, token, "POST", "/messages", BODY).json()["id"] for _ in range(2)}
    assert len(ids) == 4
    wait_until(lambda: len(received(stack)) == 4, timeout=10, message="4 delivered")


def test_keys_are_per_user(stack, token, user_token):
    bob = user_token("bob")
    v1(stack, bob, "POST", "/contacts", {"name": "Lera", "telegram": "lera_b"})
    alices = post(stack, token, BODY, "shared").json()
    bobs = post(stack, bob, BODY, "shared")
    assert bobs.status_code == 202 and bobs.json()["id"] != alices["id"]
    assert bobs.json()["sender"] == "bob"
    assert "Idempotent-Replayed" not in bobs.headers


def test_a_send_that_failed_does_not_hold_its_key(stack, token):
    missing = post(stack, token, {"to": "Vasya", "text": "x"}, "k-2")
    assert missing.status_code == 404
    v1(stack, token, "POST", "/contacts", {"name": "Vasya", "whatsapp": "+7"})
    sent = post(stack, token, {"to": "Vasya", "text": "x"}, "k-2")
    assert sent.status_code == 202
    assert "Idempotent-Replayed" not in sent.headers


def test_racing_requests_with_one_key_make_one_message(stack, token):
    racers = 12
    barrier = threading.Barrier(racers)
    replies = [None] * racers

    def race(i):
        barrier.wait()
        replies[i] = post(stack, token, BODY, "race")

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in replies} == {202}
    assert len({r.json()["id"] for r in replies}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in replies) == 1
    assert len(messages(stack, token)) == 1
    assert len(delivered_once(stack)) == 1


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_a_bad_key_is_a_422(stack, token, key):
    reply = post(stack, token, BODY, key)
    assert reply.status_code == 422, reply.text
    assert "Idempotency-Key" in reply.json()["errors"]["headers"]
    assert messages(stack, token) == []
