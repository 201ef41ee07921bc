"""One child process of the stack: its own process group, its output in a log file."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

from stack.specs import REPO_ROOT

STOP_TIMEOUT = 10.0
POLL = 0.1
TAIL_LINES = 40
# Sent by Linux to each part when the process that started it dies, however
# it dies (PR_SET_PDEATHSIG, kept across exec). SIGKILL because nobody is left
# to follow a SIGTERM up: a stopped, hung or slowly stopping part (a Celery
# warm shutdown waits for its deliveries) would outlive us. Every part already
# survives being killed (Redis' AOF, MongoDB's sync on commit, Celery's late
# acks); what a part started goes too: gunicorn's workers leave within a
# second of their master, Celery's prefork children carry the same signal.
ORPHAN_SIGNAL = "KILL"


class StartError(RuntimeError):
    """A process exited or did not become ready in time."""


class Process:
    """A started (or startable) part of the stack, restartable any number of times."""

    def __init__(self, spec, echo=False):
        self.spec = spec
        self.echo = echo
        self.wanted = False
        self.started_at = 0.0
        self._popen = None
        self._log_offset = 0
        self._echo_stop = None

    @property
    def name(self):
        """The process's name in the stack ('api', 'worker2', ...)."""
        return self.spec.name

    @property
    def pid(self):
        """The pid of the running process (its group id too), or None."""
        return self._popen.pid if self.alive() else None

    def start(self):
        """Launch the process in a new session, its output appended to its log file."""
        if self.alive():
            raise RuntimeError(f"{self.name} is already running (pid {self._popen.pid})")
        self.reap()
        for folder in self.spec.dirs:
            folder.mkdir(parents=True, exist_ok=True)
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.spec.log_path, "ab") as log:
            self._log_offset = self.spec.log_path.stat().st_size
            self._popen = subprocess.Popen(
                _dies_with_us(self.spec.argv),
                cwd=REPO_ROOT,
                env=self.spec.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own group: a stop reaches gunicorn's and celery's children too,
                # and a Ctrl-C at the terminal reaches only the supervisor.
                # (The parent-death signal comes when the *thread* that forks
                # exits: start parts from one that lives as long as the stack,
                # as the supervisor and the tests do from their main thread.)
                start_new_session=True,
            )
        self.started_at = time.monotonic()
        self.wanted = True
        if self.echo and self._echo_stop is None:
            self._echo_stop = threading.Event()
            threading.Thread(
                target=_echo_log,
                args=(self.spec.log_path, self._log_offset, self.name, self._echo_stop),
                name=f"echo-{self.name}",
                daemon=True,
            ).start()

    def wait_ready(self, timeout):
        """Block until the spec's readiness check passes; raise StartError if it exits or times out."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise StartError(f"{self.name} exited during start-up\n{self.log_tail()}")
            if self.spec.ready(self):
                return
            if time.monotonic() > deadline:
                raise StartError(f"{self.name} not ready after {timeout:.0f}s\n{self.log_tail()}")
            time.sleep(POLL)

    def alive(self):
        """Whether the process was started and has not exited since."""
        if self._popen is None or self._popen.returncode is not None:
            return False
        try:
            # WNOWAIT leaves the exited leader unreaped, so its pid (our group
            # id) cannot be reused before reap() has swept the group.
            info = os.waitid(os.P_PID, self._popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return info is None

    def uptime(self):
        """Seconds since the last start."""
        return time.monotonic() - self.started_at

    def kill(self, sig=signal.SIGKILL):
        """Send a signal to the process and every process in its group."""
        if self._popen is not None and self._popen.returncode is None:
            _signal_group(self._popen.pid, sig)
            if sig == signal.SIGKILL:
                self._wait_exit(STOP_TIMEOUT)

    def stop(self, timeout=STOP_TIMEOUT):
        """Stop on purpose: SIGTERM to the group, SIGKILL after timeout, nothing left behind."""
        self.wanted = False
        if self.alive():
            self.kill(signal.SIGTERM)
            if not self._wait_exit(timeout):
                self.kill(signal.SIGKILL)
                self._wait_exit(timeout)
        self.reap()
        if self._echo_stop is not None:
            self._echo_stop.set()
            self._echo_stop = None

    def reap(self):
        """Collect an exited process after killing what is left of its group; its exit code or None."""
        if self._popen is None:
            return None
        if self._popen.returncode is not None:
            return self._popen.returncode
        if self.alive():
            return None
        pgid = self._popen.pid
        _signal_group(pgid, signal.SIGKILL)
        code = self._popen.wait()
        _wait_group_gone(pgid)
        return code

    def output_since_start(self):
        """What the process wrote to its log since it was last started."""
        try:
            with open(self.spec.log_path, "rb") as log:
                log.seek(self._log_offset)
                return log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=TAIL_LINES):
        """The last lines of output since the last start, for error messages."""
        tail = self.output_since_start().splitlines()[-lines:]
        return "\n".join(f"  {self.name}| {line}" for line in tail) or f"  ({self.name} wrote nothing)"

    def _wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL)
        return True


def _dies_with_us(argv):
    """argv run so that the process is killed when this one dies, even by SIGKILL."""
    # setpriv (util-linux, on every Debian system) arms the signal and execs,
    # so the part keeps the pid we know it by; no preexec_fn, which is unsafe
    # with threads. The shell runs once the signal is armed: if we died
    # before that, its parent is someone else already and it starts nothing.
    return ["setpriv", f"--pdeathsig={ORPHAN_SIGNAL}", "--",
            "sh", "-c", 'test "$PPID" = "$0" && exec "$@"', str(os.getpid()), *argv]


def _signal_group(pgid, sig):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_group_gone(pgid, timeout=2.0):
    # Killed members linger until their parent (now init) reaps them.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(POLL)


_echo_lock = threading.Lock()


def _echo_log(path, offset, name, stop):
    """Copy new lines of a log file to the terminal, prefixed by name, until stop is set."""
    partial = b""
    with open(path, "rb") as log:
        log.seek(offset)
        while True:
            stopping = stop.wait(0.2)
            chunk = log.read()
            *lines, partial = (partial + chunk).split(b"\n")
            if lines:
                text = "".join(f"{name:<10}| {line.decode('utf-8', 'replace')}\n" for line in lines)
                try:
                    with _echo_lock:
                        sys.stdout.write(text)
                        sys.stdout.flush()
                except OSError:
                    # The terminal or pipe is gone; the log file still has it all.
                    return
            if stopping:
                return
