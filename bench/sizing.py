"""Redis bytes per delivery, for sizing `maxmemory`: `python -m bench.sizing`.

Starts its own stack on free ports (shipped settings but AUTH_MODE=none and no
rate limits), sends COUNT deliveries (100 contacts x 2 messengers per
message) and reads Redis's used_memory three times: while they wait far
ahead (a schedule entry each, no task), while they wait due now with the
workers stopped (a task message each too), and once sent (kept until
RETENTION_DAYS). Prints bytes per delivery for each.
"""

import sys
import tempfile
import time

import redis
import requests

from core.config import MESSENGERS, Config
from stack import Stack
from stack.ports import free_ports
from stack.specs import ORDER, worker_names

CONTACTS = 100
MESSAGES = 50
COUNT = CONTACTS * 2 * MESSAGES
TIMEOUT = 10


def _config(data_dir):
    ports = free_ports(5)
    unlimited = {f"{m}_{scope}": 0.0 for m in MESSENGERS for scope in ("rate", "chat_rate")}
    return Config(api_port=ports[0], gateway_port=ports[1], flower_port=ports[2],
                  redis_port=ports[3], mongo_port=ports[4], data_dir=data_dir,
                  auth_mode="none", api_rate=0.0, max_open_deliveries=10**9, **unlimited)


def _used(client):
    return client.info("memory")["used_memory"]


def _send_all(stack, when):
    names = [f"c{i}" for i in range(CONTACTS)]
    for n in range(MESSAGES):
        body = {"user_name": "sizing", "contact": names, "message": f"sizing message {n:04d}"}
        if when is not None:
            body["time"] = when
        reply = requests.put(stack.api_url + "/api/contacts", json=body, timeout=TIMEOUT)
        reply.raise_for_status()


def _wait_empty(client, key, timeout=120):
    deadline = time.monotonic() + timeout
    while client.zcard(key):
        if time.monotonic() > deadline:
            raise SystemExit(f"deliveries still unfinished after {timeout}s")
        time.sleep(0.5)


def measure(stack) -> dict:
    """Bytes per delivery while far ahead, queued and kept after sending."""
    config = stack.config
    client = redis.Redis.from_url(config.redis_url, decode_responses=True)
    for i in range(CONTACTS):
        requests.post(stack.api_url + "/api/contacts", timeout=TIMEOUT, json={
            "user_name": "sizing",
            "contact": {"name": f"c{i}", "messangers": {"telegram": f"t{i}", "whatsApp": f"+7900{i:07d}"}},
        }).raise_for_status()
    figures = {}
    for worker in worker_names(config):
        stack.stop(worker)
    client.flushall()
    empty = _used(client)
    far = time.gmtime(time.time() + 86400)
    _send_all(stack, [far.tm_year, far.tm_mon, far.tm_mday, far.tm_hour, far.tm_min, far.tm_sec])
    figures["far ahead (schedule entry, no task)"] = (_used(client) - empty) / COUNT
    client.flushall()
    empty = _used(client)
    _send_all(stack, None)
    figures["queued (schedule entry and task message)"] = (_used(client) - empty) / COUNT
    for worker in worker_names(config):
        stack.start(worker)
    _wait_empty(client, f"{config.redis_prefix}schedule")
    client.delete(f"{config.redis_prefix}metrics:deliveries", f"{config.redis_prefix}metrics:delivery_latency")
    figures["sent, kept for RETENTION_DAYS"] = (_used(client) - empty) / COUNT
    return figures


def main():
    """Run the measurement and print its figures."""
    with tempfile.TemporaryDirectory() as data_dir:
        names = [n for n in ORDER if n != "flower"]
        with Stack(_config(data_dir), names, memory_mongo=True) as stack:
            figures = measure(stack)
    print(f"Redis bytes per delivery ({COUNT:,} deliveries of {MESSAGES} messages, 20-character texts):")
    for label, value in figures.items():
        print(f"  {label}: {value:,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
