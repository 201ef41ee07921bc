"""Worker processes on the local stack: how many, and their CPU priority."""

import os
from pathlib import Path

from apiclient import add_contact, received, send
from core.config import Config
from helpers import wait_until
from stack import Stack


def nice_values(pid):
    """The nice value of every thread of a process (field 19 of /proc/.../stat)."""
    values = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        values.add(int(stat.read_text().rsplit(")", 1)[1].split()[16]))
    return values


def test_stack_starts_the_configured_number_of_worker_processes(make_stack):
    stack = make_stack(["redis", "worker", "scheduler"], worker_processes=3)
    assert [p.name for p in stack.processes] == ["redis", "worker", "worker2", "worker3", "scheduler"]
    assert len({p.pid for p in stack.processes}) == 5


def test_the_default_is_one_worker_process_per_cpu():
    names = Stack(Config(), ["worker", "scheduler"]).names
    assert names == ["worker", *(f"worker{n}" for n in range(2, os.cpu_count() + 1)), "scheduler"]


def test_workers_run_at_a_lower_cpu_priority_than_the_api(make_stack):
    stack = make_stack(worker_nice=7)
    names = [f"c{i}" for i in range(20)]
    for name in names:
        add_contact(stack, "test", name, telegram=name)
    send(stack, "test", names, "hello")
    # The pool starts its delivery threads as tasks arrive.
    wait_until(lambda: len(received(stack)) == 20, timeout=10, message="delivered")
    worker = stack.pid("worker")
    assert len(list(Path(f"/proc/{worker}/task").iterdir())) > 2
    base = os.nice(0)
    assert nice_values(stack.pid("api")) == {base}
    assert nice_values(worker) == {base + 7}
