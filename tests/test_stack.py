"""The local stack: Stack's process control, and `python -m stack` supervising for real."""

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from core.config import Config
from helpers import free_ports, wait_until
from stack import ORDER, Stack
from stack.process import _dies_with_us

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("redis", "mongo", "gateway")


def members(pgid):
    """The live processes with this pid or in this process group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (FileNotFoundError, ProcessLookupError):
            continue
        # A killed grandchild may wait a moment for init to reap it: dead all the same.
        if state != "Z" and pgid in (int(stat.parent.name), int(group)):
            found.append(int(stat.parent.name))
    return found


def gone(pgid):
    """Whether no live process is left with this pid or in this process group."""
    return not members(pgid)


def healthz(url):
    """Whether the gateway at url answers its health check."""
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def small_config(tmp_path):
    """Settings for a stack on free ports with data under tmp_path, one worker process."""
    api, gateway, flower, redis_port, mongo = free_ports(5)
    return Config(api_port=api, gateway_port=gateway, flower_port=flower, redis_port=redis_port,
                  mongo_port=mongo, data_dir=str(tmp_path), worker_processes=1)


def test_stack_controls_each_process_and_stops_all(tmp_path):
    config = small_config(tmp_path)
    with Stack(config, ["gateway", "mongo", "redis"], memory_mongo=True) as stack:
        assert [p.name for p in stack.processes] == list(PARTS)
        first = {name: stack.pid(name) for name in PARTS}
        assert all(first.values())
        assert healthz(stack.gateway_url)

        stack.kill("gateway")
        wait_until(lambda: stack.pid("gateway") is None, 5, message="gateway dead")
        assert not healthz(stack.gateway_url)
        stack.start("gateway")
        assert healthz(stack.gateway_url)
        assert stack.pid("gateway") != first["gateway"]

        stack.restart("redis")
        assert stack.pid("redis") not in (None, first["redis"])
        pids = {name: stack.pid(name) for name in PARTS}
    assert (tmp_path / "redis" / "appendonlydir").is_dir()
    assert (tmp_path / "logs" / "gateway.log").read_text().count("listening") == 2
    assert all(gone(pid) for pid in [*first.values(), *pids.values()])


class Supervisor:
    """`python -m stack --memory-mongo` running parts (PARTS unless told) as a subprocess, its output in a file."""

    def __init__(self, tmp_path, parts=PARTS):
        self.config = small_config(tmp_path / "data")
        self.parts = parts
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MONGO_URL", "GATEWAY_URL")}
        env.update(
            DATA_DIR=self.config.data_dir,
            API_PORT=str(self.config.api_port),
            GATEWAY_PORT=str(self.config.gateway_port),
            FLOWER_PORT=str(self.config.flower_port),
            REDIS_PORT=str(self.config.redis_port),
            MONGO_PORT=str(self.config.mongo_port),
            WORKER_PROCESSES=str(self.config.worker_processes),
            STACK_SERVICES=",".join(parts),
        )
        self.out_path = tmp_path / "stack.out"
        with open(self.out_path, "wb") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "stack", "--memory-mongo"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def output(self):
        """Everything the supervisor printed so far."""
        return self.out_path.read_text()

    def wait_up(self):
        """Wait for the 'all up' line; the children's pids by name."""
        wait_until(lambda: "all up" in self.output() or self.popen.poll() is not None, 40, message="stack up")
        assert self.popen.poll() is None, self.output()
        pids = {name: int(pid) for name, pid in re.findall(r"\[stack\] (\w+)\s+pid (\d+)", self.output())}
        assert set(pids) == set(self.parts), self.output()
        return pids

    def kill_if_running(self):
        """Clean up after a failed test: SIGKILL the supervisor's group."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def test_supervisor_restarts_a_killed_child_and_ctrl_c_leaves_nothing(tmp_path):
    supervisor = Supervisor(tmp_path)
    gateway_url = f"http://127.0.0.1:{supervisor.config.gateway_port}"
    try:
        pids = supervisor.wait_up()
        assert healthz(gateway_url)

        os.kill(pids["gateway"], signal.SIGKILL)
        restarted = wait_until(
            lambda: re.search(r"gateway restarted \(pid (\d+)\)", supervisor.output()),
            10, message="gateway restarted",
        )
        new_gateway = int(restarted.group(1))
        assert new_gateway != pids["gateway"]
        wait_until(lambda: healthz(gateway_url), 10, message="restarted gateway healthy")
        assert not gone(pids["redis"]) and not gone(pids["mongo"])

        supervisor.popen.send_signal(signal.SIGINT)
        assert supervisor.popen.wait(timeout=20) == 0, supervisor.output()
    finally:
        supervisor.kill_if_running()
    assert "stopped" in supervisor.output()
    wait_until(lambda: all(gone(pid) for pid in [*pids.values(), new_gateway]), 3, message="children gone")
    assert not healthz(gateway_url)


def test_supervisor_stops_everything_when_in_memory_mongo_dies(tmp_path):
    supervisor = Supervisor(tmp_path)
    try:
        pids = supervisor.wait_up()
        os.kill(pids["mongo"], signal.SIGKILL)
        assert supervisor.popen.wait(timeout=20) == 1, supervisor.output()
    finally:
        supervisor.kill_if_running()
    assert "mongo exited with code -9 and cannot be restarted" in supervisor.output()
    wait_until(lambda: all(gone(pid) for pid in pids.values()), 3, message="children gone")


def test_a_killed_supervisor_takes_every_part_and_their_children_along(tmp_path):
    # Every part but the Telegram poller, which runs only with TELEGRAM_UPDATES=poll.
    supervisor = Supervisor(tmp_path, tuple(name for name in ORDER if name != "poller"))
    pids = {}
    try:
        pids = supervisor.wait_up()
        # gunicorn's master and its two workers: the children must go too.
        assert len(members(pids["api"])) == 3
        supervisor.popen.kill()
        supervisor.popen.wait(timeout=5)
        wait_until(lambda: all(gone(pid) for pid in pids.values()), 5, message="every part gone")
    finally:
        supervisor.kill_if_running()
        for pid in pids.values():
            if not gone(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)


def test_a_part_whose_starter_died_before_it_was_armed_starts_nothing(tmp_path):
    marker = tmp_path / "started"
    argv = _dies_with_us(["touch", str(marker)])
    # Started by a shell in between, the part's parent is not the process
    # that built argv, as when that one died before the signal was armed
    # (the `exit` keeps the shell from exec'ing it).
    assert subprocess.run(["sh", "-c", '"$@"; exit $?', "sh", *argv], timeout=10).returncode != 0
    assert not marker.exists()
    assert subprocess.run(argv, timeout=10).returncode == 0
    assert marker.exists()
