"""`python -m stack` run as a user runs it, in its own session, its output in a file."""

import os
import re
import signal
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from core.config import Config
from helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent
# What the environment may set for the service; a child gets only what a test gives it.
SETTINGS = {f.name.upper() for f in fields(Config)} | {"DISPATCHER_URL", "STACK_SERVICES"}


class StackCommand:
    """`python -m stack ARGS` with these settings over an environment cleared of the service's own."""

    def __init__(self, args, settings, out_path):
        env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
        env.update(settings)
        self.out_path = out_path
        with open(out_path, "wb") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "stack", *args],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def output(self):
        return self.out_path.read_text()

    def wait_up(self):
        """Wait for the 'all up' line; the parts it started, by name."""
        wait_until(lambda: "all up" in self.output() or self.popen.poll() is not None, 60, message="stack up")
        assert self.popen.poll() is None, self.output()
        return set(re.findall(r"\[stack\] (\w+)\s+pid \d+", self.output()))

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
