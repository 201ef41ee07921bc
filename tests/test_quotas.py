"""Limits per user, shared by every API process through Redis: a request rate per
token (per user name without tokens), recipients per send, unfinished deliveries."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from apiclient import call, received, send, set_faults, v1, wallclock
from conftest import running_stack, token_for
from core.clients import mongo_database
from core.config import Config
from core.deliveries import open_count
from core.keys import Keys
from core.users import UserStore

SHIPPED = Config()
SENDS_WHILE_FINISHING = 5
LATER = wallclock(time.time() + 3600)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A stack with every limit as shipped (identification-only mode for the original API)."""
    with running_stack(tmp_path_factory, "quotas", shipped=True) as running:
        yield running


@pytest.fixture
def users(shipped):
    return UserStore(mongo_database(shipped.config))


def flood(request, count):
    """`count` calls of request() from 8 threads: the replies, and the seconds they took."""
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: request(), range(count)))
    return replies, time.monotonic() - start


def test_a_token_past_its_rate_gets_429_with_retry_after_and_others_go_on(shipped, users):
    alice, bob = users.create_user("alice-rate"), users.create_user("bob-rate")
    replies, seconds = flood(lambda: v1(shipped, alice, "GET", "/me"), 3 * SHIPPED.api_burst)
    allowed = [r for r in replies if r.status_code == 200]
    refused = [r for r in replies if r.status_code == 429]
    assert len(allowed) + len(refused) == len(replies)
    # The burst at once, then the rate: never more.
    assert SHIPPED.api_burst <= len(allowed) <= SHIPPED.api_burst + SHIPPED.api_rate * seconds + 1
    assert refused, f"{len(replies)} requests in {seconds:.2f} s, none refused"
    body = refused[0].json()
    assert body["code"] == 429 and "at most 50 a second" in body["message"]
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert {int(r.headers["RateLimit-Remaining"]) for r in allowed} >= {0}
    assert all(r.headers["RateLimit-Limit"] == str(SHIPPED.api_burst) for r in replies)

    # Another user's token is untouched, and the first goes on after the wait.
    other = v1(shipped, bob, "GET", "/me")
    assert other.status_code == 200 and int(other.headers["RateLimit-Remaining"]) >= SHIPPED.api_burst - 2
    time.sleep(int(refused[-1].headers["Retry-After"]))
    assert v1(shipped, alice, "GET", "/me").status_code == 200


def test_without_tokens_the_original_api_is_limited_per_user_name(shipped):
    def listing(user):
        return call(shipped, "GET", "/api/contacts", {"user_name": user})

    replies, _ = flood(lambda: listing("carol"), 3 * SHIPPED.api_burst)
    refused = [r for r in replies if r.status_code == 429]
    assert refused
    assert refused[0].json()["success"] is False and refused[0].json()["code"] == 429
    assert listing("dave").status_code == 200


def test_a_send_naming_more_contacts_than_allowed_is_refused_before_anything(shipped):
    names = [f"n{i}" for i in range(SHIPPED.max_recipients + 1)]
    reply = send(shipped, "erin", names, "too many")
    assert reply.status_code == 422
    assert "at most 10000" in reply.json()["errors"]["json"]["contact"][0]
    client = redis.Redis.from_url(shipped.config.redis_url)
    assert client.zcard(Keys(shipped.config.redis_prefix).user_messages("erin")) == 0


def test_a_list_of_names_beyond_the_limit_is_refused_by_its_length_before_any_name_is_read(shipped, users):
    # 100,000 names (within MAX_BODY_BYTES), the last of them invalid: the
    # length alone refuses it, so nobody pays for checking each name first.
    names = [f"{i:x}" for i in range(100_000 - 1)] + ["\x00"]
    reply = send(shipped, "erin", names, "far too many")
    assert reply.status_code == 422
    assert reply.json()["errors"]["json"]["contact"] == ["Lists 100000 names; at most 10000."]
    token = users.create_user("erin2")
    reply = v1(shipped, token, "POST", "/messages", {"to": names, "text": "far too many"})
    assert reply.status_code == 422
    assert reply.json()["errors"]["json"]["to"] == ["Lists 100000 names; at most 10000."]


def test_at_the_shipped_quota_a_send_that_would_pass_it_gets_429_and_writes_nothing(shipped, users):
    token = users.create_user("frank")
    for name in ("A", "B"):
        assert v1(shipped, token, "POST", "/contacts", {"name": name, "telegram": name}).status_code == 201
    keys = Keys(shipped.config.redis_prefix)
    client = redis.Redis.from_url(shipped.config.redis_url, decode_responses=True)
    # As if frank's earlier sends had left all but one delivery of the quota waiting.
    client.hset(keys.user_usage("frank"), "open", SHIPPED.max_open_deliveries - 1)
    refused = v1(shipped, token, "POST", "/messages", {"to": ["A", "B"], "text": "two", "not_before": LATER})
    assert refused.status_code == 429
    assert "at most 100000 may wait" in refused.json()["message"]
    assert client.zcard(keys.user_messages("frank")) == 0
    assert v1(shipped, token, "POST", "/messages",
              {"to": "A", "text": "one", "not_before": LATER}).status_code == 202
    me = v1(shipped, token, "GET", "/me").json()
    assert me["usage"] == {"open_deliveries": SHIPPED.max_open_deliveries}
    assert me["limits"] == {"requests_per_second": 50.0, "request_burst": 100,
                            "recipients_per_send": 10000, "open_deliveries": 100000}


def test_finished_and_cancelled_deliveries_free_the_quota(make_stack):
    own = make_stack(max_open_deliveries=4, max_recipients=3)
    token = UserStore(mongo_database(own.config)).create_user("gina")
    for name in ("A", "B", "C", "D"):
        v1(own, token, "POST", "/contacts", {"name": name, "telegram": name, "viber": name})

    def usage():
        return v1(own, token, "GET", "/me").json()["usage"]["open_deliveries"]

    later = v1(own, token, "POST", "/messages", {"to": ["A", "B"], "text": "later", "not_before": LATER})
    assert later.status_code == 202 and usage() == 4
    assert v1(own, token, "POST", "/messages", {"to": "C", "text": "no room"}).status_code == 429
    too_many = v1(own, token, "POST", "/messages", {"to": ["A", "B", "C", "D"], "text": "x"})
    assert too_many.status_code == 422 and "to" in too_many.json()["errors"]["json"]

    v1(own, token, "POST", f"/messages/{later.json()['id']}/cancel")
    assert usage() == 0
    # Telegram is sent and Viber fails for good on the fake gateway: both finish.
    now = v1(own, token, "POST", "/messages", {"to": ["C", "D"], "text": "now"})
    assert now.status_code == 202
    deadline = time.monotonic() + 60
    while usage() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert usage() == 0
    # A failed delivery sent again counts once more until it finishes.
    failed = v1(own, token, "GET", "/failed").json()
    assert len(failed) == 2
    set_faults(own, latency_ms=3000)
    assert v1(own, token, "POST", f"/failed/{failed[0]['delivery_id']}/retry").status_code == 202
    assert usage() == 1
    set_faults(own, latency_ms=0)
    deadline = time.monotonic() + 60
    while usage() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert usage() == 0 and len(v1(own, token, "GET", "/failed").json()) == 2


def test_concurrent_sends_of_one_user_all_go_through(make_stack):
    # Each send watches its user's count of open deliveries, which every other one changes.
    stack = make_stack()
    names = [f"c{i}" for i in range(20)]
    for name in names:
        call(stack, "POST", "/api/contacts", {"user_name": "busy", "contact": {
            "name": name, "messangers": {"telegram": f"t{name}"}}})
    replies, _ = flood(lambda: send(stack, "busy", names, "at once"), 160)
    assert sorted({r.status_code for r in replies}) == [200], {r.status_code for r in replies}
    client = redis.Redis.from_url(stack.config.redis_url, decode_responses=True)
    keys = Keys(stack.config.redis_prefix)
    assert client.zcard(keys.user_messages("busy")) == 160
    assert 0 <= open_count(client, keys, "busy") <= 160 * 20


def test_big_sends_go_through_while_the_users_deliveries_finish(make_stack):
    # Finishing deliveries once changed the key each send watches: a send of
    # 2,000 deliveries kept trying again and gave up with a 503 after 10 s.
    stack = make_stack(shipped=True)
    token = token_for(stack, "steady")
    book = [{"name": f"p{i}", "telegram": f"t{i}", "whatsapp": f"+{i}"} for i in range(1000)]
    assert v1(stack, token, "POST", "/contacts/import", book).status_code == 200
    names = [c["name"] for c in book]
    arrived_before = []
    for _ in range(SENDS_WHILE_FINISHING):
        arrived_before.append(len(received(stack)))
        reply = v1(stack, token, "POST", "/messages", {"to": names, "text": "steady"}, timeout=120)
        assert reply.status_code == 202, reply.text
    # Each send after the first went while earlier deliveries arrived and finished.
    assert all(later > earlier for earlier, later in zip(arrived_before[1:], arrived_before[2:], strict=False))
    accepted = SENDS_WHILE_FINISHING * len(book) * 2
    seen = len(received(stack))
    unfinished = v1(stack, token, "GET", "/me").json()["usage"]["open_deliveries"]
    # No delivery finishes before the gateway has it; at most a worker's share are between.
    assert accepted - len(received(stack)) <= unfinished <= accepted - seen + stack.config.worker_concurrency
