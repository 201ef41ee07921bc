"""The Stack: the service's processes, started in dependency order and stopped together."""

import signal

from stack.process import Process, StartError
from stack.proxy import free_port
from stack.specs import FLOWER_PREFIX, ORDER, spec_for, worker_names

READY_TIMEOUT = 30.0


class Stack:
    """Real local processes for the parts named, built from one Config."""

    def __init__(self, config, names=ORDER, memory_mongo=False, echo=False):
        unknown = [name for name in names if name not in ORDER]
        if unknown:
            raise ValueError(f"unknown stack parts {unknown}; known: {', '.join(ORDER)}")
        self.config = config
        # The API is always reached through the proxy, which holds slow clients.
        wanted = set(names) | ({"proxy"} if "api" in names else set())
        # The Telegram poller only when the webhook is not how updates come.
        if config.telegram_updates != "poll":
            wanted.discard("poller")
        self.names = _with_worker_processes(sorted(wanted, key=ORDER.index), config)
        # Where gunicorn listens behind the proxy: chosen once, kept across restarts.
        self.api_backend_port = free_port() if "proxy" in self.names else None
        self.memory_mongo = memory_mongo
        self.echo = echo
        self._processes = {}

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def processes(self):
        """Every process started so far, in start order."""
        return list(self._processes.values())

    @property
    def api_url(self):
        """Base URL of the API, as clients reach it (through the proxy)."""
        return f"http://127.0.0.1:{self.config.api_port}"

    @property
    def gateway_url(self):
        """Base URL of the locally started fake gateway."""
        return f"http://127.0.0.1:{self.config.gateway_port}"

    @property
    def flower_url(self):
        """Base URL of Flower."""
        return f"http://127.0.0.1:{self.config.flower_port}/{FLOWER_PREFIX}"

    def start(self, name=None):
        """Start every part not running, in dependency order (or only the one named), each until ready."""
        if name is not None:
            self._start_one(name)
            return
        try:
            for part in self.names:
                if self._processes.get(part) is None or self.pid(part) is None:
                    self._start_one(part)
        except BaseException:
            self.stop()
            raise

    def stop(self, name=None):
        """Stop every process in reverse start order (or only the one named)."""
        if name is not None:
            self._process(name).stop()
            return
        for process in reversed(self.processes):
            process.stop()

    def restart(self, name):
        """Stop one process and start it again, until ready."""
        self.stop(name)
        self.start(name)

    def kill(self, name, sig=signal.SIGKILL):
        """Send a signal to one process's whole group (as a crash or an operator would)."""
        self._process(name).kill(sig)

    def pid(self, name):
        """The pid of a running process, or None."""
        return self._process(name).pid

    def add_worker(self):
        """Start one more Celery worker process ('worker2', 'worker3', ...); its name."""
        return self.add_copy("worker")

    def add_copy(self, part):
        """Start one more copy of a part that runs in several ('worker2', 'scheduler2', ...); its name."""
        number = 2
        while f"{part}{number}" in self._processes:
            number += 1
        name = f"{part}{number}"
        self._start_one(name)
        return name

    def _start_one(self, name):
        process = self._processes.get(name)
        if process is None:
            spec = spec_for(self.config, name, self.memory_mongo, self.api_backend_port)
            process = Process(spec, echo=self.echo)
            self._processes[name] = process
        process.start()
        try:
            process.wait_ready(READY_TIMEOUT)
        except StartError:
            process.stop()
            raise

    def _process(self, name):
        try:
            return self._processes[name]
        except KeyError:
            raise KeyError(f"{name!r} was never started in this stack") from None


def _with_worker_processes(names, config):
    """names, with 'worker' standing for every worker process the settings ask for."""
    if "worker" not in names:
        return names
    at = names.index("worker")
    return names[:at] + worker_names(config) + names[at + 1:]
