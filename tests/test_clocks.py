"""Hosts whose clocks differ: the worker and scheduler run under libfaketime.

Due times and leases are compared with the Redis server's clock, so a
worker whose clock runs a second ahead sends nothing early, and one a
second behind sends late by no more than its lag; each delivery once.
"""

import dataclasses
import subprocess
import time

import pytest

from apiclient import add_contact, received, send, wallclock
from helpers import wait_until
from stack.process import Process
from stack.specs import spec_for

COUNT = 20
# A host's clock this far off the Redis server's (docs/guides/several-hosts.md, "Clocks").
SKEW = 1.0


def skewed(config, name, offset):
    """A stack part started under faketime, its clock `offset` seconds off."""
    spec = spec_for(config, name)
    argv = ["faketime", "-f", f"{offset:+.1f}s", *spec.argv]
    return Process(dataclasses.replace(spec, name=f"{name}-skewed", argv=argv))


@pytest.fixture(params=[SKEW, -SKEW], ids=["ahead", "behind"])
def offset(request):
    return request.param


def test_hosts_whose_clocks_are_off_by_a_second_send_on_time_and_once(make_stack, offset):
    stack = make_stack(["redis", "mongo", "gateway", "api"], shipped=True)
    parts = [skewed(stack.config, "worker", offset), skewed(stack.config, "scheduler", offset)]
    probe = subprocess.run(["faketime", "-f", f"{offset:+.1f}s", "date", "+%s.%N"],
                           capture_output=True, text=True, check=True)
    assert abs(float(probe.stdout) - time.time() - offset) < 0.5, "faketime shifts the clock"
    try:
        for part in parts:
            part.start()
            part.wait_ready(30)
        names = [f"c{i:02d}" for i in range(COUNT)]
        for name in names:
            add_contact(stack, "test", name, telegram=name)
        due = int(time.time()) + 4
        assert send(stack, "test", names, "on time", when=wallclock(due)).status_code == 200
        wait_until(lambda: len(received(stack)) >= COUNT, timeout=due - time.time() + 10,
                   message="every delivery sent")
        time.sleep(2)
        got = received(stack)
        assert sorted(r["to"] for r in got) == names
        assert min(r["time"] for r in got) >= due
        # Late by no more than a lagging clock lags, plus Telegram's rate
        # limit's spread (on, as shipped), plus a moment.
        spread = COUNT / stack.config.telegram_rate
        assert max(r["time"] for r in got) < due + max(-offset, 0) + spread + 0.5
    finally:
        for part in parts:
            part.stop()
