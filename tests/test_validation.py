"""Bad input gets a 4xx JSON error naming the field, and writes nothing."""

import time

import pytest
import redis
import requests

from apiclient import add_contact, call, received
from core.keys import Keys


def store_snapshot(stack):
    """Everything the service keeps: contacts of every user and all Redis keys but the counters."""
    r = redis.Redis.from_url(stack.config.redis_url, decode_responses=True)
    # Request counts reach Redis a second late, a previous test's too.
    counters = Keys(stack.config.redis_prefix).metrics("")
    keys = sorted(k for k in r.keys(stack.config.redis_prefix + "*") if not k.startswith(counters))
    contacts = call(stack, "GET", "/api/contacts", {"user_name": "test"}).json()
    return keys, contacts


@pytest.fixture
def book(stack):
    add_contact(stack, "test", "Artem", telegram="t1", whatsapp="w1")
    return store_snapshot(stack)


def assert_rejected(reply, status, field=None):
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["success"] is False
    assert body["code"] == status
    assert body["message"]
    if field:
        assert field in body["errors"]["json"], body


def raw(stack, method, data):
    return requests.request(method, stack.api_url + "/api/contacts", data=data, timeout=10,
                            headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("method", ["POST", "PUT", "GET", "DELETE"])
@pytest.mark.parametrize("data", ["not json", "", "[1, 2]", '"text"', "{"])
def test_body_that_is_not_a_json_object(stack, book, method, data):
    assert_rejected(raw(stack, method, data), 400)
    assert store_snapshot(stack) == book


@pytest.mark.parametrize("body, field", [
    ({"contact": {"name": "X", "messangers": {}}}, "user_name"),
    ({"user_name": "", "contact": {"name": "X", "messangers": {}}}, "user_name"),
    ({"user_name": 5, "contact": {"name": "X", "messangers": {}}}, "user_name"),
    ({"user_name": "test"}, "contact"),
    ({"user_name": "test", "contact": "Artem"}, "contact"),
    ({"user_name": "test", "contact": {"messangers": {}}}, "contact"),
    ({"user_name": "test", "contact": {"name": "", "messangers": {}}}, "contact"),
    ({"user_name": "test", "contact": {"name": "x" * 101, "messangers": {}}}, "contact"),
    ({"user_name": "test", "contact": {"name": "a\x00b", "messangers": {}}}, "contact"),
    ({"user_name": "test", "contact": {"name": "X"}}, "contact"),
    ({"user_name": "test", "contact": {"name": "X", "messangers": {"telegram": 5}}}, "contact"),
    ({"user_name": "test", "contact": {"name": "X", "messangers": ["t"]}}, "contact"),
])
def test_bad_contact(stack, book, body, field):
    assert_rejected(call(stack, "POST", "/api/contacts", body), 422, field)
    assert store_snapshot(stack) == book


def test_bad_contact_error_names_the_nested_field(stack, book):
    body = {"user_name": "test", "contact": {"name": "x" * 101, "messangers": {}}}
    errors = call(stack, "POST", "/api/contacts", body).json()["errors"]["json"]
    assert "name" in errors["contact"]


@pytest.mark.parametrize("body, field", [
    ({"user_name": "test", "message": "hi"}, "contact"),
    ({"user_name": "test", "contact": [], "message": "hi"}, "contact"),
    ({"user_name": "test", "contact": [5], "message": "hi"}, "contact"),
    ({"user_name": "test", "contact": ["Artem"]}, "message"),
    ({"user_name": "test", "contact": ["Artem"], "message": ""}, "message"),
    ({"user_name": "test", "contact": ["Artem"], "message": 7}, "message"),
    ({"user_name": "test", "contact": ["Artem"], "message": "x" * 4097}, "message"),
    ({"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [2019, 2, 30, 1, 0, 0]}, "time"),
    ({"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [2019, 13, 1, 1, 0, 0]}, "time"),
    ({"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [2019, 1, 1, 25, 0, 0]}, "time"),
    ({"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [2019, 1, 1]}, "time"),
    ({"user_name": "test", "contact": ["Artem"], "message": "hi", "time": "2019-01-01"}, "time"),
    ({"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [2019, 1, 1, 1, 0, "x"]}, "time"),
    ({"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [2019, 1, 1, 1, 0, 0.5]}, "time"),
])
def test_bad_send(stack, book, body, field):
    assert_rejected(call(stack, "PUT", "/api/contacts", body), 422, field)
    assert store_snapshot(stack) == book


def test_send_to_an_unknown_contact_sends_nothing(stack, book):
    reply = call(stack, "PUT", "/api/contacts",
                 {"user_name": "test", "contact": ["Artem", "Nobody"], "message": "hi"})
    assert_rejected(reply, 404, "contact")
    assert "Nobody" in reply.json()["message"]
    time.sleep(0.5)
    assert store_snapshot(stack) == book
    assert received(stack) == []


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/contacts"), ("DELETE", "/api/contacts"), ("GET", "/api/get_failed_mess")])
def test_missing_user_name(stack, book, method, path):
    assert_rejected(call(stack, method, path, {"contact": "Artem"}), 422, "user_name")
    assert store_snapshot(stack) == book


def test_unknown_route_and_method_answer_json(stack):
    reply = call(stack, "GET", "/api/nothing-here")
    assert reply.status_code == 404 and reply.json()["code"] == 404
    reply = call(stack, "PATCH", "/api/contacts", {})
    assert reply.status_code == 405 and reply.json()["code"] == 405
