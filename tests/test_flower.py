"""Flower on the local stack: every worker process listed, deliveries shown as tasks.

Workers send no task events of their own (they cost CPU on every delivery);
Flower turns them on in each worker while it runs.
"""

import pytest
import requests

from apiclient import add_contact, received, send
from conftest import SERVICES
from helpers import wait_until


@pytest.fixture
def flower_stack(make_stack, monkeypatch):
    # Flower's JSON API answers only with auth or this switch.
    monkeypatch.setenv("FLOWER_UNAUTHENTICATED_API", "true")
    return make_stack([*SERVICES, "flower"], worker_processes=2)


def flower(stack, path):
    reply = requests.get(stack.flower_url + path, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_flower_lists_both_workers_and_shows_deliveries_as_tasks(flower_stack):
    stack = flower_stack
    workers = wait_until(lambda: flower(stack, "/api/workers?refresh=1"), 20, interval=0.5,
                         message="Flower sees workers")
    assert sorted(name.split("@")[0] for name in workers) == ["worker1", "worker2"]

    add_contact(stack, "alice", "Artem", telegram="@artem")
    def delivery_tasks():
        # Flower switches task events on every few seconds: send until one shows.
        assert send(stack, "alice", ["Artem"], "hello").status_code == 200
        tasks = flower(stack, "/api/tasks").values()
        return [t for t in tasks if t["name"] == "workers.deliver" and t["state"] == "SUCCESS"]

    done = wait_until(delivery_tasks, 30, interval=1.5, message="Flower shows a delivery task")
    assert {t["worker"].split("@")[0] for t in done} <= {"worker1", "worker2"}
    assert len(received(stack, "telegram")) >= len(done)
