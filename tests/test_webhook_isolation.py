"""One user's webhooks cannot hold the others up: a deadline on each post, a pool and a bound of their own, caps.

The stack runs at the shipped settings (WEBHOOK_TIMEOUT 5 s, the leases,
the per-user bound and the caps), with WEBHOOK_ALLOW_PRIVATE=1 so a
receiver in this process, on loopback, can be a target.
"""

import select
import socket
import threading
import time
from collections import defaultdict

import pytest
import redis
from click.testing import CliRunner

from apiclient import received, v1
from conftest import reset, running_stack
from console.app import main
from core import webhooks
from core.clients import mongo_database
from core.config import Config
from core.keys import Keys
from core.users import UserStore
from core.webhook_posts import PostStore
from helpers import free_ports, wait_until
from workers.webhook_post import send

pytestmark = pytest.mark.timing

SHIPPED = Config()
# How far past its deadline an attempt may end: the worker's own steps around the exchange.
SLACK = 0.5
DRIP = b"HTTP/1.1 200 OK\r\nX-Drip: "
# How long the dripping receiver is watched.
WINDOW = 20


class SlowReceiver:
    """A real socket server in this process: reads each request, then drips a header a byte every 2 s, or hangs.

    It records every connection: the event it posted, when it opened and
    when the poster closed it.
    """

    def __init__(self, drip=True):
        self.connections, self._lock, self._drip = [], threading.Lock(), drip
        self._server = socket.create_server(("127.0.0.1", 0))
        self._closing = False
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/hooks"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closing:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            record = {"event": None, "request": b"", "opened": time.time(), "closed": None}
            with self._lock:
                self.connections.append(record)
            threading.Thread(target=self._serve, args=(sock, record), daemon=True).start()

    def _serve(self, sock, record):
        raw = b""
        with sock:
            try:
                while b"\r\n\r\n" not in raw:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    raw += chunk
                record["request"] = raw
                for line in raw.split(b"\r\n"):
                    if line.lower().startswith(b"x-dispatcher-event-id:"):
                        record["event"] = line.split(b":", 1)[1].strip().decode()
                if self._drip:
                    sock.sendall(DRIP)
                # Until the poster hangs up: a byte every 2 s, or nothing.
                while not self._closing:
                    readable, _, _ = select.select([sock], [], [], 2.0)
                    if readable and not sock.recv(65536):
                        break
                    if self._drip and not readable:
                        sock.sendall(b"a")
            except OSError:
                pass
        record["closed"] = time.time()

    def open_now(self, at=None):
        """Connections open at `at` (now by default)."""
        at = time.time() if at is None else at
        with self._lock:
            seen = list(self.connections)
        return [c for c in seen if c["opened"] <= at and (c["closed"] or float("inf")) > at]

    def most_open(self) -> int:
        """The most connections that were open at once."""
        with self._lock:
            seen = list(self.connections)
        return max((len(self.open_now(c["opened"])) for c in seen), default=0)

    def close(self):
        self._closing = True
        self._server.close()


@pytest.fixture(scope="module")
def isolation_stack(tmp_path_factory):
    """A stack of its own: shipped settings, token auth, private webhook targets allowed."""
    with running_stack(tmp_path_factory, "isolation", shipped=True, auth_mode="token",
                       webhook_allow_private=True) as running:
        yield running


@pytest.fixture
def hooked(isolation_stack):
    """That stack with every part running and empty stores."""
    isolation_stack.start()
    reset(isolation_stack)
    return isolation_stack


@pytest.fixture
def users(hooked):
    return UserStore(mongo_database(hooked.config))


@pytest.fixture
def slow():
    made = []

    def make(**behaviour):
        made.append(SlowReceiver(**behaviour))
        return made[-1]

    yield make
    for each in made:
        each.close()


def add_webhook(stack, token, url, events=None):
    reply = v1(stack, token, "POST", "/webhooks", {"url": url, **({"events": events} if events else {})})
    assert reply.status_code == 201, reply.text
    return reply.json()


def timed(call):
    began = time.monotonic()
    result = call()
    return result, time.monotonic() - began


def telegram_latency(stack, token, name):
    """Seconds from another user's send to its arrival at the fake gateway, and GET /me's time."""
    reply = v1(stack, token, "POST", "/contacts", {"name": name, "telegram": name.lower()})
    assert reply.status_code == 201, reply.text
    me, me_seconds = timed(lambda: v1(stack, token, "GET", "/me"))
    assert me.status_code == 200, me.text
    began = time.monotonic()
    sent = v1(stack, token, "POST", "/messages", {"to": name, "text": f"Hello {name}"})
    assert sent.status_code == 202, sent.text
    wait_until(lambda: any(r["to"] == name.lower() for r in received(stack, "telegram")), timeout=15,
               interval=0.02, message="the other user's message at the gateway")
    return time.monotonic() - began, me_seconds


def test_a_dripping_receiver_is_cut_at_the_deadline_and_never_held_twice(hooked, users, slow):
    alice, bob, drip = users.create_user("alice"), users.create_user("bob"), slow()
    made = add_webhook(hooked, alice, drip.url)
    began = time.time()
    events = [v1(hooked, alice, "POST", f"/webhooks/{made['id']}/test").json()["event_id"] for _ in range(3)]
    wait_until(lambda: len(drip.open_now()) >= 3, timeout=5, message="three posts dripping")
    latencies = [telegram_latency(hooked, bob, "Boris")]
    # Past two deadlines and a lease: where posts were handed over again, they would pile up by now.
    time.sleep(max(0.0, began + WINDOW - time.time()))
    latencies += [telegram_latency(hooked, bob, name) for name in ("Bella", "Bruno")]
    attempts = v1(hooked, alice, "GET", f"/webhooks/{made['id']}/attempts").json()
    seen = list(drip.connections)
    longest = max((c["closed"] or time.time()) - c["opened"] for c in seen)
    print(f"\n3 dripping events: {len(seen)} connections in {time.time() - began:.0f} s, at most "
          f"{drip.most_open()} open at once, the longest {longest:.1f} s; another user's sends arrived in "
          + ", ".join(f"{s:.2f}" for s, _ in latencies) + " s, GET /me in "
          + ", ".join(f"{m * 1000:.0f}" for _, m in latencies) + " ms")

    assert max(s for s, _ in latencies) < 2.0 and max(m for _, m in latencies) < 0.2
    assert longest <= SHIPPED.webhook_timeout + SLACK
    # Each attempt ended as a failure by timeout, within the deadline.
    assert attempts and {a["outcome"] for a in attempts} == {"retrying"}
    assert all(a["status"] is None and "timed out" in a["error"] for a in attempts), attempts
    assert all(a["duration_ms"] <= (SHIPPED.webhook_timeout + SLACK) * 1000 for a in attempts)
    by_event = defaultdict(list)
    for connection in seen:
        by_event[connection["event"]].append(connection)
    assert set(by_event) == set(events)
    logged = defaultdict(int)
    for attempt in attempts:
        logged[attempt["event_id"]] += 1
    for event_id, connections in by_event.items():
        # One connection per attempt (the last may still be under way), one after the other.
        assert len(connections) - logged[event_id] in (0, 1), (event_id, len(connections), logged[event_id])
        ordered = sorted(connections, key=lambda c: c["opened"])
        for before, after in zip(ordered, ordered[1:], strict=False):
            assert before["closed"] is not None and before["closed"] <= after["opened"], event_id
    assert max(logged.values()) >= 2, "each event was tried again"


def test_one_users_posts_in_flight_are_bounded(hooked, users, slow):
    alice, bob = users.create_user("alice"), users.create_user("bob")
    hang = slow(drip=False)
    made = add_webhook(hooked, alice, hang.url)
    for _ in range(12):
        assert v1(hooked, alice, "POST", f"/webhooks/{made['id']}/test").status_code == 202
    bound = SHIPPED.webhook_user_concurrency
    wait_until(lambda: len(hang.open_now()) >= bound, timeout=5, message=f"{bound} posts hanging")
    # Another user's webhook is posted to meanwhile, by the threads left.
    other = slow(drip=False)
    bobs = add_webhook(hooked, bob, other.url)
    _, seconds = timed(lambda: (v1(hooked, bob, "POST", f"/webhooks/{bobs['id']}/test"),
                                wait_until(lambda: other.connections, timeout=5, interval=0.02,
                                           message="bob's post")))
    # Past a deadline: the next posts take the places of those cut.
    time.sleep(SHIPPED.webhook_timeout * 2 + 1)
    print(f"\n12 events to a hanging receiver: {len(hang.connections)} connections in "
          f"{SHIPPED.webhook_timeout * 2 + 1:.0f} s, at most {hang.most_open()} open at once; "
          f"another user's post began in {seconds:.2f} s")
    assert hang.most_open() == bound
    assert len(hang.connections) >= 2 * bound
    assert seconds < 2.0


def fill(stack, user, webhook_id, count):
    """Record `count` test posts to a webhook, due in an hour (nobody sends them meanwhile)."""
    posts = PostStore(redis.Redis.from_url(stack.config.redis_url, decode_responses=True),
                      Keys(stack.config.redis_prefix))
    now = time.time()
    for _ in range(count):
        event_id, body = webhooks.test_event(webhook_id, now)
        outcome = posts.add((user, event_id, webhooks.TEST_EVENT, now), {webhook_id: body}, now + 3600,
                            caps=(SHIPPED.max_pending_posts, SHIPPED.max_pending_posts_per_webhook))
        assert outcome == {webhook_id: "added"}


def test_pending_posts_are_capped_per_webhook_and_per_user(hooked, users, tmp_path):
    alice = users.create_user("alice")
    [closed_port] = free_ports(1)
    url = f"http://127.0.0.1:{closed_port}/hooks"
    full, spare, third = (add_webhook(hooked, alice, f"{url}/{n}", events=["delivery.sent"]) for n in range(3))
    per_webhook, per_user = SHIPPED.max_pending_posts_per_webhook, SHIPPED.max_pending_posts
    fill(hooked, "alice", full["id"], per_webhook - 1)
    assert v1(hooked, alice, "POST", f"/webhooks/{full['id']}/test").status_code == 202
    refused = v1(hooked, alice, "POST", f"/webhooks/{full['id']}/test")
    assert refused.status_code == 429, refused.text
    assert refused.headers["Content-Type"].startswith("application/json")
    assert "MAX_PENDING_POSTS_PER_WEBHOOK" in refused.json()["message"]
    assert f"{per_webhook:,}" in refused.json()["message"]
    # Another webhook of the user's still takes them, up to the user's cap.
    fill(hooked, "alice", spare["id"], per_user - per_webhook)
    refused = v1(hooked, alice, "POST", f"/webhooks/{third['id']}/test")
    assert refused.status_code == 429 and "(MAX_PENDING_POSTS)" in refused.json()["message"], refused.text
    assert v1(hooked, alice, "GET", f"/webhooks/{third['id']}/attempts").json() == []

    # Real events past the caps are dropped and counted on each webhook.
    client = redis.Redis.from_url(hooked.config.redis_url, decode_responses=True)
    for n in range(3):
        client.xadd(Keys(hooked.config.redis_prefix).events(),
                    {"type": "delivery.sent", "user": "alice", "message_id": f"m{n}", "at": str(time.time()),
                     "delivery_id": f"m{n}-0", "status": "sent"})
    wait_until(lambda: client.xlen(Keys(hooked.config.redis_prefix).events()) == 0, timeout=10,
               message="the events relayed")
    shown = {w["id"]: w for w in v1(hooked, alice, "GET", "/webhooks").json()}
    assert {i: (w["pending_posts"], w["dropped_events"]) for i, w in shown.items()} == {
        full["id"]: (per_webhook, 3), spare["id"]: (per_user - per_webhook, 3), third["id"]: (0, 3)}
    one = v1(hooked, alice, "GET", f"/webhooks/{full['id']}").json()
    assert (one["pending_posts"], one["dropped_events"]) == (per_webhook, 3)
    listed = CliRunner().invoke(main, ["--server", hooked.api_url, "--token", alice,
                                       "--config", str(tmp_path / "config.json"), "webhooks", "ls"])
    assert listed.exit_code == 0, listed.output
    assert "dropped" in listed.output.lower() and f"{per_webhook:,}" in listed.output



def test_port_0_is_refused_naming_url(hooked, users):
    alice = users.create_user("alice")
    for url in ("http://example.com:0/hooks", "https://93.184.215.14:0/", "http://127.0.0.1:0/"):
        reply = v1(hooked, alice, "POST", "/webhooks", {"url": url})
        assert reply.status_code == 422, (url, reply.text)
        assert "url" in reply.json()["errors"]["json"], reply.text


def test_a_post_to_a_name_connects_to_the_address_checked_and_ends_by_its_deadline(slow):
    hang = slow(drip=False)
    port = hang.url.split(":")[2].split("/")[0]
    began = time.monotonic()
    status, error = send(SHIPPED.with_changes(webhook_allow_private=True),
                         {"url": f"http://localhost:{port}/hooks", "secret": "s"}, "evt_1", b"{}",
                         time.monotonic() + 1.0)
    assert time.monotonic() - began < 1.0 + SLACK
    assert status is None and "timed out" in error, error
    [connection] = hang.connections
    # The name checked, the address connected to, the name still the Host.
    assert f"\r\nHost: localhost:{port}\r\n".encode() in connection["request"]
