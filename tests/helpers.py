"""Small helpers the tests share: free ports, polling with a bound, whether work is left, a gateway."""

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests

from core.keys import Keys
from stack.ports import free_ports

ROOT = Path(__file__).resolve().parent.parent


def wait_until(predicate, timeout, interval=0.05, message="condition"):
    """Poll predicate until it returns something truthy (returned); fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {timeout}s")
        time.sleep(interval)


def settled(config):
    """Whether nothing is left in the broker's queues, unacknowledged or in the schedule."""
    client = redis.Redis.from_url(config.redis_url, socket_timeout=5)
    try:
        return not (sum(client.llen(q) for q in config.delivery_queues.values())
                    + client.hlen("unacked") + client.zcard(Keys(config.redis_prefix).schedule()))
    finally:
        client.close()


@contextlib.contextmanager
def running_gateway(log_path, env=None):
    """Start a fake gateway process, wait for /healthz, yield its URL, then stop it."""
    [port] = free_ports(1)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fake_gateway", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        code = proc.wait(timeout=5)
    assert code == 0, log_path.read_text()


def _wait_healthy(url, proc, log_path):
    """Poll /healthz until it answers, failing the test if the process dies or stalls."""
    deadline = time.monotonic() + 10
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"fake gateway did not start: {log_path.read_text()}")
        time.sleep(0.05)
