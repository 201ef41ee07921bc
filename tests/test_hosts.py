"""Two hosts share one Redis and one MongoDB: either one's workers can stop and the other delivers.

Host 1 is a whole stack (stores, gateway, API, worker, scheduler); host 2 is
`python -m stack` with REDIS_URL, MONGO_URL and GATEWAY_URL set to host 1's,
as docs/guides/several-hosts.md tells: it starts only its API (and
proxy), worker and scheduler. Both at the shipped delivery settings.
"""

import signal
import time
from collections import Counter
from pathlib import Path

import pymongo
import pytest
import requests

from apiclient import received, v1
from core.users import UserStore
from helpers import free_ports, settled, wait_until
from stack_command import StackCommand

CONTACTS = 100
# Telegram and WhatsApp for each contact.
DELIVERIES = 2 * CONTACTS
HOST1 = ["redis", "mongo", "gateway", "api", "worker", "scheduler"]
JOINING = {"api", "proxy", "worker", "scheduler"}
# Received when host 1's worker is frozen: the fan-out is under way, not done.
FREEZE_AT = 20
DELIVERED_WITHIN = 60


class JoiningHost(StackCommand):
    """`python -m stack` as another host of host 1's deployment."""

    def __init__(self, host1, tmp_path):
        api_port, flower_port = free_ports(2)
        self.api_url = f"http://127.0.0.1:{api_port}"
        # Every part listed: the stores and gateway whose URLs are set are not started.
        super().__init__(["--services", ",".join(HOST1)], {
            "REDIS_URL": host1.config.redis_url,
            "MONGO_URL": host1.config.mongo_url,
            "GATEWAY_URL": host1.gateway_url,
            "API_PORT": str(api_port),
            "FLOWER_PORT": str(flower_port),
            "DATA_DIR": str(tmp_path / "host2"),
            "WORKER_PROCESSES": "1",
        }, tmp_path / "host2.out")


@pytest.fixture
def hosts(make_stack, tmp_path):
    """Host 1 (a whole stack) and host 2 (joined to it), both with the shipped settings and token auth."""
    host1 = make_stack(HOST1, shipped=True, auth_mode="token")
    host2 = JoiningHost(host1, tmp_path)
    try:
        assert host2.wait_up() == JOINING
        yield host1, host2
    finally:
        host2.stop()


def group_stopped(pgid):
    """Whether every process of this process group is stopped (state T)."""
    states = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(group) == pgid:
            states.append(state)
    return bool(states) and all(state == "T" for state in states)


def test_a_frozen_hosts_deliveries_are_sent_by_the_other_host(hosts):
    host1, host2 = hosts
    mongo = pymongo.MongoClient(host1.config.mongo_url, serverSelectionTimeoutMS=5000)
    token = UserStore(mongo[host1.config.mongo_db]).create_user("alice")
    mongo.close()
    names = [f"c{i:03d}" for i in range(CONTACTS)]
    for name in names:
        reply = v1(host2, token, "POST", "/contacts",
                   {"name": name, "telegram": f"@{name}", "whatsapp": f"+7900{name[1:]}"})
        assert reply.status_code == 201, reply.text

    sent = v1(host2, token, "POST", "/messages", {"to": names, "text": "fan-out"})
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["id"]
    wait_until(lambda: len(received(host1)) >= FREEZE_AT, 30, interval=0.01, message="fan-out under way")
    host1.kill("worker", signal.SIGSTOP)
    frozen_at = time.monotonic()
    try:
        wait_until(lambda: group_stopped(host1.pid("worker")), 5, interval=0.01, message="worker frozen")
        # What was in flight: claimed for sending, its answer not recorded.
        deliveries = v1(host2, token, "GET", f"/messages/{message_id}").json()["deliveries"]
        in_flight = {(d["messenger"], d["to"]) for d in deliveries if d["status"] == "sending"}
        before = len(received(host1))
        assert before < DELIVERIES, "the fan-out was over before the freeze"

        wait_until(lambda: len({(r["messenger"], r["to"]) for r in received(host1)}) == DELIVERIES,
                   DELIVERED_WITHIN, interval=0.2, message=f"all {DELIVERIES} delivered by host 2")
        took = time.monotonic() - frozen_at
    finally:
        host1.kill("worker", signal.SIGCONT)
    print(f"\n{before} received at the freeze, {len(in_flight)} in flight; all {DELIVERIES} "
          f"{took:.1f} s after it")

    wait_until(lambda: settled(host1.config), 60, interval=0.2, message="nothing left to deliver")
    # Host 1 held tasks when it froze, and found them sent by host 2 when it woke.
    worker_log = next(p for p in host1.processes if p.name == "worker").output_since_start()
    assert '"event": "delivery.skipped"' in worker_log
    counts = Counter((r["messenger"], r["to"]) for r in received(host1))
    duplicated = {key for key, count in counts.items() if count > 1}
    assert set(counts) == {(m, to) for name in names for m, to in
                           (("telegram", f"@{name}"), ("whatsapp", f"+7900{name[1:]}"))}
    assert duplicated <= in_flight, f"duplicates not in flight at the freeze: {duplicated - in_flight}"
    assert max(counts.values()) <= 2
    statuses = Counter(d["status"] for d in v1(host2, token, "GET", f"/messages/{message_id}").json()["deliveries"])
    assert statuses == {"sent": DELIVERIES}
    assert requests.get(f"{host2.api_url}/readyz", timeout=5).status_code == 200
