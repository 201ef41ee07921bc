"""Delivery survives killed workers, a restarted Redis and long waits; stores down or hung give 503."""

import signal
import time
from collections import Counter

import pytest

from apiclient import add_contact, call, received, send, set_faults, v1, wallclock
from core.clients import mongo_database
from core.users import UserStore
from helpers import settled, wait_until

pytestmark = pytest.mark.timing


def keys_received(stack):
    return Counter(r["key"] for r in received(stack))


def test_killed_worker_loses_nothing_and_repeats_only_what_was_in_flight(make_stack):
    # A horizon above the "soon" sends' 5 s (they wait in the worker, with an
    # ETA) and below the visibility timeout, as the settings require.
    stack = make_stack(visibility_timeout=6, restore_interval=1, http_read_timeout=4,
                       schedule_horizon=5.5)
    names = [f"c{i}" for i in range(20)]
    for name in names:
        add_contact(stack, "test", name, telegram=name)
    set_faults(stack, latency_ms=3000)
    send(stack, "test", names[:10], "now")
    send(stack, "test", names[10:], "soon", wallclock(time.time() + 5))
    wait_until(lambda: len(received(stack)) >= 10, timeout=10)

    stack.kill("worker", signal.SIGKILL)
    in_flight = set(keys_received(stack))
    set_faults(stack, latency_ms=0)
    stack.start("worker")

    wait_until(lambda: len(keys_received(stack)) == 20, timeout=60)
    time.sleep(2)
    counts = keys_received(stack)
    assert sorted({r["to"] for r in received(stack)}) == sorted(names)
    repeated = {key for key, n in counts.items() if n > 1}
    assert repeated <= in_flight
    assert all(n <= 2 for n in counts.values())


def test_redis_restart_keeps_scheduled_and_queued_deliveries(make_stack):
    stack = make_stack(schedule_horizon=2)
    for name in ("later", "queued"):
        add_contact(stack, "test", name, telegram=name)
    due = int(time.time()) + 12
    send(stack, "test", ["later"], "far", wallclock(due))
    stack.stop("worker")
    send(stack, "test", ["queued"], "now")

    stack.stop("redis")
    stack.start("redis")
    stack.start("worker")

    got = wait_until(lambda: len(received(stack)) == 2 and received(stack), timeout=30)
    by_to = {r["to"]: r for r in got}
    assert due <= by_to["later"]["time"] < due + 1
    time.sleep(1)
    assert len(received(stack)) == 2


def test_send_beyond_visibility_timeout_is_delivered_once_on_time(make_stack):
    stack = make_stack(visibility_timeout=4, restore_interval=1, schedule_horizon=2)
    add_contact(stack, "test", "Artem", telegram="artem")
    due = int(time.time()) + 12
    send(stack, "test", ["Artem"], "much later", wallclock(due))
    got = wait_until(lambda: received(stack), timeout=30)
    assert due <= got[0]["time"] < due + 1
    time.sleep(6)
    assert len(received(stack)) == 1


@pytest.mark.parametrize("store", ["mongo", "redis"])
def test_store_down_gives_503_fast_and_writes_nothing(make_stack, store):
    stack = make_stack(memory_mongo=False)
    add_contact(stack, "test", "Artem", telegram="artem")
    stack.stop(store)
    try:
        requests_ = [
            ("PUT", {"user_name": "test", "contact": ["Artem"], "message": "x"}),
            ("GET", {"user_name": "test"}),
        ]
        if store == "mongo":
            requests_.append(("POST", {"user_name": "test", "contact": {
                "name": "New", "messangers": {"telegram": "n"}}}))
        for method, body in requests_:
            path = "/api/get_failed_mess" if store == "redis" and method == "GET" else "/api/contacts"
            started = time.monotonic()
            reply = call(stack, method, path, body)
            assert time.monotonic() - started < 2
            assert reply.status_code == 503, reply.text
            assert store in reply.json()["message"]
        assert call(stack, "GET", "/readyz").status_code == 503
    finally:
        stack.start(store)
    wait_until(lambda: call(stack, "GET", "/readyz").status_code == 200, timeout=10)
    assert call(stack, "GET", "/api/contacts", {"user_name": "test"}).json()["contacts"] == {
        "Artem": {"telegram": "artem", "whatsApp": "", "viber": ""}}
    time.sleep(1)
    assert received(stack) == []


# Each request with the stores it needs, in the original API's identification-only
# mode; /api/v1 always needs MongoDB, where tokens are. Writes come first, on
# the API's pooled connections: what they send would otherwise sit in a stopped
# server's socket buffer and run when it resumes.
HUNG_STORE_REQUESTS = [
    ("DELETE", "/api/contacts", {"user_name": "test", "contact": "Old"}, {"mongo"}),
    ("PUT", "/api/contacts", {"user_name": "test", "contact": ["Artem"], "message": "hung"},
     {"mongo", "redis"}),
    ("POST", "/api/v1/messages", {"to": "Artem", "text": "hung v1"}, {"mongo", "redis"}),
    ("GET", "/healthz", None, set()),
    ("GET", "/readyz", None, {"mongo", "redis"}),
    ("GET", "/api/contacts", {"user_name": "test"}, {"mongo"}),
    ("POST", "/api/contacts", {"user_name": "test", "contact": {
        "name": "New", "messangers": {"telegram": "new"}}}, {"mongo"}),
    ("GET", "/api/get_failed_mess", {"user_name": "test"}, {"redis"}),
    ("GET", "/api/v1/messages", None, {"mongo", "redis"}),
    ("GET", "/api/v1/failed", None, {"mongo", "redis"}),
    ("GET", "/api/v1/me", None, {"mongo"}),
    ("GET", "/api/v1/contacts", None, {"mongo"}),
    ("GET", "/api/v1/contacts/Artem", None, {"mongo"}),
]
# Answered without the part a store gives (null), once that store's timeout has passed.
DEGRADED = {("GET", "/api/v1/me"): ("redis", lambda body: body["usage"]),
            ("GET", "/api/v1/contacts/Artem"): ("redis", lambda body: body["blocked"])}


@pytest.mark.parametrize("store", ["mongo", "redis"])
def test_hung_store_gives_503_fast_writes_nothing_and_the_rest_keeps_working(make_stack, store):
    stack = make_stack()
    token = UserStore(mongo_database(stack.config)).create_user("test")
    add_contact(stack, "test", "Artem", telegram="artem")
    add_contact(stack, "test", "Old", telegram="old")
    # Several sends, so that both API workers hold pooled connections to both stores.
    for _ in range(4):
        assert send(stack, "test", ["Artem"], "before").status_code == 200
    wait_until(lambda: len(received(stack)) == 4, timeout=20, message="sends before the hang")

    timings = {}
    stack.kill(store, signal.SIGSTOP)
    try:
        for method, path, body, needs in HUNG_STORE_REQUESTS:
            started = time.monotonic()
            if path.startswith("/api/v1"):
                reply = v1(stack, token, method, path[len("/api/v1"):], body)
            else:
                reply = call(stack, method, path, body)
            took = timings[method, path] = round(time.monotonic() - started, 2)
            if store in needs:
                assert reply.status_code == 503, reply.text
                if path == "/readyz":
                    assert reply.json()["checks"][store].startswith("unavailable"), reply.text
                else:
                    assert f"The {store} store" in reply.json()["message"], reply.text
                assert took < 2, timings
            elif DEGRADED.get((method, path), ("",))[0] == store:
                assert reply.status_code == 200, reply.text
                assert DEGRADED[method, path][1](reply.json()) is None, reply.text
                assert took < 2, timings
            else:
                assert reply.status_code == 200, reply.text
                assert took < 0.5, (method, path, timings)
    finally:
        stack.kill(store, signal.SIGCONT)

    wait_until(lambda: call(stack, "GET", "/readyz").status_code == 200, timeout=10, message="ready")
    assert send(stack, "test", ["Artem"], "after").status_code == 200
    wait_until(lambda: "after" in {r["text"] for r in received(stack)}, timeout=20, message="sent after")
    wait_until(lambda: settled(stack.config), timeout=20, message="every delivery finished")
    assert sorted(r["text"] for r in received(stack)) == ["after"] + ["before"] * 4
    sent = v1(stack, token, "GET", "/messages").json()
    assert sorted(m["text"] for m in sent) == ["after"] + ["before"] * 4
    contacts = call(stack, "GET", "/api/contacts", {"user_name": "test"}).json()["contacts"]
    # With Redis hung, changing contacts needs only MongoDB, and worked.
    assert sorted(contacts) == (["Artem", "Old"] if store == "mongo" else ["Artem", "New"])
