"""One user's tokens share one request limit, and failed authentications are limited per client
address (issue 33: finding 8, and item 12's wrong tokens).

Before, four tokens of one user got 800 of 800 requests through where one
token gets about 183 a second, and 600 wrong tokens from one client all got
their 401, at what pace the client liked.
"""

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from conftest import stack_config, token_for
from core.clients import mongo_database
from core.config import Config
from core.users import UserStore
from stack import Stack

pytestmark = pytest.mark.timing

SHIPPED = Config()
USERS_TOKENS = "with this user's tokens together"
FAILED = "Too many failed authentications from your address"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The proxy and the API with every limit as shipped, in token mode."""
    config = stack_config(tmp_path_factory.mktemp("user-limits"), shipped=True, auth_mode="token")
    with Stack(config, ("redis", "mongo", "api"), memory_mongo=True) as running:
        yield running


@pytest.fixture
def limits(shipped):
    """The shipped stack with no request counted yet."""
    redis.Redis.from_url(shipped.config.redis_url).flushall()
    return shipped


def flood(stack, tokens, count):
    """`count` GET /api/v1/me from 16 threads, taking the tokens in turn: the replies, and the seconds."""
    local = threading.local()

    def one(n):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session.get(stack.api_url + "/api/v1/me", timeout=10,
                                 headers={"Authorization": f"Bearer {tokens[n % len(tokens)]}"})

    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(one, range(count)))
    return replies, time.monotonic() - start


def get_from(source, port, token, headers=None):
    """GET /api/v1/me on 127.0.0.1:port from the address `source`: (status, headers, JSON body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", "/api/v1/me",
                           headers={"Authorization": f"Bearer {token}", **(headers or {})})
        reply = connection.getresponse()
        return reply.status, dict(reply.getheaders()), json.loads(reply.read())
    finally:
        connection.close()


def test_four_tokens_of_one_user_get_no_more_than_one_users_share(limits):
    users = UserStore(mongo_database(limits.config))
    tokens = [users.create_user("alice")] + [users.issue_token("alice")[1] for _ in range(3)]
    bob = users.create_user("bob")
    replies, seconds = flood(limits, tokens, 1000)
    allowed = [r for r in replies if r.status_code == 200]
    refused = [r for r in replies if r.status_code == 429]
    assert len(allowed) + len(refused) == len(replies)
    # Each token alone would let 100 + 50 a second through, four of them 400 + 200 a second.
    share = SHIPPED.api_user_burst + SHIPPED.api_user_rate * seconds + 1
    assert len(allowed) <= share, f"{len(allowed)} of {len(replies)} in {seconds:.2f} s"
    assert all(r.json()["message"].startswith(("Too many requests with this token", "Too many requests "
                                               + USERS_TOKENS)) for r in refused)
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    # Another user is untouched.
    assert requests.get(limits.api_url + "/api/v1/me", headers={"Authorization": f"Bearer {bob}"},
                        timeout=10).status_code == 200


def test_past_their_share_a_users_tokens_are_refused_together_and_another_user_is_not(make_stack):
    # A share of 10 a second (20 at once), so that 120 requests outrun it on any host.
    stack = make_stack(("redis", "mongo", "api"), shipped=True, auth_mode="token", api_user_rate=10.0,
                       api_user_burst=20)
    users = UserStore(mongo_database(stack.config))
    tokens = [users.create_user("carol")] + [users.issue_token("carol")[1] for _ in range(3)]
    other = users.create_user("dave")
    replies, seconds = flood(stack, tokens, 120)
    allowed = [r for r in replies if r.status_code == 200]
    refused = [r for r in replies if r.status_code == 429]
    assert len(allowed) + len(refused) == len(replies)
    assert 20 <= len(allowed) <= 20 + 10 * seconds + 1, f"{len(allowed)} in {seconds:.2f} s"
    # No token came near its own limit (30 requests each, 100 at once): the user's refused them.
    said = f"Too many requests {USERS_TOKENS}: at most 10 a second (20 at once)"
    assert all(r.json()["message"].startswith(said) for r in refused)
    assert all(r.headers["RateLimit-Limit"] == "20" and int(r.headers["Retry-After"]) >= 1 for r in refused)
    reply = requests.get(stack.api_url + "/api/v1/me", headers={"Authorization": f"Bearer {other}"},
                         timeout=10)
    # Headers of the tighter limit: dave's share, all but this request left.
    assert reply.status_code == 200 and reply.headers["RateLimit-Remaining"] == "19"
    time.sleep(int(refused[-1].headers["Retry-After"]))
    assert requests.get(stack.api_url + "/api/v1/me", headers={"Authorization": f"Bearer {tokens[0]}"},
                        timeout=10).status_code == 200


def test_wrong_tokens_from_one_address_are_cut_down_and_another_address_is_not(limits):
    valid = token_for(limits, "erin")
    replies, seconds = flood(limits, [f"wrong-{n}" for n in range(7)], 600)
    unauthorized = [r for r in replies if r.status_code == 401]
    refused = [r for r in replies if r.status_code == 429]
    assert len(unauthorized) + len(refused) == len(replies)
    assert len(unauthorized) <= SHIPPED.auth_failure_burst + SHIPPED.auth_failure_rate * seconds + 1
    assert refused[0].json()["message"].startswith(f"{FAILED}: at most 5 a second (20 at once)")
    assert int(refused[0].headers["Retry-After"]) >= 1
    # A valid token from the same address goes on; another address is untouched.
    assert get_from("127.0.0.1", limits.config.api_port, valid)[0] == 200
    status, _, body = get_from("127.0.0.2", limits.config.api_port, "wrong")
    assert status == 401, body


def test_x_real_ip_names_the_client_only_from_a_trusted_proxy(limits):
    # Straight to gunicorn from 127.0.0.3, which is no proxy, a new X-Real-IP
    # on each request is ignored; through nginx, which sets its own, too.
    for source, port in (("127.0.0.3", limits.api_backend_port), ("127.0.0.4", limits.config.api_port)):
        statuses = [get_from(source, port, "wrong", {"X-Real-IP": f"10.0.0.{n}"})[0]
                    for n in range(3 * SHIPPED.auth_failure_burst)]
        assert statuses.count(429) >= 10, (source, statuses)
    status, _, body = get_from("127.0.0.5", limits.config.api_port, "wrong")
    assert status == 401, body
