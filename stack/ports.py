"""Free TCP ports for the stacks that tests, benchmarks and soaks start.

Handed out below the kernel's ephemeral range, so no outgoing connection
can take a port between the check here and the server's bind (one did:
gunicorn failed with "Address already in use"); each pytest-xdist worker
draws from its own block, so modules run in parallel never share a port.
"""

import contextlib
import itertools
import os
import random
import socket

EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
LOWEST = 10000
BLOCK = 2000


def _ephemeral_start():
    """The first port the kernel may give an outgoing connection."""
    try:
        with open(EPHEMERAL_RANGE) as lines:
            return int(lines.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _candidates():
    """This process's block, endlessly, from a random place (two sessions rarely start level)."""
    blocks = max(1, (_ephemeral_start() - LOWEST) // BLOCK)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = LOWEST + BLOCK * ((int(worker) if worker.isdigit() else 0) % blocks)
    start = random.randrange(BLOCK)
    return itertools.cycle([first + (start + i) % BLOCK for i in range(BLOCK)])


_CANDIDATES = _candidates()


def free_ports(count):
    """count distinct TCP ports on 127.0.0.1 that nobody listens on or holds right now."""
    with contextlib.ExitStack() as held:
        ports = []
        for port in itertools.islice(_CANDIDATES, BLOCK):
            sock = held.enter_context(socket.socket())
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(port)
            if len(ports) == count:
                return ports
    raise OSError(f"fewer than {count} free ports in {BLOCK} tried")
