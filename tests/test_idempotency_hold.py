"""An Idempotency-Key stays held for as long as its first request runs, at the shipped settings.

The first request's API worker is frozen (SIGSTOP, its gunicorn master too,
so that it is not killed for a missed heartbeat) between taking the key
and recording the send; a retry with the same key comes while it is
frozen, past the 30 s a reservation used to last.
"""

import os
import signal
import threading
import time

import pytest
import redis

from apiclient import received, v1
from conftest import reset, running_stack, token_for
from core.idempotency import RESERVATION_MARGIN
from core.keys import Keys
from helpers import settled, wait_until

pytestmark = pytest.mark.timing

CONTACTS = 400
BODY = {"to": [f"c{n:04}" for n in range(CONTACTS)], "text": "just once"}
KEY = "order-7781"
# Past the 30 s a reservation lasted before it was held for as long as a request may run.
FROZEN = 33


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    with running_stack(tmp_path_factory, "held", shipped=True, auth_mode="token") as running:
        yield running


@pytest.fixture
def token(shipped):
    reset(shipped)
    token = token_for(shipped)
    book = [{"name": name, "whatsapp": f"+7999{n:07}"} for n, name in enumerate(BODY["to"])]
    assert v1(shipped, token, "POST", "/contacts/import", book).status_code == 200
    return token


def serving_worker(stack) -> int:
    """The pid of the gunicorn worker that holds the API's one connection in flight."""
    master = stack.pid("api")
    with open(f"/proc/{master}/task/{master}/children") as f:
        workers = [int(p) for p in f.read().split()]
    port = f":{stack.api_backend_port:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split()
                if cols[1].endswith(port) and cols[3] == "01":
                    inodes.add(cols[9])
    holders = [w for w in workers if inodes & _socket_inodes(w)]
    assert len(holders) == 1, (workers, holders)
    return holders[0]


def _socket_inodes(pid) -> set:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            found.add(link[8:-1])
    return found


def sends_finished(stack) -> int:
    """How many sends gunicorn's access log says it finished (whatever the proxy did meanwhile)."""
    log = (stack.config.data_path / "logs" / "api.log").read_text()
    return log.count('"POST /api/v1/messages HTTP')


def post(stack, token, timeout=120):
    return v1(stack, token, "POST", "/messages", BODY, headers={"Idempotency-Key": KEY}, timeout=timeout)


def retry_while_frozen(stack, token, wait):
    """Send; freeze its API worker once it holds the key, retry after `wait(key)`: (first, retry) answers."""
    store = redis.Redis.from_url(stack.config.redis_url)
    user = v1(stack, token, "GET", "/me").json()["user"]
    key = Keys(stack.config.redis_prefix).idempotency(user, KEY)
    first = {}
    runner = threading.Thread(target=lambda: first.update(reply=post(stack, token)))
    runner.start()
    wait_until(lambda: store.exists(key), timeout=10, interval=0.0005, message="the key taken")
    worker, master = serving_worker(stack), stack.pid("api")
    os.kill(worker, signal.SIGSTOP)
    os.kill(master, signal.SIGSTOP)
    try:
        wait(lambda: store.exists(key))
        retry = post(stack, token, timeout=60)
    finally:
        os.kill(worker, signal.SIGCONT)
        # The worker tells the master it is alive before the master looks.
        time.sleep(2)
        os.kill(master, signal.SIGCONT)
    runner.join(120)
    return first["reply"], retry


def arrived_once(stack):
    """Every contact's delivery arrived, once."""
    wait_until(lambda: settled(stack.config), timeout=60, interval=0.5, message="all sent")
    arrived = [r["to"] for r in received(stack)]
    assert sorted(arrived) == sorted(f"+7999{n:07}" for n in range(CONTACTS))


def test_a_retry_while_the_first_request_runs_gets_409_and_one_message_is_sent(shipped, token):
    first, retry = retry_while_frozen(shipped, token, lambda held: time.sleep(FROZEN))
    assert retry.status_code == 409, retry.text[:300]
    assert "in progress" in retry.json()["message"]
    assert 1 <= int(retry.headers["Retry-After"]) <= 120
    assert first.status_code == 202, first.text[:300]
    message_id = first.json()["id"]
    again = post(shipped, token)
    assert (again.status_code, again.json()["id"]) == (202, message_id)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [m["id"] for m in v1(shipped, token, "GET", "/messages").json()] == [message_id]
    arrived_once(shipped)


def test_a_request_stalled_past_its_reservation_records_nothing_once_a_retry_sent(shipped, token):
    finished = sends_finished(shipped)
    held_for = shipped.config.send_deadline + RESERVATION_MARGIN
    first, retry = retry_while_frozen(shipped, token, lambda held: wait_until(
        lambda: not held(), timeout=held_for + 5, interval=0.5, message="the reservation run out"))
    assert retry.status_code == 202, retry.text[:300]
    message_id = retry.json()["id"]
    # The proxy gave up on the first request after 60 s; what it did after is the point.
    assert first.status_code == 504
    wait_until(lambda: sends_finished(shipped) == finished + 2, timeout=30, message="the first request finished")
    assert [m["id"] for m in v1(shipped, token, "GET", "/messages").json()] == [message_id]
    arrived_once(shipped)
