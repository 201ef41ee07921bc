"""/api/v1/messages: send, follow each delivery to its end, list, cancel; against the real stack."""

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from api.fields import LONG_TEXT_MAX
from apiclient import received, v1, wallclock
from helpers import wait_until


@pytest.fixture
def token(stack, user_token):
    """Alice, with Artem (telegram, viber) and Lera (whatsapp)."""
    token = user_token("alice")
    for contact in ({"name": "Artem", "telegram": "artem_t", "viber": "artem_v"},
                    {"name": "Lera", "whatsapp": "+7000"}):
        assert v1(stack, token, "POST", "/contacts", contact).status_code == 201
    return token


def send(stack, token, body, **kwargs):
    """POST /messages; checks it was accepted and returns the message."""
    reply = v1(stack, token, "POST", "/messages", body, **kwargs)
    assert reply.status_code == 202, reply.text
    return reply.json()


def settled(stack, token, message_id):
    """GET /messages/{id} once no delivery is still under way."""
    def done():
        message = v1(stack, token, "GET", f"/messages/{message_id}").json()
        final = all(d["status"] in ("sent", "failed", "cancelled") for d in message["deliveries"])
        return message if final else None
    return wait_until(done, timeout=30, interval=0.2, message="message settled")


def test_a_message_is_followed_from_202_to_every_delivery_sent_or_failed(stack, token):
    accepted = send(stack, token, {"to": ["Artem", "Lera"], "text": "Hello there"})
    assert accepted["sender"] == "alice" and accepted["text"] == "Hello there"
    assert accepted["status"] == "queued"
    assert sorted((d["contact"], d["messenger"], d["to"], d["status"], d["attempts"])
                  for d in accepted["deliveries"]) == [
        ("Artem", "telegram", "artem_t", "queued", 0),
        ("Artem", "viber", "artem_v", "queued", 0),
        ("Lera", "whatsapp", "+7000", "queued", 0),
    ]
    message = settled(stack, token, accepted["id"])
    assert message["status"] == "partial"
    by_messenger = {d["messenger"]: d for d in message["deliveries"]}
    assert {m: d["status"] for m, d in by_messenger.items()} == {
        "telegram": "sent", "whatsapp": "sent", "viber": "failed"}
    assert by_messenger["telegram"]["attempts"] == 1
    assert by_messenger["viber"]["attempts"] == stack.config.max_attempts
    assert by_messenger["viber"]["last_error"]
    assert sorted((r["messenger"], r["to"]) for r in received(stack)) == [
        ("telegram", "artem_t"), ("whatsapp", "+7000")]


def test_not_before_with_an_offset_holds_the_message_until_then(stack, token):
    due = datetime.now(timezone(timedelta(hours=3))) + timedelta(seconds=2)
    accepted = send(stack, token, {"to": "Lera", "text": "later", "not_before": due.isoformat()})
    assert accepted["status"] == "scheduled"
    assert datetime.fromisoformat(accepted["not_before"]) == due.replace(
        microsecond=due.microsecond // 1000 * 1000)
    assert accepted["not_before"].endswith("+00:00")
    time.sleep(1)
    assert received(stack) == []
    wait_until(lambda: received(stack), timeout=5, message="delivered after not_before")
    assert settled(stack, token, accepted["id"])["status"] == "sent"


def test_not_before_as_the_originals_list_is_in_the_service_time_zone(stack, token):
    due = time.time() + 3600
    accepted = send(stack, token, {"to": "Lera", "text": "x", "not_before": wallclock(due)})
    assert accepted["status"] == "scheduled"
    assert abs(datetime.fromisoformat(accepted["not_before"]).timestamp() - int(due)) < 1


def test_messengers_limits_the_deliveries(stack, token):
    accepted = send(stack, token, {"to": ["Artem", "Lera"], "text": "t only",
                                   "messengers": ["telegram", "telegram"]})
    assert [(d["contact"], d["messenger"]) for d in accepted["deliveries"]] == [("Artem", "telegram")]
    assert settled(stack, token, accepted["id"])["status"] == "sent"
    assert [r["messenger"] for r in received(stack)] == ["telegram"]


def test_a_cancelled_scheduled_message_delivers_nothing(stack, token):
    due = datetime.now(timezone.utc) + timedelta(seconds=2)
    accepted = send(stack, token, {"to": ["Artem", "Lera"], "text": "never",
                                   "not_before": due.isoformat()})
    reply = v1(stack, token, "POST", f"/messages/{accepted['id']}/cancel")
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert sorted(answer["cancelled"]) == sorted(d["id"] for d in accepted["deliveries"])
    assert answer["message"]["status"] == "cancelled"
    assert {d["status"] for d in answer["message"]["deliveries"]} == {"cancelled"}
    again = v1(stack, token, "POST", f"/messages/{accepted['id']}/cancel").json()
    assert again["cancelled"] == []
    time.sleep(3.5)
    assert received(stack) == []
    assert v1(stack, token, "GET", f"/messages/{accepted['id']}").json()["status"] == "cancelled"


def test_cancel_stops_only_what_has_not_started(stack, token):
    done = send(stack, token, {"to": "Lera", "text": "now"})
    settled(stack, token, done["id"])
    answer = v1(stack, token, "POST", f"/messages/{done['id']}/cancel").json()
    assert answer["cancelled"] == []
    assert answer["message"]["status"] == "sent"


def test_list_is_newest_first_and_paginated(stack, token):
    ids = [send(stack, token, {"to": "Lera", "text": f"m{i}",
                               "not_before": wallclock(time.time() + 3600)})["id"] for i in range(5)]
    first = v1(stack, token, "GET", "/messages", params={"page": 1, "page_size": 2})
    assert first.status_code == 200
    assert [m["id"] for m in first.json()] == ids[::-1][:2]
    assert json.loads(first.headers["X-Pagination"]) == {
        "total": 5, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 1, "next_page": 2}
    last = v1(stack, token, "GET", "/messages", params={"page": 3, "page_size": 2}).json()
    assert [m["id"] for m in last] == ids[:1]
    assert last[0] == {"id": ids[0], "text": "m0", "not_before": last[0]["not_before"],
                       "created_at": last[0]["created_at"], "status": "scheduled",
                       "counts": {"scheduled": 1}}


def test_list_counts_deliveries_by_status(stack, token):
    accepted = send(stack, token, {"to": ["Artem", "Lera"], "text": "x"})
    settled(stack, token, accepted["id"])
    [listed] = v1(stack, token, "GET", "/messages").json()
    assert listed["status"] == "partial"
    assert listed["counts"] == {"sent": 2, "failed": 1}


def test_an_unknown_contact_is_a_404_naming_it_and_nothing_is_written(stack, token):
    reply = v1(stack, token, "POST", "/messages", {"to": ["Artem", "Nobody"], "text": "x"})
    assert reply.status_code == 404
    error = reply.json()
    assert "Nobody" in error["message"] and "Artem" not in error["message"]
    assert "to" in error["errors"]["json"]
    assert v1(stack, token, "GET", "/messages").json() == []
    time.sleep(0.5)
    assert received(stack) == []


@pytest.mark.parametrize("body, field", [
    ({"text": "x"}, "to"),
    ({"to": [], "text": "x"}, "to"),
    ({"to": ["Artem", ""], "text": "x"}, "to"),
    ({"to": "Artem"}, "text"),
    ({"to": "Artem", "text": ""}, "text"),
    ({"to": "Artem", "text": "x" * (LONG_TEXT_MAX + 1)}, "text"),
    ({"to": "Artem", "text": "x", "not_before": "tomorrow"}, "not_before"),
    ({"to": "Artem", "text": "x", "not_before": "2030-01-01T09:00:00"}, "not_before"),
    ({"to": "Artem", "text": "x", "not_before": [2030, 2, 30, 0, 0, 0]}, "not_before"),
    ({"to": "Artem", "text": "x", "not_before": [10000, 1, 1, 0, 0, 0]}, "not_before"),
    ({"to": "Artem", "text": "x", "not_before": [2 ** 40, 1, 1, 0, 0, 0]}, "not_before"),
    ({"to": "Artem", "text": "x", "messengers": ["icq"]}, "messengers"),
    ({"to": "Artem", "text": "x", "messengers": []}, "messengers"),
    ({"to": "Artem", "text": "x", "cc": "Lera"}, "cc"),
])
def test_bad_sends_are_422_naming_the_field_and_send_nothing(stack, token, body, field):
    reply = v1(stack, token, "POST", "/messages", body)
    assert reply.status_code == 422, reply.text
    assert field in reply.json()["errors"]["json"]
    assert v1(stack, token, "GET", "/messages").json() == []


def test_unknown_message_ids_are_404(stack, token):
    for method, path in (("GET", "/messages/nope"), ("POST", "/messages/nope/cancel")):
        reply = v1(stack, token, method, path)
        assert reply.status_code == 404
        assert reply.json()["code"] == 404
