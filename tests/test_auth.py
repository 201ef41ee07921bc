"""Tokens: users and tokens in MongoDB, Bearer authentication, and isolation between users.

The original API is checked on a stack of its own in AUTH_MODE=token (the
session stack keeps the original's identification-only mode); /api/v1 asks
for a token in either mode.
"""

import json
import subprocess
import time

import pymongo
import pytest

from api import create_app
from apiclient import call, received, v1, wallclock
from conftest import reset, running_stack
from core.config import Config
from core.users import UnknownUser, UserExists, UserStore, token_hash
from helpers import wait_until
from test_original_api import ADD, DELETE, SEND, WHO

V1_ENDPOINTS = [
    ("GET", "/me"), ("GET", "/contacts"), ("POST", "/contacts"), ("GET", "/contacts/A"),
    ("PUT", "/contacts/A"), ("DELETE", "/contacts/A"), ("GET", "/messages"),
    ("POST", "/messages"), ("GET", "/messages/m"), ("POST", "/messages/m/cancel"),
    ("GET", "/failed"), ("POST", "/failed/retry"), ("POST", f"/failed/{'d' * 32}-0/retry"),
    ("DELETE", f"/failed/{'d' * 32}-0"),
]
ORIGINAL_ENDPOINTS = [("POST", "/api/contacts"), ("DELETE", "/api/contacts"),
                      ("PUT", "/api/contacts"), ("GET", "/api/contacts"),
                      ("GET", "/api/get_failed_mess")]


@pytest.fixture(scope="module")
def token_services(tmp_path_factory):
    """A stack of its own in AUTH_MODE=token, for this module."""
    with running_stack(tmp_path_factory, "token-stack", auth_mode="token") as running:
        yield running


@pytest.fixture
def token_stack(token_services):
    reset(token_services)
    return token_services


def user_store(running):
    """A UserStore on a stack's MongoDB (the client closed at the end of the test run)."""
    client = pymongo.MongoClient(running.config.mongo_url, serverSelectionTimeoutMS=5000)
    return UserStore(client[running.config.mongo_db])


@pytest.fixture
def users(token_stack):
    return user_store(token_stack)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def curl(stack, method, path, data, token):
    """The original example's curl command, with only a Bearer header added."""
    out = subprocess.run(
        ["curl", "--silent", "--show-error", "--header", "Content-Type: application/json",
         "--header", f"Authorization: Bearer {token}",
         "--request", method, "--data", data, stack.api_url + path],
        capture_output=True, text=True, check=True, timeout=30,
    )
    return json.loads(out.stdout)


# UserStore, called directly


def test_tokens_are_stored_hashed_and_name_their_user(stack):
    store = user_store(stack)
    token = store.create_user("alice")
    assert store.user_for_token(token) == "alice"
    assert store.user_for_token(token + "x") is None
    mongo = pymongo.MongoClient(stack.config.mongo_url)
    [doc] = mongo[stack.config.mongo_db]["tokens"].find()
    assert doc["hash"] == token_hash(token) and token not in json.dumps(doc, default=str)


def test_issue_list_and_revoke_tokens(stack):
    store = user_store(stack)
    first = store.create_user("alice")
    token_id, second = store.issue_token("alice", label="laptop")
    assert second != first and store.user_for_token(second) == "alice"
    listed = store.list_tokens("alice")
    assert [t["label"] for t in listed] == ["initial", "laptop"]
    assert set(listed[0]) == {"id", "label", "created_at", "expires_at"}
    assert store.revoke_token(token_id) is True
    assert store.revoke_token(token_id) is False
    assert store.user_for_token(second) is None
    assert store.user_for_token(first) == "alice"
    assert store.list_tokens("nobody") == []


def test_a_user_is_created_once_and_tokens_only_for_users(stack):
    store = user_store(stack)
    store.create_user("alice")
    with pytest.raises(UserExists):
        store.create_user("alice")
    with pytest.raises(UnknownUser):
        store.issue_token("bob")


# Authentication


def test_token_mode_is_the_default_and_a_misspelt_mode_stops_the_app():
    assert Config().auth_mode == "token"
    with pytest.raises(ValueError, match="AUTH_MODE"):
        create_app(Config(auth_mode="tokens"))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic YTpi"}, {"Authorization": "Bearer "}])
def test_v1_needs_a_valid_token_even_in_auth_mode_none(stack, headers):
    assert stack.config.auth_mode == "none"
    for method, path in V1_ENDPOINTS:
        reply = call(stack, method, "/api/v1" + path, {}, headers=headers)
        assert reply.status_code == 401, (method, path, reply.text)
        body = reply.json()
        assert body["code"] == 401 and body["status"] == "Unauthorized" and body["message"]
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_names_the_tokens_user(stack, user_token):
    token = user_token("alice")
    assert v1(stack, token, "GET", "/me").json()["user"] == "alice"


def test_a_revoked_token_is_refused(token_stack, users):
    users.create_user("alice")
    token_id, token = users.issue_token("alice")
    assert v1(token_stack, token, "GET", "/me").status_code == 200
    users.revoke_token(token_id)
    assert v1(token_stack, token, "GET", "/me").status_code == 401
    assert call(token_stack, "GET", "/api/contacts", {}, headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
def test_token_mode_refuses_the_original_requests_without_a_valid_token(token_stack, headers):
    for method, path in ORIGINAL_ENDPOINTS:
        reply = call(token_stack, method, path, {"user_name": "test"}, headers=headers)
        assert reply.status_code == 401, (method, path, reply.text)
        assert reply.json()["success"] is False and reply.json()["code"] == 401


def test_the_original_curl_examples_pass_with_only_a_bearer_header(token_stack, users):
    token = users.create_user("test")
    assert curl(token_stack, "POST", "/api/contacts", ADD, token) == {"success": True}
    assert curl(token_stack, "GET", "/api/contacts", WHO, token) == {"contacts": {
        "Artem": {"telegram": "ArtemZaitsev", "whatsApp": "+799200828615", "viber": ""}}}
    answer = curl(token_stack, "PUT", "/api/contacts", SEND.replace(', "Lera", "Vasya"', ""), token)
    assert answer["success"] is True and answer["deliveries"] == 2
    wait_until(lambda: len(received(token_stack)) == 2, timeout=10, message="delivered")
    assert curl(token_stack, "GET", "/api/get_failed_mess", WHO, token) == {"data": []}
    assert curl(token_stack, "DELETE", "/api/contacts", DELETE, token) == {"success": True}
    assert curl(token_stack, "GET", "/api/contacts", WHO, token) == {"contacts": {}}


def test_token_mode_lets_the_original_body_leave_out_user_name(token_stack, users):
    token = users.create_user("test")
    add = {"contact": {"name": "Artem", "messangers": {"telegram": "t"}}}
    assert call(token_stack, "POST", "/api/contacts", add, headers=bearer(token)).json() == {
        "success": True}
    assert call(token_stack, "GET", "/api/contacts", {}, headers=bearer(token)).json() == {
        "contacts": {"Artem": {"telegram": "t", "whatsApp": "", "viber": ""}}}
    assert v1(token_stack, token, "GET", "/contacts/Artem").json()["telegram"] == "t"


def test_token_mode_refuses_another_user_name_in_the_body(token_stack, users):
    alice, bob = users.create_user("alice"), users.create_user("bob")
    call(token_stack, "POST", "/api/contacts",
         {"contact": {"name": "Secret", "messangers": {"telegram": "s"}}}, headers=bearer(bob))
    for method, path in ORIGINAL_ENDPOINTS:
        body = {"user_name": "bob", "contact": "Secret", "message": "x"}
        reply = call(token_stack, method, path, body, headers=bearer(alice))
        assert reply.status_code == 403, (method, path, reply.text)
        assert reply.json()["success"] is False and "user_name" in reply.json()["errors"]["json"]
    assert v1(token_stack, bob, "GET", "/contacts").json() == [
        {"name": "Secret", "telegram": "s", "whatsapp": "", "viber": "", "timezone": None, "fields": {}}]
    assert v1(token_stack, bob, "GET", "/messages").json() == []


# Isolation: everything of Bob's is invisible and untouchable to Alice


@pytest.fixture
def bobs_things(token_stack, users):
    """Bob's contact, a scheduled message, and a sent one with a failed viber delivery."""
    bob = users.create_user("bob")
    v1(token_stack, bob, "POST", "/contacts", {"name": "Secret", "telegram": "s_t", "viber": "s_v"})
    scheduled = v1(token_stack, bob, "POST", "/messages",
                   {"to": "Secret", "text": "later", "not_before": wallclock(time.time() + 3600)},
                   headers={"Idempotency-Key": "bobs-key"}).json()
    sent = v1(token_stack, bob, "POST", "/messages", {"to": "Secret", "text": "now"}).json()
    failed = wait_until(lambda: v1(token_stack, bob, "GET", "/failed").json(), timeout=30,
                        message="bob's viber delivery failed")
    return {"token": bob, "scheduled": scheduled, "sent": sent, "failed": failed[0]}


def snapshot(stack, token):
    """All a user can see of their own things."""
    contacts = v1(stack, token, "GET", "/contacts").json()
    messages = v1(stack, token, "GET", "/messages").json()
    details = [v1(stack, token, "GET", f"/messages/{m['id']}").json() for m in messages]
    failed = v1(stack, token, "GET", "/failed").json()
    legacy = call(stack, "GET", "/api/get_failed_mess", {}, headers=bearer(token)).json()
    return contacts, details, failed, legacy


def assert_not_found_alike(reply, probe):
    """A 404 that says no more about Bob's id than about an id nobody has."""
    assert reply.status_code == probe.status_code == 404, reply.text
    assert set(reply.json()) == set(probe.json())


def test_alice_cannot_read_change_cancel_retry_or_learn_of_bobs_things(token_stack, users,
                                                                      bobs_things):
    alice = users.create_user("alice")
    bob = bobs_things["token"]
    before = snapshot(token_stack, bob)
    tries = len(received(token_stack))
    scheduled_id = bobs_things["scheduled"]["id"]
    sent_id = bobs_things["sent"]["id"]
    failed_id = bobs_things["failed"]["delivery_id"]

    def as_alice(method, path, body=None, **kwargs):
        return v1(token_stack, alice, method, path, body, **kwargs)

    # Lists: nothing of Bob's.
    assert as_alice("GET", "/contacts").json() == []
    assert as_alice("GET", "/messages").json() == []
    assert as_alice("GET", "/failed").json() == []
    assert json.loads(as_alice("GET", "/messages").headers["X-Pagination"])["total"] == 0
    # Bob's ids answer exactly as ids nobody has.
    for method, path in (("GET", "/messages/{}"), ("POST", "/messages/{}/cancel")):
        for message_id in (scheduled_id, sent_id):
            assert_not_found_alike(as_alice(method, path.format(message_id)),
                                   as_alice(method, path.format("f" * 32)))
    for method, path in (("POST", "/failed/{}/retry"), ("DELETE", "/failed/{}")):
        assert_not_found_alike(as_alice(method, path.format(failed_id)),
                               as_alice(method, path.format("f" * 32 + "-0")))
    assert as_alice("POST", "/failed/retry").json() == {"retried": []}
    # Bob's contact name is free for Alice: no 409, no 404 that would tell.
    assert_not_found_alike(as_alice("GET", "/contacts/Secret"), as_alice("GET", "/contacts/Nobody"))
    assert_not_found_alike(as_alice("DELETE", "/contacts/Secret"),
                           as_alice("DELETE", "/contacts/Nobody"))
    unknown = as_alice("POST", "/messages", {"to": "Secret", "text": "x"})
    assert unknown.status_code == 404
    assert as_alice("POST", "/contacts", {"name": "Secret", "whatsapp": "alice_w"}).status_code == 201
    assert as_alice("PUT", "/contacts/Secret", {"whatsapp": "alice_w2"}).status_code == 200
    # Bob's Idempotency-Key is Alice's to use afresh.
    mine = as_alice("POST", "/messages", {"to": "Secret", "text": "later",
                                          "not_before": wallclock(time.time() + 3600)},
                    headers={"Idempotency-Key": "bobs-key"})
    assert mine.status_code == 202 and mine.json()["sender"] == "alice"
    assert "Idempotent-Replayed" not in mine.headers
    # The original endpoints act on Alice's own things only.
    legacy = bearer(alice)
    assert call(token_stack, "GET", "/api/contacts", {}, headers=legacy).json() == {"contacts": {
        "Secret": {"telegram": "", "whatsApp": "alice_w2", "viber": ""}}}
    assert call(token_stack, "GET", "/api/get_failed_mess", {}, headers=legacy).json() == {"data": []}
    assert call(token_stack, "DELETE", "/api/contacts", {"contact": "Secret"},
                headers=legacy).json() == {"success": True}
    assert call(token_stack, "DELETE", "/api/contacts", {"contact": "Secret"},
                headers=legacy).status_code == 404
    assert call(token_stack, "PUT", "/api/contacts", {"contact": "Secret", "message": "x"},
                headers=legacy).status_code == 404

    # Bob's things are as they were, and nothing of his was sent.
    time.sleep(0.5)
    assert snapshot(token_stack, bob) == before
    assert len(received(token_stack)) == tries


def test_a_name_with_a_colon_reaches_no_other_users_keys(token_stack, users):
    """User names go into Redis key names; none can reach another user's keys."""
    alice = users.create_user("a:b")
    other = users.create_user("a")
    for token in (alice, other):
        v1(token_stack, token, "POST", "/contacts", {"name": "X", "telegram": "x"})
    v1(token_stack, other, "POST", "/messages", {"to": "X", "text": "x"},
       headers={"Idempotency-Key": "b:k"})
    reply = v1(token_stack, alice, "POST", "/messages", {"to": "X", "text": "x"},
               headers={"Idempotency-Key": "k"})
    assert reply.status_code == 202 and reply.json()["sender"] == "a:b"
    assert "Idempotent-Replayed" not in reply.headers
