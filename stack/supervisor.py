"""Keep a started stack running: restart what exits, as docker-compose's `restart: unless-stopped`."""

import time

FIRST_DELAY = 0.5
MAX_DELAY = 30.0
# A process that stayed up this long is healthy again: its next crash restarts fast.
STABLE_AFTER = 30.0
TICK = 0.2


def supervise(stack, say):
    """Restart crashed processes with backoff until interrupted; return 1 if one may not restart."""
    delays = {}
    due = {}
    while True:
        time.sleep(TICK)
        now = time.monotonic()
        for process in stack.processes:
            name = process.name
            if not process.wanted:
                continue
            if process.alive():
                if process.uptime() > STABLE_AFTER:
                    delays.pop(name, None)
                continue
            if name not in due:
                code = process.reap()
                if not process.spec.restartable:
                    say(f"{name} exited with code {code} and cannot be restarted; stopping")
                    return 1
                delay = delays.get(name, FIRST_DELAY)
                delays[name] = min(delay * 2, MAX_DELAY)
                due[name] = now + delay
                say(f"{name} exited with code {code}; restarting in {delay:.1f}s")
            elif now >= due[name]:
                del due[name]
                process.start()
                say(f"{name} restarted (pid {process.pid})")
