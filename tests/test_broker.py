"""The worker's Redis transport (workers/broker.py): batched taking and acknowledging of tasks.

A worker takes queued tasks in batches and acknowledges them a loop turn
later; what it holds must stay recoverable, and what it finished must leave
the broker's unacknowledged set.
"""

import hashlib
import signal
import time
from collections import Counter

import pytest
import redis
from kombu import Connection
from kombu.transport import redis as kombu_redis

from apiclient import add_contact, received, send, set_faults
from helpers import wait_until
from workers.broker import POP_AND_RECORD

UNACKED = "unacked"
COUNT = 40


def broker_state(stack):
    client = redis.Redis.from_url(stack.config.redis_url)
    try:
        return {"queued": client.llen(stack.config.delivery_queue), "unacked": client.hlen(UNACKED)}
    finally:
        client.close()


def send_to_many(stack, count):
    names = [f"c{i:02d}" for i in range(count)]
    for name in names:
        add_contact(stack, "test", name, telegram=name)
    assert send(stack, "test", names, "hello").status_code == 200
    return names


def test_a_killed_worker_holding_a_batch_loses_none_of_it(make_stack):
    # Two threads, so the worker holds far more tasks than it is sending.
    stack = make_stack(worker_concurrency=2, visibility_timeout=5, restore_interval=1,
                       http_read_timeout=4, schedule_horizon=2)
    set_faults(stack, latency_ms=2500)
    names = send_to_many(stack, COUNT)
    held = wait_until(lambda: (s := broker_state(stack))["unacked"] > 2 and s, timeout=10,
                      message="worker holds a batch")
    # The scheduler may have added copies of tasks still waiting (their grace
    # ran out), never fewer than one task per delivery.
    assert held["queued"] + held["unacked"] >= COUNT

    stack.kill("worker", signal.SIGKILL)
    in_flight = {r["key"] for r in received(stack)}
    set_faults(stack, latency_ms=0)
    stack.start("worker")

    wait_until(lambda: len({r["key"] for r in received(stack)}) == COUNT, timeout=60,
               message="every delivery sent")
    time.sleep(1)
    counts = Counter(r["key"] for r in received(stack))
    assert sorted({r["to"] for r in received(stack)}) == sorted(names)
    # Only what reached the gateway before the kill may have gone twice.
    assert {key for key, n in counts.items() if n > 1} <= in_flight
    assert all(n <= 2 for n in counts.values())


def test_finished_tasks_leave_the_unacknowledged_set(stack):
    send_to_many(stack, COUNT)
    wait_until(lambda: len(received(stack)) == COUNT, timeout=30, message="every delivery sent")
    wait_until(lambda: broker_state(stack) == {"queued": 0, "unacked": 0}, timeout=5,
               message="broker empty")


def test_a_task_that_outlives_its_broker_connection_fails_softly(make_stack):
    # As after Redis went away: the channel closed, a task finishes later.
    stack = make_stack(["redis"])
    with Connection(stack.config.redis_url, transport="workers.broker:Transport") as connection:
        queue = connection.SimpleQueue("outliving")
        queue.put({"n": 1})
        queue.put({"n": 2})
        first, second = queue.get(timeout=5), queue.get(timeout=5)
        errors = connection.connection_errors
    # Neither may raise what Celery takes for a fatal error (AttributeError):
    # an ack is let go, a reject is a connection error, as kombu expects.
    first.ack()
    with pytest.raises(errors):
        second.reject()


def test_the_running_worker_takes_its_tasks_through_this_transport(stack):
    # kombu's Redis channel still has the methods overridden here: were one
    # renamed, the batching would silently stop while every delivery still went.
    for name in ("_brpop_read", "conn_or_acquire", "close", "_create_client"):
        assert callable(getattr(kombu_redis.Channel, name, None)), name
    batch_script = hashlib.sha1(POP_AND_RECORD.encode()).hexdigest()
    client = redis.Redis.from_url(stack.config.redis_url, decode_responses=True)
    batch = f"EVALSHA {batch_script} 3 {stack.config.delivery_queue} "
    found = False
    with client.monitor() as monitor:
        send_to_many(stack, COUNT)
        deadline = time.monotonic() + 30
        # Every command the server runs, the send's own first; the worker polls at least every second.
        for command in monitor.listen():
            found = command["command"].startswith(batch)
            if found or time.monotonic() > deadline:
                break
    client.close()
    assert found, "the worker never ran the transport's batch script"
    wait_until(lambda: len(received(stack)) == COUNT, timeout=30, message="every delivery sent")
