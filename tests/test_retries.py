"""Retry policy against the real gateway: transient retried, permanent failed at once."""

import time

from apiclient import add_contact, attempts, failed, received, send, set_faults
from helpers import wait_until


def one_telegram_send(stack):
    add_contact(stack, "test", "Artem", telegram="artem")
    assert send(stack, "test", ["Artem"], "hello").status_code == 200


def test_429_is_not_retried_before_retry_after(stack):
    set_faults(stack, script=[429], retry_after=2)
    one_telegram_send(stack)
    wait_until(lambda: received(stack), timeout=15)
    seen = attempts(stack)
    assert [a["status"] for a in seen] == [429, 200]
    assert seen[1]["time"] - seen[0]["time"] >= 2


def test_503_is_retried_then_succeeds(stack):
    set_faults(stack, script=[503, 503])
    one_telegram_send(stack)
    wait_until(lambda: received(stack), timeout=15)
    time.sleep(0.5)
    assert [a["status"] for a in attempts(stack)] == [503, 503, 200]
    assert len(received(stack)) == 1
    assert failed(stack, "test") == []


def test_400_goes_to_failed_store_after_one_attempt(stack):
    set_faults(stack, script=[400])
    one_telegram_send(stack)
    records = wait_until(lambda: failed(stack, "test"), timeout=15)
    time.sleep(1)
    assert [a["status"] for a in attempts(stack)] == [400]
    assert records[0]["attempts"] == 1
    assert records[0]["error"].startswith("HTTP 400")
    assert received(stack) == []


def test_gateway_that_never_answers_is_abandoned_at_read_timeout_and_retried(stack):
    set_faults(stack, script=[-1], hang_seconds=30)
    one_telegram_send(stack)
    wait_until(lambda: received(stack), timeout=stack.config.http_read_timeout + 15)
    first, second = attempts(stack)
    waited = second["time"] - first["time"]
    assert stack.config.http_read_timeout <= waited < stack.config.http_read_timeout + 5
    assert len(received(stack)) == 1


def test_1000_deliveries_through_a_flaky_gateway_all_accounted_for(stack):
    set_faults(stack, fail_rate=0.3)
    names = [f"c{i}" for i in range(1000)]
    for name in names:
        add_contact(stack, "test", name, telegram=name)
    assert send(stack, "test", names, "bulk").json()["deliveries"] == 1000

    def settled():
        sent = {r["to"] for r in received(stack)}
        gave_up = {r["contact"] for r in failed(stack, "test")}
        return (sent, gave_up) if len(sent) + len(gave_up) >= 1000 else None

    sent, gave_up = wait_until(settled, timeout=120)
    time.sleep(1)
    assert len(received(stack)) == len(sent), "a delivery reached the gateway twice"
    assert not sent & gave_up
    assert sent | gave_up == set(names)
    tries = {}
    for a in attempts(stack):
        tries[a["to"]] = tries.get(a["to"], 0) + 1
    for record in failed(stack, "test"):
        assert record["attempts"] == stack.config.max_attempts == tries[record["contact"]]
