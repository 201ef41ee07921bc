"""Signed outgoing webhooks: /api/v1/webhooks, the relay, signed posts, retries, SSRF, a killed worker.

The stack runs at the shipped settings (backoff, leases, timeouts), with
WEBHOOK_ALLOW_PRIVATE=1 so a receiver in this process, on loopback, can be
a target, and MAX_ATTEMPTS=2 so a Viber delivery fails within seconds.
"""

import hashlib
import hmac
import json
import signal
import threading
import time
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from click.testing import CliRunner

from api import create_app
from apiclient import v1
from conftest import reset, running_stack
from console.app import main
from core.clients import mongo_database
from core.config import Config
from core.keys import Keys
from core.users import UserStore
from core.webhooks import EVENTS, WEBHOOKS_MAX
from helpers import wait_until
from workers import webhook_relay
from workers.context import WorkerContext
from workers.webhook_post import send

# How far a receiver lets a signature's time be from its own clock.
TOLERANCE = 300
# The lease on a post (WEBHOOK_TIMEOUT 5 s + CLAIM_MARGIN 2 s) and a scheduler tick or two.
LEASE_BACK = 7.0 + 2.0


class Receiver:
    """A real HTTP server in this process that records each post; answers 500 to the first `fail`."""

    def __init__(self, fail=0, delay=0.0, delayed=0):
        self.posts, self.started, self._lock = [], [], threading.Lock()
        self._fail, self._delay, self._delayed = fail, delay, delayed
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    number = len(receiver.started)
                    receiver.started.append(raw)
                if number < receiver._delayed:
                    time.sleep(receiver._delay)
                failing = number < receiver._fail
                try:
                    self.send_response(500 if failing else 200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    return  # the poster died meanwhile: nothing arrived for it
                if not failing:
                    with receiver._lock:
                        receiver.posts.append((dict(self.headers), raw, time.time()))

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks?via=test"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def bodies(self):
        """The JSON of each post answered 2xx, in arrival order."""
        return [json.loads(raw) for _, raw, _ in self.posts]


def verified(secret, headers, raw) -> bool:
    """Whether a post is signed with the secret, as a receiver checks: HMAC over the raw body, a recent t."""
    parts = dict(item.split("=", 1) for item in headers["X-Dispatcher-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) <= TOLERANCE


@pytest.fixture(scope="module")
def hooks_stack(tmp_path_factory):
    """A stack of its own: shipped settings, token auth, private webhook targets allowed."""
    with running_stack(tmp_path_factory, "webhooks", shipped=True, auth_mode="token",
                       webhook_allow_private=True, max_attempts=2) as running:
        yield running


@pytest.fixture
def hooked(hooks_stack):
    """That stack with every part running and empty stores."""
    hooks_stack.start()
    reset(hooks_stack)
    return hooks_stack


@pytest.fixture
def users(hooked):
    return UserStore(mongo_database(hooked.config))


@pytest.fixture
def receiver():
    made = []

    def make(**behaviour):
        made.append(Receiver(**behaviour))
        return made[-1]

    yield make
    for each in made:
        each.close()


def store(stack):
    return redis.Redis.from_url(stack.config.redis_url, decode_responses=True)


def add_webhook(stack, token, url, events=None):
    reply = v1(stack, token, "POST", "/webhooks", {"url": url, **({"events": events} if events else {})})
    assert reply.status_code == 201, reply.text
    return reply.json()


def event(stack, user, kind, message_id="m1", delivery_id=None, status=None, at=None):
    """XADD an event as the delivery scripts write one; its public id."""
    fields = {"type": kind, "user": user, "message_id": message_id, "at": str(at or time.time())}
    if delivery_id is not None:
        fields |= {"delivery_id": delivery_id, "status": status}
    return "evt_" + store(stack).xadd(Keys(stack.config.redis_prefix).events(), fields)


def settled(stack):
    """No webhook post left to send, and no event left to relay."""
    client, keys = store(stack), Keys(stack.config.redis_prefix)
    return client.zcard(keys.webhook_schedule()) == 0 and client.xlen(keys.events()) == 0


def test_a_user_makes_lists_shows_and_deletes_webhooks(hooked, users):
    alice, bob = users.create_user("alice"), users.create_user("bob")
    made = add_webhook(hooked, alice, "https://example.com/hooks")
    assert set(made) == {"id", "url", "events", "secret", "created_at", "pending_posts", "dropped_events"}
    assert made["events"] == list(EVENTS) and made["secret"]
    users_hash = Keys(hooked.config.redis_prefix).webhook_users()
    assert store(hooked).hget(users_hash, "alice") == "1"

    listed = v1(hooked, alice, "GET", "/webhooks").json()
    assert [w["id"] for w in listed] == [made["id"]]
    shown = v1(hooked, alice, "GET", f"/webhooks/{made['id']}").json()
    # The secret only in the answer that made it.
    assert "secret" not in shown and made["secret"] not in json.dumps(listed)
    assert shown == {k: made[k] for k in ("id", "url", "events", "created_at", "pending_posts", "dropped_events")}

    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/test"), ("GET", "/attempts")):
        reply = v1(hooked, bob, method, f"/webhooks/{made['id']}{path}")
        assert reply.status_code == 404, (method, path, reply.text)
    assert v1(hooked, bob, "GET", "/webhooks").json() == []

    assert v1(hooked, alice, "DELETE", f"/webhooks/{made['id']}").status_code == 204
    assert v1(hooked, alice, "GET", f"/webhooks/{made['id']}").status_code == 404
    assert v1(hooked, alice, "DELETE", f"/webhooks/{made['id']}").status_code == 404
    assert store(hooked).hexists(users_hash, "alice") is False


def test_bad_webhooks_are_refused_naming_the_field(hooked, users):
    alice = users.create_user("alice")
    for body, field in (({"url": "https://example.com/", "events": ["delivery.lost"]}, "events"),
                        ({"url": "https://example.com/", "events": []}, "events"),
                        ({"url": "ftp://example.com/"}, "url"),
                        ({"url": "https://example.com/" + "a" * 2048}, "url"),
                        ({"url": "https://user:pass@example.com/"}, "url"),
                        ({}, "url")):
        reply = v1(hooked, alice, "POST", "/webhooks", body)
        assert reply.status_code == 422, reply.text
        assert field in reply.json()["errors"]["json"], reply.text
    for i in range(WEBHOOKS_MAX):
        add_webhook(hooked, alice, f"https://example.com/{i}")
    reply = v1(hooked, alice, "POST", "/webhooks", {"url": "https://example.com/one-more"})
    assert reply.status_code == 422 and f"at most {WEBHOOKS_MAX}" in reply.json()["message"]
    assert store(hooked).hget(Keys(hooked.config.redis_prefix).webhook_users(), "alice") == str(WEBHOOKS_MAX)


def test_private_targets_are_refused_at_the_shipped_default(hooked, users):
    config = hooked.config.with_changes(webhook_allow_private=Config().webhook_allow_private)
    assert config.webhook_allow_private is False
    token = users.create_user("alice")
    client = create_app(config).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for url in ("http://127.0.0.1:8080/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data",
                "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://localhost:9000/", "http://0.0.0.0/",
                "http://224.0.0.1/", "http://192.168.1.1/"):
        reply = client.post("/api/v1/webhooks", json={"url": url}, headers=headers)
        assert reply.status_code == 422, (url, reply.text)
        assert "url" in reply.json["errors"]["json"], (url, reply.json)
    # A public address is taken (an address literal: no DNS needed).
    reply = client.post("/api/v1/webhooks", json={"url": "https://93.184.215.14/hooks"}, headers=headers)
    assert reply.status_code == 201, reply.text


def test_a_post_is_checked_again_when_sent_and_refused_to_a_private_address(receiver):
    target = receiver()
    # Allowed when the webhook was made, refused when posted: DNS may have changed meanwhile.
    status, error = send(Config(), {"url": target.url, "secret": "s"}, "evt_1", b"{}")
    assert status is None and error.startswith("refused: 127.0.0.1 is or resolves to 127.0.0.1")
    assert target.started == []


def test_a_test_event_arrives_signed(hooked, users, receiver):
    alice, target = users.create_user("alice"), receiver()
    made = add_webhook(hooked, alice, target.url)
    queued = v1(hooked, alice, "POST", f"/webhooks/{made['id']}/test")
    assert queued.status_code == 202, queued.text
    event_id = queued.json()["event_id"]
    wait_until(lambda: target.posts, timeout=10, message="the test event at the receiver")
    headers, raw, _ = target.posts[0]
    body = json.loads(raw)
    assert body["id"] == event_id and body["type"] == "webhook.test"
    assert body["data"] == {"webhook_id": made["id"]} and datetime.fromisoformat(body["created_at"])
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "dispatcher-webhooks"
    assert headers["X-Dispatcher-Event-Id"] == event_id
    assert verified(made["secret"], headers, raw)
    assert not verified(made["secret"], headers, raw + b" ")
    assert not verified("whsec_another", headers, raw)

    wait_until(lambda: v1(hooked, alice, "GET", f"/webhooks/{made['id']}/attempts").json(), timeout=5)
    [attempt] = v1(hooked, alice, "GET", f"/webhooks/{made['id']}/attempts").json()
    assert attempt["event_id"] == event_id and attempt["status"] == 200 and attempt["error"] == ""
    assert attempt["outcome"] == "delivered" and attempt["attempt"] == 1
    assert attempt["next_attempt_at"] is None and attempt["duration_ms"] >= 0


def test_a_failing_receiver_gets_the_same_event_on_the_third_post(hooked, users, receiver):
    # The shipped backoff: from 1 s, doubling, jittered into its upper half.
    alice, target = users.create_user("alice"), receiver(fail=2)
    made = add_webhook(hooked, alice, target.url)
    event_id = v1(hooked, alice, "POST", f"/webhooks/{made['id']}/test").json()["event_id"]
    wait_until(lambda: target.posts, timeout=15, message="the third post")
    assert len(target.started) == 3
    assert len(set(target.started)) == 1, "every post sent the same bytes"
    assert json.loads(target.started[0])["id"] == event_id

    # The receiver has the post before the worker logs its answer.
    attempts = wait_until(lambda: len(got := v1(hooked, alice, "GET", f"/webhooks/{made['id']}/attempts").json())
                          >= 3 and got, timeout=5, message="the third attempt logged")
    assert [(a["attempt"], a["status"], a["outcome"]) for a in attempts] == [
        (3, 200, "delivered"), (2, 500, "retrying"), (1, 500, "retrying")]
    assert all(a["event_id"] == event_id for a in attempts)
    assert attempts[2]["error"] == "HTTP 500" and attempts[2]["next_attempt_at"]
    first, second = (datetime.fromisoformat(a["at"]) for a in (attempts[2], attempts[1]))
    waited = (second - first).total_seconds()
    assert 0.4 <= waited <= 2.5, f"first retry after {waited:.2f} s"
    wait_until(lambda: settled(hooked), timeout=5, message="no post left")


def test_an_event_past_the_retry_window_is_given_up_after_one_failure(hooked, users, receiver):
    alice, target = users.create_user("alice"), receiver(fail=100)
    made = add_webhook(hooked, alice, target.url)
    # Older than WEBHOOK_RETRY_HOURS (24): the first failure is the last attempt.
    event_id = event(hooked, "alice", "delivery.failed", delivery_id="m1-0", status="failed",
                     at=time.time() - 25 * 3600)
    wait_until(lambda: settled(hooked), timeout=10, message="the post given up")
    [attempt] = v1(hooked, alice, "GET", f"/webhooks/{made['id']}/attempts").json()
    assert (attempt["event_id"], attempt["outcome"], attempt["status"]) == (event_id, "given_up", 500)
    assert attempt["next_attempt_at"] is None and len(target.started) == 1


def test_the_relay_posts_each_event_to_the_webhooks_subscribed_to_it(hooked, users, receiver):
    alice = users.create_user("alice")
    everything, failures = receiver(), receiver()
    add_webhook(hooked, alice, everything.url)
    add_webhook(hooked, alice, failures.url, events=["delivery.failed"])
    sent = event(hooked, "alice", "delivery.sent", delivery_id="m1-0", status="sent")
    lost = event(hooked, "alice", "delivery.failed", delivery_id="m1-1", status="failed")
    done = event(hooked, "alice", "message.completed")
    event(hooked, "bob", "delivery.failed", delivery_id="m2-0", status="failed")  # nobody's webhook
    # Not an event as the delivery scripts write them: dropped, the rest unharmed.
    store(hooked).xadd(Keys(hooked.config.redis_prefix).events(), {"type": "delivery.sent"})
    wait_until(lambda: len(everything.posts) == 3 and failures.posts, timeout=10, message="the posts")
    wait_until(lambda: settled(hooked), timeout=5, message="the stream emptied")
    assert sorted(b["id"] for b in everything.bodies()) == sorted([sent, lost, done])
    assert [(b["id"], b["type"]) for b in failures.bodies()] == [(lost, "delivery.failed")]
    # The delivery was never recorded (the event is made up): what the event says of it.
    assert failures.bodies()[0]["data"] == {"id": "m1-1", "message_id": "m1", "status": "failed"}
    pending = store(hooked).xpending(Keys(hooked.config.redis_prefix).events(), webhook_relay.GROUP)
    assert pending["pending"] == 0


def test_an_event_a_relay_read_and_died_on_is_posted_once(hooked, users, receiver, monkeypatch):
    alice, target = users.create_user("alice"), receiver()
    add_webhook(hooked, alice, target.url)
    hooked.stop("scheduler")
    hooked.stop("webhooks")  # the post stays in the schedule until the test looked
    client, events = store(hooked), Keys(hooked.config.redis_prefix).events()
    relay = webhook_relay.Relay(WorkerContext(hooked.config))
    event_id = event(hooked, "alice", "delivery.sent", delivery_id="m1-0", status="sent")
    relay.run(time.time())  # makes the consumer group, once there is a stream: reads nothing
    assert client.zcard(Keys(hooked.config.redis_prefix).webhook_schedule()) == 0
    # A relay reads the event and dies before it fans it out.
    [[_, [(entry_id, fields)]]] = client.xreadgroup(webhook_relay.GROUP, "dead", {events: ">"})
    # Taken over at once, not 30 s after the dead relay read it (and looked for at every run).
    monkeypatch.setattr(webhook_relay, "CLAIM_IDLE", 0.0)
    monkeypatch.setattr(webhook_relay, "RECLAIM_EVERY", 0.0)
    schedule = Keys(hooked.config.redis_prefix).webhook_schedule()
    assert client.zcard(schedule) == 0
    relay.run(time.time())
    assert client.zcard(schedule) == 1 and client.xlen(events) == 0
    # The dead one, had it come back, fans it out again: nothing new.
    relay.fan_out(entry_id, fields, time.time())
    assert client.zcard(schedule) == 1
    hooked.start()
    wait_until(lambda: settled(hooked) and target.posts, timeout=10, message="the post")
    assert [b["id"] for b in target.bodies()] == [event_id]


def test_a_post_held_by_a_killed_worker_is_posted_again_after_its_lease(hooked, users, receiver):
    # The first four posts (as many as a user may have in flight) are held 3 s at the receiver:
    # the worker dies holding them.
    alice, target = users.create_user("alice"), receiver(delay=3.0, delayed=4)
    made = add_webhook(hooked, alice, target.url)
    test = f"/webhooks/{made['id']}/test"
    event_ids = [v1(hooked, alice, "POST", test).json()["event_id"] for _ in range(8)]
    wait_until(lambda: len(target.started) >= 4, timeout=15, message="four posts held")
    hooked.kill("webhooks", signal.SIGKILL)
    killed_at = time.time()
    held = {json.loads(raw)["id"] for raw in target.started} - {b["id"] for b in target.bodies()}
    hooked.start("webhooks")
    wait_until(lambda: {b["id"] for b in target.bodies()} == set(event_ids), timeout=LEASE_BACK + 15,
               message="every event answered 200")
    wait_until(lambda: settled(hooked), timeout=5, message="no post left")
    arrived = Counter(json.loads(raw)["id"] for raw in target.started)
    duplicates = sum(n - 1 for n in arrived.values())
    print(f"\n{len(event_ids)} events, {len(held)} held at the kill, {duplicates} posted twice, "
          f"the last 200 {target.posts[-1][2] - killed_at:.1f} s after the kill")
    # Each held post once more; another may be too, if the worker died between its 200 and its record.
    assert set(arrived) == set(event_ids) and max(arrived.values()) <= 2
    assert held <= {e for e, n in arrived.items() if n > 1}
    assert all(verified(made["secret"], headers, raw) for headers, raw, _ in target.posts)


def test_a_send_posts_its_delivery_and_message_events(hooked, users, receiver):
    alice = users.create_user("alice")
    everything, failures = receiver(), receiver()
    add_webhook(hooked, alice, everything.url)
    failures_hook = add_webhook(hooked, alice, failures.url, events=["delivery.failed"])
    reply = v1(hooked, alice, "POST", "/contacts", {"name": "Artem", "telegram": "artem", "viber": "+7900"})
    assert reply.status_code == 201, reply.text
    sent = v1(hooked, alice, "POST", "/messages", {"to": "Artem", "text": "Hello there"})
    assert sent.status_code == 202, sent.text
    message = sent.json()
    by_messenger = {d["messenger"]: d["id"] for d in message["deliveries"]}
    # Viber fails at the fake gateway: two attempts (MAX_ATTEMPTS=2), then failed.
    wait_until(lambda: "message.completed" in {b["type"] for b in everything.bodies()}, timeout=20,
               message="the message completed")
    wait_until(lambda: settled(hooked), timeout=10, message="every post sent")
    events = {b["type"]: b for b in everything.bodies()}
    assert sorted(b["type"] for b in everything.bodies()) == [
        "delivery.failed", "delivery.sent", "message.completed"]
    assert events["delivery.sent"]["data"]["id"] == by_messenger["telegram"]
    assert events["delivery.sent"]["data"]["status"] == "sent"
    assert events["delivery.sent"]["data"]["message_id"] == message["id"]
    assert events["delivery.failed"]["data"]["id"] == by_messenger["viber"]
    assert events["delivery.failed"]["data"]["status"] == "failed"
    assert events["delivery.failed"]["data"]["attempts"] == 2
    completed = events["message.completed"]["data"]
    assert completed == v1(hooked, alice, "GET", f"/messages/{message['id']}").json()
    assert [b["type"] for b in failures.bodies()] == ["delivery.failed"]
    assert failures.bodies()[0]["id"] == events["delivery.failed"]["id"]
    headers, raw, _ = failures.posts[0]
    assert verified(failures_hook["secret"], headers, raw)


def test_the_cli_adds_lists_tests_and_removes_webhooks(hooked, users, receiver, tmp_path):
    token, target = users.create_user("alice"), receiver()
    runner = CliRunner()
    base = ["--server", hooked.api_url, "--token", token, "--config", str(tmp_path / "config.json")]

    def run(*args):
        result = runner.invoke(main, [*base, *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    webhook_id, secret = run("webhooks", "add", target.url, "--event", "delivery.failed").split()
    assert secret.startswith("whsec_")
    listed = run("webhooks", "ls")
    assert webhook_id in listed and "delivery.failed" in listed and secret not in listed
    event_id = run("webhooks", "test", webhook_id).strip()
    wait_until(lambda: target.posts, timeout=10, message="the test event")
    assert target.bodies()[0]["id"] == event_id and verified(secret, *target.posts[0][:2])
    wait_until(lambda: "delivered" in run("webhooks", "attempts", webhook_id), timeout=5)
    assert json.loads(run("webhooks", "attempts", webhook_id, "--json"))[0]["event_id"] == event_id
    assert run("webhooks", "rm", webhook_id).startswith(f"Deleted webhook {webhook_id}")
    refused = runner.invoke(main, [*base, "webhooks", "rm", webhook_id])
    assert refused.exit_code == 1 and "No webhook" in refused.output
