"""No request gets a 500: generated bodies and headers against the live stack, the cases once seen as explicit examples.

/api/v1 is also fuzzed from its OpenAPI document (tests/test_openapi.py);
this module covers what a document cannot: the original endpoints, raw
bytes as bodies, and headers.
"""

import json

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apiclient import add_contact

RUN = settings(max_examples=150, deadline=None, derandomize=True, database=None,
               suppress_health_check=list(HealthCheck))
ORIGINAL = [("POST", "/api/contacts"), ("DELETE", "/api/contacts"), ("PUT", "/api/contacts"),
            ("GET", "/api/contacts"), ("GET", "/api/get_failed_mess")]
V1 = [("POST", "/api/v1/contacts"), ("PUT", "/api/v1/contacts/Artem"), ("POST", "/api/v1/messages"),
      ("GET", "/api/v1/messages"), ("GET", "/api/v1/failed"), ("POST", "/api/v1/failed/retry"),
      ("POST", "/api/v1/tokens")]
KEYS = ["user_name", "contact", "contacts", "message", "time", "name", "messangers", "telegram", "label",
        "whatsApp", "viber", "to", "text", "not_before", "messengers"]
text = st.text(st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ["Artem", "test", "", "sur\ud800", "\udfff", "x" * 5000, "😀‮e\u0301", "9999-12-31T23:59:59-23:59"])
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6)
                      | st.dictionaries(st.sampled_from(KEYS) | text, inner, max_size=6), max_leaves=20)
bodies = st.dictionaries(st.sampled_from(KEYS), values, max_size=6).map(json.dumps) | values.map(json.dumps)
raw = st.binary(max_size=200)
# The bodies that once answered 500, or that a parser or store could choke on.
EXAMPLES = [
    "[" * 990 + "]" * 990,
    '{"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [' + "9" * 4301 + ", 1, 1, 0, 0, 0]}",
    '{"to": "Artem", "text": "hi", "not_before": [' + "9" * 4301 + ", 1, 1, 0, 0, 0]}",
    '{"user_name": "test", "contact": ["Artem"], "message": "hi", "time": [1e400, 1, 1, 0, 0, 0]}',
    '{"user_name": "sur\\ud800", "contact": {"name": "sur\\ud800", "messangers": {}}}',
    '{"to": "Artem", "text": "sur\\ud800"}',
    '{"name": "sur\\ud800", "telegram": "\\udfff"}',
    '{"user_name": "test", "contact": "Artem", "message": "x", "time": [9999, 12, 31, 23, 59, 59]}',
    '{"user_name": "test", "contact": "Artem", "message": "x", "time": [1, 1, 1, 0, 0, 0]}',
    '{"to": "Artem", "text": "x", "not_before": [9999, 12, 31, 23, 59, 59]}',
    '{"to": "Artem", "text": "x", "not_before": "9999-12-31T23:59:59-23:59"}',
    '{"user_name": NaN}',
    '{"label": "sur\\ud800"}',
]


@pytest.fixture
def token(stack, user_token):
    """A user named as the original bodies name theirs, with a contact, so generated sends can go."""
    token = user_token("test")
    add_contact(stack, "test", "Artem", telegram="t", viber="v")
    return token


def assert_no_500(reply):
    assert reply.status_code < 500, (reply.status_code, reply.text)
    if reply.status_code >= 400 and reply.headers.get("Content-Type", "").startswith("application/json"):
        body = reply.json()
        assert body["code"] == reply.status_code and body["message"]


def body_examples(test):
    for case in EXAMPLES:
        test = example(body=case.encode("utf-8", "surrogatepass"))(test)
    return example(body=b'{"user_name": "\xff"}')(example(body=b"\xed\xa0\x80")(test))


@pytest.mark.parametrize("method, path", ORIGINAL + V1)
@RUN
@given(body=bodies.map(str.encode) | raw)
@body_examples
def test_no_body_gets_a_500(stack, token, method, path, body):
    reply = requests.request(method, stack.api_url + path, data=body, timeout=10, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert_no_500(reply)


# Any byte a header value may carry (requests refuses leading blanks and line breaks).
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xff, exclude_characters="\x7f"),
                      max_size=60).map(lambda value: value.lstrip(" "))


@pytest.mark.parametrize("method, path", [("GET", "/api/contacts"), ("PUT", "/api/contacts"),
                                          ("POST", "/api/v1/messages"), ("GET", "/api/v1/messages")])
@RUN
@given(content_type=st.none() | header_text | st.sampled_from(
           ["application/json", "application/json; charset=latin-1", "application/json;;", "*/*"]),
       authorization=st.none() | header_text | header_text.map("Bearer ".__add__),
       key=st.none() | header_text)
@example(content_type="text/plain", authorization="Bearer \xff\xfe", key="\xe9" * 300)
@example(content_type="application/json; charset=utf-8", authorization="bearer  ", key="")
@example(content_type="multipart/form-data; boundary=", authorization="Basic dGVzdDp0ZXN0", key=None)
def test_no_header_gets_a_500(stack, token, method, path, content_type, authorization, key):
    headers = {name: value.encode("latin-1") for name, value in [
        ("Content-Type", content_type), ("Authorization", authorization), ("Idempotency-Key", key)]
        if value is not None}
    body = '{"user_name": "test", "contact": "Artem", "message": "hi", "to": "Artem", "text": "hi"}'
    reply = requests.request(method, stack.api_url + path, data=body, headers=headers, timeout=10)
    assert_no_500(reply)
