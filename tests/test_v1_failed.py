"""/api/v1/failed: list failed deliveries, send them again, dismiss them; against the real stack."""

import json

import pytest

from api.v1 import PAGE_MAX
from apiclient import attempts, received, set_faults, v1
from helpers import wait_until


@pytest.fixture
def token(stack, user_token):
    token = user_token("alice")
    v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "artem_t", "viber": "artem_v"})
    v1(stack, token, "POST", "/contacts", {"name": "Lera", "viber": "lera_v"})
    return token


def failed_list(stack, token, **params):
    reply = v1(stack, token, "GET", "/failed", params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def fail_all_viber(stack, token, count):
    """Send to Artem and Lera; wait until viber's `count` deliveries have failed for good."""
    message = v1(stack, token, "POST", "/messages", {"to": ["Artem", "Lera"], "text": "hi"}).json()
    wait_until(lambda: len(failed_list(stack, token)) == count, timeout=30, interval=0.2,
               message=f"{count} failed")
    return message


def test_failed_deliveries_are_listed_newest_first_with_the_full_record(stack, token):
    message = fail_all_viber(stack, token, 2)
    records = failed_list(stack, token)
    viber = {d["id"]: d for d in message["deliveries"] if d["messenger"] == "viber"}
    assert {r["delivery_id"] for r in records} == set(viber)
    assert records[0]["failed_at"] >= records[1]["failed_at"]
    record = records[0]
    assert set(record) == {"sender", "message", "contact", "url", "time", "delivery_id",
                           "messenger", "error", "attempts", "failed_at"}
    assert (record["sender"], record["message"], record["messenger"]) == ("alice", "hi", "viber")
    assert record["url"] == stack.gateway_url + "/viber"
    assert record["attempts"] == stack.config.max_attempts
    page = v1(stack, token, "GET", "/failed", params={"page": 2, "page_size": 1})
    assert [r["delivery_id"] for r in page.json()] == [records[1]["delivery_id"]]
    assert json.loads(page.headers["X-Pagination"])["total"] == 2


def test_retry_one_sends_it_again(stack, token):
    fail_all_viber(stack, token, 2)
    target, other = failed_list(stack, token)
    set_faults(stack, viber_accepts=True)
    reply = v1(stack, token, "POST", f"/failed/{target['delivery_id']}/retry")
    assert reply.status_code == 202, reply.text
    assert reply.json() == {"retried": [target["delivery_id"]]}
    wait_until(lambda: received(stack, "viber"), timeout=10, message="viber delivered")
    viber_ids = {"Artem": "artem_v", "Lera": "lera_v"}
    assert [r["to"] for r in received(stack, "viber")] == [viber_ids[target["contact"]]]
    assert [r["delivery_id"] for r in failed_list(stack, token)] == [other["delivery_id"]]
    message_id = target["delivery_id"].rsplit("-", 1)[0]
    message = v1(stack, token, "GET", f"/messages/{message_id}").json()
    [delivery] = [d for d in message["deliveries"] if d["id"] == target["delivery_id"]]
    assert (delivery["status"], delivery["attempts"]) == ("sent", 1)
    again = v1(stack, token, "POST", f"/failed/{target['delivery_id']}/retry")
    assert again.status_code == 404


def test_retry_all_sends_every_one_again(stack, token):
    fail_all_viber(stack, token, 2)
    ids = {r["delivery_id"] for r in failed_list(stack, token)}
    set_faults(stack, viber_accepts=True)
    reply = v1(stack, token, "POST", "/failed/retry")
    assert reply.status_code == 202
    assert set(reply.json()["retried"]) == ids
    wait_until(lambda: len(received(stack, "viber")) == 2, timeout=10, message="both delivered")
    assert failed_list(stack, token) == []
    assert v1(stack, token, "POST", "/failed/retry").json() == {"retried": []}


def test_a_retry_that_fails_again_comes_back_to_the_list(stack, token):
    fail_all_viber(stack, token, 2)
    target = failed_list(stack, token)[0]
    tries = len(attempts(stack, "viber"))
    v1(stack, token, "POST", f"/failed/{target['delivery_id']}/retry")
    wait_until(lambda: len(failed_list(stack, token)) == 2, timeout=30, interval=0.2,
               message="failed again")
    assert len(attempts(stack, "viber")) == tries + stack.config.max_attempts
    assert failed_list(stack, token)[0]["delivery_id"] == target["delivery_id"]


def test_dismiss_drops_it_without_sending(stack, token):
    fail_all_viber(stack, token, 2)
    target, other = failed_list(stack, token)
    tries = len(attempts(stack))
    assert v1(stack, token, "DELETE", f"/failed/{target['delivery_id']}").status_code == 204
    assert v1(stack, token, "DELETE", f"/failed/{target['delivery_id']}").status_code == 404
    assert [r["delivery_id"] for r in failed_list(stack, token)] == [other["delivery_id"]]
    assert v1(stack, token, "POST", f"/failed/{target['delivery_id']}/retry").status_code == 404
    assert len(attempts(stack)) == tries


@pytest.mark.parametrize("delivery_id", ["f" * 32 + "-0", "nope"])
def test_unknown_ids_are_404(stack, token, delivery_id):
    for method, path in (("POST", f"/failed/{delivery_id}/retry"), ("DELETE", f"/failed/{delivery_id}")):
        reply = v1(stack, token, method, path)
        assert reply.status_code == 404
        assert reply.json()["code"] == 404


@pytest.mark.parametrize("path", ["/failed", "/messages"])
def test_a_page_far_past_the_last_is_empty_and_one_beyond_any_is_refused(stack, token, path):
    reply = v1(stack, token, "GET", path, params={"page": PAGE_MAX, "page_size": 100})
    assert reply.status_code == 200, reply.text
    assert reply.json() == []
    reply = v1(stack, token, "GET", path, params={"page": 10**30, "page_size": 100})
    assert reply.status_code == 422, reply.text
    assert "page" in reply.json()["errors"]["query"]
