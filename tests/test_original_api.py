"""The original document's five curl examples, sent verbatim, against the real stack."""

import json
import subprocess
import time

from apiclient import add_contact, call, failed, received, send, wallclock
from core.config import Config
from helpers import wait_until

ADD = ('{"user_name": "test", "contact": {"name": "Artem", "messangers": {"telegram": '
       '"ArtemZaitsev", "whatsApp": "+799200828615", "viber": ""}}, "name": "Artem"}')
DELETE = '{"user_name": "test", "contact": "Artem"}'
SEND = ('{"user_name": "test", "contact": ["Artem", "Lera", "Vasya"], "message": "Hello there", '
        '"time": [2019, 11, 30, 14, 0, 6]}')
WHO = '{"user_name": "test"}'


def curl(stack, method, path, data):
    """Run the original example's curl command with the stack's address."""
    out = subprocess.run(
        ["curl", "--silent", "--show-error", "--header", "Content-Type: application/json",
         "--request", method, "--data", data, stack.api_url + path],
        capture_output=True, text=True, check=True, timeout=30,
    )
    return json.loads(out.stdout)


def test_create_contact_then_list_it(stack):
    assert curl(stack, "POST", "/api/contacts", ADD) == {"success": True}
    assert curl(stack, "GET", "/api/contacts", WHO) == {"contacts": {
        "Artem": {"telegram": "ArtemZaitsev", "whatsApp": "+799200828615", "viber": ""}}}


def test_adding_an_existing_name_replaces_it(stack):
    curl(stack, "POST", "/api/contacts", ADD)
    add_contact(stack, "test", "Artem", telegram="new")
    assert curl(stack, "GET", "/api/contacts", WHO)["contacts"] == {
        "Artem": {"telegram": "new", "whatsApp": "", "viber": ""}}


def test_delete_contact(stack):
    curl(stack, "POST", "/api/contacts", ADD)
    assert curl(stack, "DELETE", "/api/contacts", DELETE) == {"success": True}
    assert curl(stack, "GET", "/api/contacts", WHO) == {"contacts": {}}
    again = curl(stack, "DELETE", "/api/contacts", DELETE)
    assert again["success"] is False
    assert "contact" in again["errors"]["json"]


def test_send_delivers_once_per_messenger_with_an_id(stack):
    curl(stack, "POST", "/api/contacts", ADD)
    add_contact(stack, "test", "Lera", telegram="lera_t")
    add_contact(stack, "test", "Vasya", whatsapp="+7000")
    answer = curl(stack, "PUT", "/api/contacts", SEND)
    assert answer["success"] is True
    assert answer["deliveries"] == 4
    wait_until(lambda: len(received(stack)) >= 4, timeout=10)
    time.sleep(0.5)  # a duplicate would arrive by now
    got = sorted((r["messenger"], r["to"], r["text"]) for r in received(stack))
    assert got == [
        ("telegram", "ArtemZaitsev", "Hello there"),
        ("telegram", "lera_t", "Hello there"),
        ("whatsapp", "+7000", "Hello there"),
        ("whatsapp", "+799200828615", "Hello there"),
    ]
    assert received(stack, "viber") == []


def test_viber_failure_lands_in_failed_list_with_the_full_record(stack):
    add_contact(stack, "test", "Artem", telegram="ArtemZaitsev", viber="artem_v")
    curl(stack, "PUT", "/api/contacts", SEND.replace(', "Lera", "Vasya"', ""))
    records = wait_until(lambda: curl(stack, "GET", "/api/get_failed_mess", WHO)["data"], timeout=30)
    assert len(records) == 1
    record = records[0]
    assert {k: record[k] for k in ("sender", "message", "contact", "time", "messenger")} == {
        "sender": "test", "message": "Hello there", "contact": "Artem",
        "time": [2019, 11, 30, 14, 0, 6], "messenger": "viber"}
    assert record["url"] == stack.gateway_url + "/viber"
    assert record["attempts"] == stack.config.max_attempts
    assert "viber is unavailable" in record["error"]
    assert record["delivery_id"] and record["failed_at"]
    assert [r["messenger"] for r in received(stack)] == ["telegram"]


def test_failed_list_is_newest_first_and_per_user(stack):
    add_contact(stack, "test", "A", viber="a")
    add_contact(stack, "other", "B", viber="b")
    send(stack, "test", ["A"], "first")
    wait_until(lambda: len(failed(stack, "test")) == 1, timeout=30)
    send(stack, "test", ["A"], "second")
    send(stack, "other", ["B"], "theirs")
    wait_until(lambda: len(failed(stack, "test")) == 2, timeout=30)
    assert [r["message"] for r in failed(stack, "test")] == ["second", "first"]
    wait_until(lambda: len(failed(stack, "other")) == 1, timeout=30)
    assert [r["message"] for r in failed(stack, "other")] == ["theirs"]


def test_viber_fails_within_two_minutes_with_default_settings(make_stack):
    defaults = {name: getattr(Config, name) for name in
                ("retry_backoff", "retry_backoff_max", "http_read_timeout", "max_attempts")}
    stack = make_stack(**defaults)
    add_contact(stack, "test", "Artem", viber="artem_v")
    started = time.monotonic()
    send(stack, "test", ["Artem"], "hi")
    records = wait_until(lambda: failed(stack, "test"), timeout=120)
    assert time.monotonic() - started < 120
    assert records[0]["attempts"] == stack.config.max_attempts == 5


def test_send_at_a_time_ahead_arrives_on_time(stack):
    add_contact(stack, "test", "Artem", telegram="t1", whatsapp="w1")
    due = int(time.time()) + 4
    assert send(stack, "test", ["Artem"], "later", wallclock(due)).status_code == 200
    got = wait_until(lambda: len(received(stack)) == 2 and received(stack), timeout=15)
    for record in got:
        assert due <= record["time"] < due + 1, record


def test_contact_names_round_trip_exactly(stack):
    names = ["Анна-Мария", "a.b$c", "  spaced  ", "😀 emoji", "x" * 100, "中文名字", "O'Brien \"Q\""]
    for name in names:
        add_contact(stack, "test", name, telegram="id-" + name)
    listed = call(stack, "GET", "/api/contacts", {"user_name": "test"}).json()["contacts"]
    assert list(listed) == names
    assert all(listed[n]["telegram"] == "id-" + n for n in names)
    assert send(stack, "test", names, "to all").status_code == 200
    wait_until(lambda: len(received(stack)) == len(names), timeout=15)
    assert sorted(r["to"] for r in received(stack)) == sorted("id-" + n for n in names)
    for name in names:
        removed = call(stack, "DELETE", "/api/contacts", {"user_name": "test", "contact": name})
        assert removed.json() == {"success": True}
    assert call(stack, "GET", "/api/contacts", {"user_name": "test"}).json() == {"contacts": {}}
