"""Limits on every input, checked cheaply first: a 4xx in the error shape, naming the problem, writing nothing."""

import time

import pytest
import requests

from api.fields import MessengerId
from apiclient import add_contact, call, v1
from core.config import Config, ConfigError
from test_validation import store_snapshot

MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def backend(stack):
    """gunicorn itself, behind the proxy: where the API's own limits answer."""
    return f"http://127.0.0.1:{stack.api_backend_port}"


def post_raw(url, path, data, headers=None):
    return requests.post(url + path, data=data, headers={**JSON, **(headers or {})}, timeout=30)


def assert_error(reply, status, legacy=False):
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["code"] == status and body["message"]
    assert body.get("success") is (False if legacy else None)
    return body


@pytest.fixture
def book(stack):
    add_contact(stack, "test", "Artem", telegram="t1", whatsapp="w1")
    return store_snapshot(stack)


def test_max_body_bytes_is_a_checked_setting():
    assert Config().max_body_bytes == MIB
    with pytest.raises(ConfigError, match="MAX_BODY_BYTES: 0 must be at least 1"):
        Config(max_body_bytes=0)


@pytest.mark.parametrize("url_of", [lambda s: s.api_url, backend], ids=["proxy", "gunicorn"])
@pytest.mark.parametrize("path, legacy", [("/api/contacts", True), ("/api/v1/contacts", False)])
def test_a_body_over_the_limit_is_a_413_both_with_a_length_and_chunked(stack, book, user_token,
                                                                        url_of, path, legacy):
    headers = {"Authorization": f"Bearer {user_token('alice')}"}
    big = b'{"user_name": "test", "x": "' + b"x" * MIB + b'"}'
    body = assert_error(post_raw(url_of(stack), path, big, headers), 413, legacy)
    assert str(MIB) in body["message"]
    chunks = iter([big[:1000], big[1000:]])
    assert_error(post_raw(url_of(stack), path, chunks, headers), 413, legacy)
    assert store_snapshot(stack) == book


def test_a_body_at_the_limit_is_read(stack, book):
    body = b'{"user_name": "test", "pad": "' + b"x" * (MIB - 40) + b'"}'
    assert len(body) <= MIB
    assert post_raw(backend(stack), "/api/contacts", body).status_code == 422  # no contact: read and checked


@pytest.mark.parametrize("data, problem", [
    ("[" * 990 + "]" * 990, "nests deeper than 32"),
    ('{"user_name": ' + "[" * 40 + "]" * 40 + "}", "nests deeper than 32"),
    ('{"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [' + "9" * 4301 + ', 1, 1, 0, 0, 0]}',
     "longer than 32 characters"),
    ('{"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [1e400, 1, 1, 0, 0, 0]}',
     "out of range: 1e400"),
    ('{"user_name": "test", "n": NaN}', "NaN is not a JSON number"),
    ('{"user_name": "test", "n": -Infinity}', "-Infinity is not a JSON number"),
    (b'{"user_name": "te\xffst"}', "not UTF-8: byte 0xff"),
    # A surrogate encoded as UTF-8 bytes is not UTF-8 either.
    (b'{"user_name": "te\xed\xa0\x80st"}', "not UTF-8: byte 0xed"),
])
@pytest.mark.parametrize("method", ["POST", "PUT", "GET", "DELETE"])
def test_bodies_beyond_what_json_parsers_take_are_400s_naming_the_problem(stack, book, method, data, problem):
    reply = requests.request(method, stack.api_url + "/api/contacts", data=data, headers=JSON, timeout=10)
    assert problem in assert_error(reply, 400, legacy=True)["message"]
    assert store_snapshot(stack) == book


@pytest.mark.parametrize("body, path", [
    ('{"to": "Artem", "text": "hi", "not_before": [' + "9" * 4301 + ', 1, 1, 0, 0, 0]}', "/messages"),
    ('{"to": "Artem", "text": "hi", "not_before": [1e400, 1, 1, 0, 0, 0]}', "/messages"),
    ("[" * 990 + "]" * 990, "/messages"),
    ("[" * 990 + "]" * 990, "/contacts"),
    ("[" * 990 + "]" * 990, "/contacts/Bob"),
    (b'{"name": "\xc3"}', "/contacts"),
])
def test_v1_bodies_beyond_what_json_parsers_take_are_400s(stack, book, user_token, body, path):
    token = user_token("alice")
    method = "PUT" if path == "/contacts/Bob" else "POST"
    reply = v1(stack, token, method, path, data=body, headers=JSON)
    assert_error(reply, 400)
    assert v1(stack, token, "GET", "/contacts").json() == []
    assert v1(stack, token, "GET", "/messages").json() == []


@pytest.mark.parametrize("body, field", [
    ({"user_name": "sur\ud800"}, "user_name"),
    ({"user_name": "test", "contact": {"name": "a\udfffb", "messangers": {}}}, "contact"),
    ({"user_name": "test", "contact": {"name": "A", "messangers": {"viber": "\ud800"}}}, "contact"),
    ({"user_name": "test", "contact": ["Artem"], "message": "sur\ud800"}, "message"),
    ({"user_name": "test", "contact": ["Art\ud800"], "message": "hi"}, "contact"),
])
def test_lone_surrogates_are_422s_naming_the_field(stack, book, body, field):
    # requests writes them as JSON escapes ("\ud800"), as any client might.
    method = "PUT" if "message" in body else "POST"
    reply = call(stack, method, "/api/contacts", body)
    errors = assert_error(reply, 422, legacy=True)["errors"]["json"]
    assert field in errors
    assert "lone surrogate" in str(errors)
    assert store_snapshot(stack) == book


@pytest.mark.parametrize("body, field", [
    ({"name": "sur\ud800"}, "name"), ({"name": "A", "telegram": "\udc00"}, "telegram")])
def test_v1_lone_surrogates_are_422s_naming_the_field(stack, user_token, body, field):
    token = user_token("alice")
    reply = v1(stack, token, "POST", "/contacts", body)
    assert field in assert_error(reply, 422)["errors"]["json"]
    v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "t"})
    reply = v1(stack, token, "POST", "/messages", {"to": "Artem", "text": "sur\ud800"})
    assert "text" in assert_error(reply, 422)["errors"]["json"]
    assert v1(stack, token, "GET", "/messages").json() == []


def test_a_50_mb_field_costs_its_length_not_a_scan():
    field = MessengerId()
    value = "x" * 50_000_000
    started = time.process_time()
    with pytest.raises(Exception, match="Longer than maximum length 256"):
        field.deserialize(value)
    # The control-character scan that ran first took 3.8 s of CPU for this.
    assert time.process_time() - started < 0.05


@pytest.mark.parametrize("path", ["/messages", "/failed"])
@pytest.mark.parametrize("page", ["99999999999999999999", "1000001", "0", "-1"])
def test_page_numbers_are_bounded(stack, user_token, path, page):
    reply = v1(stack, user_token("alice"), "GET", f"{path}?page={page}")
    assert "page" in assert_error(reply, 422)["errors"]["query"]


def test_the_last_page_allowed_answers(stack, user_token):
    reply = v1(stack, user_token("alice"), "GET", "/messages?page=1000000")
    assert reply.status_code == 200 and reply.json() == []


def test_content_type_with_a_charset_is_json(stack, book):
    reply = requests.get(stack.api_url + "/api/contacts", data='{"user_name": "test"}', timeout=10,
                         headers={"Content-Type": "application/json; charset=utf-8"})
    assert reply.status_code == 200 and "Artem" in reply.json()["contacts"]
