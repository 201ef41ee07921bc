"""Flower on the local stack: every worker process listed, each attempt a task that tells the truth.

Workers send no task events of their own (they cost CPU on every delivery);
Flower turns them on in each worker while it runs. Each ticket of a delivery
is its own task, '<delivery id>.<ticket>', so Flower's own states sort the
attempts: SUCCESS for a send, RETRY for a failed attempt with another to
come, FAILURE for a delivery failed for good.

Its JSON API and control buttons need a login (FLOWER_BASIC_AUTH, as in
docker-compose.yml): without one, `make run`'s Flower shows its pages but
refuses them, so that no web page the user opens can read or revoke tasks.
"""

import ast
import json
import time

import pytest
import redis
import requests

from apiclient import add_contact, attempts, failed, received, send, set_faults
from conftest import SERVICES
from core.dispatch import Job
from core.keys import Keys
from helpers import wait_until
from workers.context import WorkerContext

# user:password for Flower, as FLOWER_BASIC_AUTH takes it.
LOGIN = ("ops", "flower-test-password")


@pytest.fixture
def flower_stack(make_stack):
    """`make run`'s Flower with a login set, and two worker processes."""
    return make_stack([*SERVICES, "flower"], worker_processes=2, flower_basic_auth=":".join(LOGIN))


def flower(stack, path, **params):
    reply = requests.get(stack.flower_url + path, params=params, auth=LOGIN, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def events_on(stack):
    """Wait until Flower has switched task events on: a send shows up as a task."""
    add_contact(stack, "alice", "Artem", telegram="@artem")

    def delivery_tasks():
        # Flower switches task events on every few seconds: send until one shows.
        assert send(stack, "alice", ["Artem"], "hello").status_code == 200
        tasks = flower(stack, "/api/tasks").values()
        return [t for t in tasks if t["name"] == "workers.deliver" and t["state"] == "SUCCESS"]

    return wait_until(delivery_tasks, 30, interval=1.5, message="Flower shows a delivery task")


def test_flower_lists_both_workers_and_shows_deliveries_as_tasks_to_its_login_only(flower_stack):
    stack = flower_stack
    workers = wait_until(lambda: flower(stack, "/api/workers", refresh=1), 20, interval=0.5,
                         message="Flower sees workers")
    # The delivery workers; the webhook worker, where the stack runs one, beside them.
    names = sorted(name.split("@")[0] for name in workers)
    assert [name for name in names if name.startswith("worker")] == ["worker1", "worker2"]
    done = events_on(stack)
    assert {t["worker"].split("@")[0] for t in done} <= {"worker1", "worker2"}
    assert len(received(stack, "telegram")) >= len(done)

    task_id = done[0]["uuid"]
    for base in (stack.flower_url, stack.api_url + "/flower"):
        listed = requests.get(base + "/api/tasks", timeout=10)
        assert listed.status_code == 401 and task_id not in listed.text
        assert "Access-Control-Allow-Origin" not in listed.headers
        assert requests.post(f"{base}/api/task/revoke/{task_id}", timeout=10).status_code == 401
        # A page of another site posting with the login the browser holds.
        crossed = requests.post(f"{base}/api/task/revoke/{task_id}", auth=LOGIN, timeout=10, headers={
            "Sec-Fetch-Site": "cross-site", "Origin": "http://elsewhere.example"})
        assert crossed.status_code == 403
    through_proxy = requests.get(stack.api_url + "/flower/api/tasks", auth=LOGIN, timeout=10)
    assert through_proxy.status_code == 200 and task_id in through_proxy.json()


def test_make_runs_flower_without_a_login_shows_its_pages_but_refuses_its_api(make_stack):
    # FLOWER_UNAUTHENTICATED_API opened the API to every web page (CORS *): a
    # revoke answered 200 and /api/tasks listed every user's contacts.
    stack = make_stack(["redis", "mongo", "api", "flower"])
    assert stack.config.flower_basic_auth == ""
    for base in (stack.flower_url, stack.api_url + "/flower"):
        page = requests.get(base + "/", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        listed = requests.get(base + "/api/tasks", timeout=10)
        assert listed.status_code == 401 and "Access-Control-Allow-Origin" not in listed.headers
        assert requests.post(base + "/api/task/revoke/x", timeout=10).status_code == 401
        assert requests.post(base + "/api/worker/shutdown/worker1@x", timeout=10).status_code == 401
    framed = requests.get(stack.api_url + "/flower/", timeout=10).headers
    assert framed["X-Frame-Options"] == "DENY"
    assert framed["Content-Security-Policy"] == "frame-ancestors 'none'"


def unacked_tasks(broker):
    """The tasks a worker took and has not acknowledged.

    Not the replies to Flower's broadcasts, control messages the same hash
    may hold for a while (the webhook worker's were seen there).
    """
    held = [json.loads(entry) for entry in broker.hvals("unacked")]
    return [message for message, exchange, _ in held if exchange != "reply.celery.pidbox"]


def arrived(stack, delivery_id):
    """What the gateway accepted for one delivery."""
    return [r for r in received(stack) if r["key"] == delivery_id]


def test_failed_retried_and_skipped_attempts_show_as_such_with_whom_they_were_for(make_stack):
    stack = make_stack([*SERVICES, "flower"], flower_basic_auth=":".join(LOGIN))
    events_on(stack)
    broker = redis.Redis.from_url(stack.config.redis_url)
    # The sends that showed Flower's events on are all finished before a fault is set.
    wait_until(lambda: broker.zcard(Keys(stack.config.redis_prefix).schedule()) == 0, 10,
               message="earlier deliveries finished")
    add_contact(stack, "test", "Lera", viber="+79001234567")
    add_contact(stack, "test", "Ёлка 🎄", telegram="@elka")
    # Telegram fails once, then accepts; Viber always fails on the fake gateway.
    set_faults(stack, script=[503], messengers=["telegram"])
    message_id = send(stack, "test", ["Lera", "Ёлка 🎄"], "private text").json()["message_id"]
    viber, telegram = f"{message_id}-0", f"{message_id}-1"
    max_attempts = stack.config.max_attempts

    [record] = wait_until(lambda: failed(stack, "test"), 30, message="Viber failed for good")
    [failure] = wait_until(lambda: flower(stack, "/api/tasks", state="FAILURE").values(), 10,
                           message="Flower lists the failure")
    assert failure["uuid"] == f"{viber}.{max_attempts}"
    assert failure["exception"] == (
        f"DeliveryFailed('viber: {record['error']} after {max_attempts} attempts')")
    assert "viber is unavailable" in record["error"]
    assert ast.literal_eval(failure["kwargs"]) == {
        "messenger": "viber", "contact": "Lera", "message": message_id}
    assert "private text" not in str(failure)
    assert failure["retries"] == max_attempts - 1 and failure["parent_id"] == f"{viber}.{max_attempts - 1}"

    wait_until(lambda: arrived(stack, telegram), 10, message="Telegram sent on its second attempt")
    retried = wait_until(lambda: flower(stack, "/api/tasks", state="RETRY"), 10,
                         message="Flower lists the retries")
    assert sorted(retried) == sorted([f"{telegram}.1"] + [f"{viber}.{n}" for n in range(1, max_attempts)])
    first_try = retried[f"{telegram}.1"]
    assert first_try["exception"].startswith("AttemptFailed('telegram: HTTP 503")
    assert f"(attempt 1 of {max_attempts}; the next in" in first_try["exception"]
    assert ast.literal_eval(first_try["kwargs"]) == {
        "messenger": "telegram", "contact": "Ёлка 🎄", "message": message_id}
    assert retried[f"{viber}.1"]["exception"].startswith(
        f"AttemptFailed('viber: {record['error']} (attempt 1 of {max_attempts};")
    sent = wait_until(lambda: flower(stack, "/api/task/info/" + f"{telegram}.2"), 10)
    assert sent["state"] == "SUCCESS" and sent["result"] == "'sent on attempt 2'"
    assert sent["parent_id"] == f"{telegram}.1" and sent["root_id"] == f"{telegram}.1"

    # Flower's own filter on whom a task is for.
    for_viber = flower(stack, "/api/tasks", search="kwargs:messenger=viber")
    assert sorted(for_viber) == [f"{viber}.{n}" for n in range(1, max_attempts + 1)]

    # A copy of the sent ticket (as the scheduler hands over when a worker
    # seems lost) sends nothing and says so, in a task of its own.
    ctx = WorkerContext(stack.config)
    job = Job(telegram, 2, time.time(), ("telegram", "Ёлка 🎄"))
    ctx.redis.lpush(stack.config.delivery_queue, ctx.dispatcher.task_message(job, time.time(), again=True))
    [copy] = wait_until(lambda: [t for t in flower(stack, "/api/tasks", state="SUCCESS").values()
                                 if t["parent_id"] == f"{telegram}.2"], 10, message="the copy ran")
    assert copy["result"] == "'skipped: already sent'"
    assert flower(stack, "/api/task/info/" + f"{telegram}.2")["result"] == "'sent on attempt 2'"
    assert len(arrived(stack, telegram)) == 1

    # FAILURE and RETRY tasks were acknowledged: nothing is left to hand out
    # again, and Viber saw exactly its attempts.
    wait_until(lambda: not unacked_tasks(broker) and broker.llen(stack.config.delivery_queue) == 0, 10,
               message="every task acknowledged")
    assert len(attempts(stack, "viber")) == max_attempts
