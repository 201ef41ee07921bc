"""Nothing lost, nothing late: what a dead worker held comes back through the schedule.

At the shipped settings the broker's visibility timeout is 900 s; these
tests keep it, so a delivery that arrives in time came back through the
schedule, not through the broker's redelivery.
"""

import json
import signal
import threading
import time
from collections import Counter
from types import SimpleNamespace

import pytest
import redis

from apiclient import add_contact, attempts, failed, received, send, set_faults, wallclock
from conftest import consenting
from core.config import Config
from core.dispatch import Job
from core.keys import Keys
from helpers import wait_until
from workers.context import WorkerContext
from workers.delivery import attempt_delivery
from workers.scheduler import hand_over_due, next_step

# The delivery promise (docs/concepts/delivery-promise.md): sent within this
# long of its due time, or of the kill if later.
PROMISE = 30.0


def first_receipts(stack):
    """Each delivery id the gateway accepted, with the time of its first receipt and its count."""
    firsts, counts = {}, Counter()
    for record in received(stack):
        counts[record["key"]] += 1
        firsts[record["key"]] = min(firsts.get(record["key"], record["time"]), record["time"])
    return firsts, counts


def store(stack):
    return redis.Redis.from_url(stack.config.redis_url, decode_responses=True)


def test_a_killed_worker_loses_nothing_at_the_shipped_settings(make_stack):
    stack = make_stack(shipped=True, worker_processes=1)
    assert stack.config.visibility_timeout == Config().visibility_timeout == 900
    names = [f"c{i}" for i in range(20)]
    for name in names:
        add_contact(stack, "test", name, telegram=f"t{name}")
    # Answers take 2 s: the first ten are at the gateway when the worker dies.
    set_faults(stack, latency_ms=2000)
    now_reply = send(stack, "test", names[:10], "now")
    due = int(time.time()) + 8
    later_reply = send(stack, "test", names[10:], "later", wallclock(due))
    assert now_reply.status_code == later_reply.status_code == 200
    accepted = {f"{now_reply.json()['message_id']}-{i}": time.time() for i in range(10)}
    accepted |= {f"{later_reply.json()['message_id']}-{i}": due for i in range(10)}
    wait_until(lambda: len(received(stack)) == 10, timeout=10, message="ten at the gateway")

    stack.kill("worker", signal.SIGKILL)
    killed_at = time.time()
    in_flight = set(first_receipts(stack)[0])
    set_faults(stack, latency_ms=0)
    stack.start("worker")

    wait_until(lambda: len(first_receipts(stack)[0]) == 20, timeout=PROMISE + 15,
               message="every delivery at the gateway")
    client = store(stack)
    wait_until(lambda: client.zcard(Keys(stack.config.redis_prefix).schedule()) == 0, timeout=10,
               message="no delivery left unfinished")
    firsts, counts = first_receipts(stack)
    assert set(firsts) == set(accepted)
    for key, due_at in accepted.items():
        assert firsts[key] >= due_at - 1, f"{key} early"
        assert firsts[key] <= max(due_at, killed_at) + PROMISE, f"{key} late"
    repeated = {key for key, n in counts.items() if n > 1}
    assert repeated <= in_flight
    assert max(counts.values()) <= 2
    assert failed(stack, "test") == []
    # Finished, so kept for the retention period (30 days) and then deleted.
    for message_id in (now_reply.json()["message_id"], later_reply.json()["message_id"]):
        expires = client.zscore(Keys(stack.config.redis_prefix).retention(), f"m:{message_id}")
        assert abs(expires - (time.time() + 30 * 86400)) < 120


def test_several_schedulers_hand_each_entry_over_once(make_stack):
    stack = make_stack()
    stack.stop("scheduler")
    stack.stop("worker")
    for i in range(30):
        add_contact(stack, "test", f"c{i}", telegram=f"t{i}")
    assert send(stack, "test", [f"c{i}" for i in range(30)], "lost").status_code == 200
    client = store(stack)
    queue = stack.config.delivery_queue
    client.delete(queue)  # as if a worker had taken all thirty and died

    contexts = [WorkerContext(stack.config) for _ in range(4)]
    later = time.time() + stack.config.recovery_grace + 1
    published = []
    barrier = threading.Barrier(len(contexts))

    def run(ctx):
        barrier.wait()
        published.append(hand_over_due(ctx, later))

    threads = [threading.Thread(target=run, args=(ctx,)) for ctx in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(published) == 30
    assert client.llen(queue) == 30

    stack.start("worker")
    wait_until(lambda: len(received(stack)) == 30, timeout=20)
    assert set(Counter(r["key"] for r in received(stack)).values()) == {1}


def test_an_adapter_that_raises_is_retried_then_failed_with_its_error(make_stack):
    stack = consenting(make_stack(shipped=True, worker_processes=1, messenger_api="real"))
    add_contact(stack, "test", "Artem", telegram="1001")
    attempts_allowed = stack.config.max_attempts
    set_faults(stack, script=["telegram:garbled"] * attempts_allowed)
    assert send(stack, "test", ["Artem"], "garbled answers").status_code == 200

    record = wait_until(lambda: failed(stack, "test"), timeout=40, message="a failed record")[0]
    assert record["attempts"] == attempts_allowed
    assert record["error"].startswith("AttributeError: ")
    tries = [a["time"] for a in attempts(stack, "telegram")]
    assert len(tries) == attempts_allowed
    gaps = [b - a for a, b in zip(tries, tries[1:], strict=False)]
    # Backoff, not a tight loop: each wait at least half the one before it doubled.
    assert all(gap >= stack.config.retry_backoff * 2 ** n / 2 for n, gap in enumerate(gaps)), gaps
    assert received(stack) == []


def test_the_scheduler_acts_on_each_kind_of_overdue_entry_as_its_status_asks():
    schedule = SimpleNamespace(horizon=300.0, grace=2.0)
    now = 1000.0

    def step(status, due, lease=0.0, ticket=1, queued=0, handed=0.0):
        head = (status, str(ticket), str(due), str(lease), str(handed))
        return next_step("m-0", 1, head, now, schedule, queued)

    assert step(None, 0) is None
    assert step("queued", 990, ticket=2) is None
    assert step("sent", 990) is None and step("cancelled", 990) is None
    # Far ahead: nothing to publish yet.
    assert step("scheduled", now + 400) == (now + 100, None)
    # Within the horizon: its task, with an ETA, and a check just after it is due.
    assert step("scheduled", now + 60) == (now + 62, Job("m-0", 1, now + 60))
    # Overdue and unclaimed: a fresh copy now...
    assert step("queued", now - 5) == (now + 2, Job("m-0", 1, now))
    assert step("retrying", now - 5) == (now + 2, Job("m-0", 1, now))
    # ...unless the workers are behind: then again once the queue could drain,
    # but not once it has waited long enough to have been lost in it.
    assert step("queued", now - 5, queued=5000) == (now + 7, None)
    assert step("queued", now - 65, queued=5000) == (now + 7, Job("m-0", 1, now))
    # A send dated long ago is due when it was handed over.
    assert step("queued", 0, queued=5000, handed=now - 5) == (now + 7, None)
    # Claimed: the holder has until its lease ends; then a copy takes over.
    assert step("sending", now - 5, lease=now + 9) == (now + 9, None)
    assert step("sending", now - 5, lease=now - 1) == (now + 2, Job("m-0", 1, now))


def test_a_task_run_before_its_delivery_is_due_sends_nothing(make_stack):
    stack = make_stack(shipped=True, worker_processes=1)
    stack.stop("worker")
    add_contact(stack, "test", "Artem", telegram="artem")
    due = int(time.time()) + 30
    message_id = send(stack, "test", ["Artem"], "not yet", wallclock(due)).json()["message_id"]
    ctx = WorkerContext(stack.config)
    assert attempt_delivery(ctx, f"{message_id}-0", 1).kind == "early"
    assert attempts(stack) == []
    assert ctx.deliveries.get(f"{message_id}-0")["status"] == "scheduled"
    assert ctx.deliveries.get(f"{message_id}-0")["attempts"] == "0"


def test_a_redis_restart_mid_send_neither_stops_the_worker_nor_sends_twice(make_stack):
    stack = make_stack(shipped=True, worker_processes=1, memory_mongo=False)
    names = [f"r{i}" for i in range(5)]
    for name in names:
        add_contact(stack, "test", name, telegram=f"t{name}")
    worker = stack.pid("worker")
    set_faults(stack, latency_ms=1500)
    assert send(stack, "test", names, "through a restart").status_code == 200
    wait_until(lambda: len(received(stack)) == 5, timeout=10, message="five at the gateway")

    stack.kill("redis", signal.SIGKILL)
    time.sleep(2)  # the gateway answers while Redis is away: "sent" cannot be recorded yet
    stack.start("redis")

    client = store(stack)
    keys = Keys(stack.config.redis_prefix)
    wait_until(lambda: client.zcard(keys.schedule()) == 0, timeout=PROMISE,
               message="every delivery finished")
    assert stack.pid("worker") == worker
    counts = Counter(r["key"] for r in received(stack))
    assert len(counts) == 5 and set(counts.values()) == {1}
    statuses = [client.hget(keys.delivery(key), "status") for key in counts]
    assert statuses == ["sent"] * 5
    # Still consuming: a send made now arrives.
    assert send(stack, "test", ["r0"], "after the restart").status_code == 200
    wait_until(lambda: len(received(stack)) == 6, timeout=10, message="the next send delivered")


def test_tasks_a_worker_held_for_later_come_back_on_time_after_a_redis_restart(make_stack):
    stack = make_stack(shipped=True, worker_processes=1, memory_mongo=False)
    add_contact(stack, "test", "Artem", telegram="artem")
    due = int(time.time()) + 12
    assert send(stack, "test", ["Artem"], "on time", wallclock(due)).status_code == 200
    client = store(stack)
    wait_until(lambda: client.hlen("unacked") == 1, timeout=5, message="the worker holds the task")

    stack.kill("redis", signal.SIGKILL)
    time.sleep(1)
    stack.start("redis")

    got = wait_until(lambda: received(stack), timeout=PROMISE, message="delivered")
    # Put back in the queue on reconnecting, not sent a grace late by the schedule.
    assert due <= got[0]["time"] < due + 1


def test_a_holder_whose_lease_was_taken_over_cannot_undo_the_new_attempt(make_stack):
    stack = make_stack(["redis", "mongo", "gateway", "api"])
    add_contact(stack, "test", "Artem", telegram="artem")
    delivery_id = send(stack, "test", ["Artem"], "slow").json()["message_id"] + "-0"
    store_ = WorkerContext(stack.config).deliveries
    assert store_.claim(delivery_id, 1, 0.05).attempts == "1"
    time.sleep(0.1)
    assert store_.claim(delivery_id, 1, 60).attempts == "2"
    # The first holder's late failure is refused; the second holder's send counts.
    assert not store_.mark_retrying(delivery_id, 1, 1, time.time(), "late", time.time() + 1, time.time() + 3)
    assert not store_.mark_failed(delivery_id, 1, 1, time.time(), "late", "test", {})
    assert store_.get(delivery_id)["status"] == "sending"
    assert store_.mark_sent(delivery_id, 1, time.time(), "test")
    assert store_.get(delivery_id)["status"] == "sent"


def test_a_wait_beyond_the_horizon_keeps_its_task_and_its_time(make_stack):
    stack = make_stack(["redis", "mongo", "gateway", "api"], schedule_horizon=5)
    add_contact(stack, "test", "Artem", telegram="artem")
    delivery_id = send(stack, "test", ["Artem"], "throttled").json()["message_id"] + "-0"
    ctx = WorkerContext(stack.config)
    turn = time.time() + 60
    assert ctx.dispatcher.defer(ctx.deliveries, Job(delivery_id, 1, turn))
    client = store(stack)
    queue = stack.config.delivery_queue
    assert client.llen(queue) == 2  # the send's own task and the deferred one
    assert json.loads(client.lindex(queue, 0))["headers"]["eta"].startswith(
        time.strftime("%Y-%m-%dT%H:%M", time.gmtime(turn)))
    # Nobody acts on it before its turn and a grace.
    member = Keys(stack.config.redis_prefix).schedule_member(delivery_id, 1)
    assert client.zscore(Keys(stack.config.redis_prefix).schedule(), member) == pytest.approx(
        turn + stack.config.recovery_grace)
    # A delivery that moved on is not deferred.
    assert not ctx.dispatcher.defer(ctx.deliveries, Job(delivery_id, 2, turn))
    assert client.llen(queue) == 2
