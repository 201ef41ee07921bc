"""Worker processes on the local stack: how many, and their CPU priority."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from apiclient import add_contact, received, send
from core.config import Config
from helpers import wait_until
from stack import Stack
from stack.specs import spec_for, worker_names

AUTOGROUPING = Path("/proc/sys/kernel/sched_autogroup_enabled")


def nice_values(pid):
    """The nice value of every thread of a process (field 19 of /proc/.../stat)."""
    values = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        values.add(int(stat.read_text().rsplit(")", 1)[1].split()[16]))
    return values


def autogroup_nice(pid):
    """The nice value of the autogroup of a process's session: how the kernel weighs the session against others."""
    # "/autogroup-42 nice 5"
    return int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])


def own_nice(pid):
    """The nice value of a process's main thread."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


needs_autogrouping = pytest.mark.skipif(
    not AUTOGROUPING.exists() or AUTOGROUPING.read_text().strip() != "1",
    reason="the kernel shares the CPU between sessions only with autogrouping on")


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


@needs_autogrouping
def test_workers_sessions_yield_to_the_api_where_the_kernel_shares_the_cpu_by_session(make_stack):
    # Each part runs in a session of its own: the worker's nice value alone
    # would weigh only against the worker's own threads.
    stack = make_stack(shipped=True)
    lowered = os.nice(0) + Config().worker_nice
    assert autogroup_nice(stack.pid("api")) == 0
    for name in [*worker_names(stack.config), "webhooks"]:
        assert autogroup_nice(stack.pid(name)) == lowered, name


@needs_autogrouping
def test_a_worker_in_a_session_it_shares_leaves_the_sessions_priority_alone(make_stack):
    stack = make_stack(["redis"], shipped=True)
    spec = spec_for(stack.config, "worker")
    # The shell leads the new session and the worker is its child, as a
    # worker started from a terminal is.
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(spec.log_path, "ab") as log:
        shell = subprocess.Popen(["sh", "-c", '"$@"; :', "sh", *spec.argv], env=spec.env, start_new_session=True,
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        # Celery says it is ready once its start-up, priorities included, is done.
        wait_until(lambda: " ready." in spec.log_path.read_text(), timeout=30, message="the worker ready")
        [worker] = _children(shell.pid)
        assert own_nice(worker) == os.nice(0) + Config().worker_nice
        assert autogroup_nice(shell.pid) == 0
    finally:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()


def _children(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]
