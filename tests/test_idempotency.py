"""A delivery task run twice, or many times at once, sends at most once."""

import threading
import time

import pytest
import redis

from apiclient import add_contact, attempts, received, send
from core.keys import Keys
from helpers import wait_until
from workers.context import WorkerContext
from workers.delivery import attempt_delivery


@pytest.fixture
def ctx(stack):
    return WorkerContext(stack.config)


@pytest.fixture
def delivered(stack):
    """One delivery the real worker has already sent: its id."""
    add_contact(stack, "test", "Artem", telegram="artem")
    send(stack, "test", ["Artem"], "once")
    record = wait_until(lambda: received(stack), timeout=10)[0]
    return record["key"]


def test_running_a_finished_task_again_sends_nothing(stack, ctx, delivered):
    assert attempt_delivery(ctx, delivered, 1) == ("skipped", "skipped: already sent")
    assert len(received(stack)) == 1


def test_a_stale_ticket_sends_nothing(stack, ctx, delivered):
    stale = ("skipped", "skipped: not the delivery's current ticket")
    assert attempt_delivery(ctx, delivered, 0) == stale
    assert attempt_delivery(ctx, delivered, 2) == stale
    assert len(attempts(stack)) == 1


def test_copies_racing_on_one_ticket_send_once(stack, ctx):
    stack.stop("worker")
    try:
        add_contact(stack, "test", "Artem", telegram="artem")
        send(stack, "test", ["Artem"], "race")
        prefix = Keys(stack.config.redis_prefix).delivery("")
        r = redis.Redis.from_url(stack.config.redis_url, decode_responses=True)
        delivery_id = next(r.scan_iter(prefix + "*"))[len(prefix):]
        outcomes = []
        barrier = threading.Barrier(8)

        def run():
            barrier.wait()
            outcomes.append(attempt_delivery(ctx, delivery_id, 1).kind)

        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes.count("sent") == 1
        assert set(outcomes) <= {"sent", "held", "skipped"}
        assert len(received(stack)) == 1
    finally:
        stack.start("worker")
    time.sleep(1)
    assert len(received(stack)) == 1
