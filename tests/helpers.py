"""Small helpers the tests share: free ports, polling with a bound, and whether work is left."""

import contextlib
import socket
import time

import redis

from core.keys import Keys


def free_ports(count):
    """count distinct TCP ports on 127.0.0.1 that nobody listens on right now."""
    with contextlib.ExitStack() as held:
        # All bound at once, so the same port cannot be handed out twice.
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


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
