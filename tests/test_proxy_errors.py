"""The proxy's entry answers every malformed request in the API's JSON shape, never a 5xx (issue 33, item 9).

Sent over raw sockets, as a client library would refuse to: control bytes
and odd encodings in the path, long request lines, many and long headers.
Before, 54 of these 141 cases got nginx's HTML 500 (an error page in a
named location has no URI to carry for a request nginx could not read), and
14 more an HTML 400, 414 or 431 from nginx or gunicorn.
"""

import json
import socket
from http import HTTPStatus

import pytest

from api import SECURITY_HEADERS
from conftest import stack_config, token_for
from stack import Stack

# Every control byte but LF, which ends the request line (the rest is then
# a request of HTTP/0.9, whose answer has no status line to check).
CONTROL = [byte for byte in range(0x20) if byte != 0x0A]
ENCODINGS = [b"/%", b"/%zz", b"/%c0%af", b"/%e0%80%af", b"/%c0%ae%c0%ae/", b"/..%2f..%2fetc/passwd",
             b"/%2e%2e/%2e%2e/", b"/\xc0\xaf", b"/\xe0\x80\xaf", b"/\xff", b"/%u0000", b"/api/%00/x",
             b"/a%00?x=1", b"/healthz%00", b"/api/v1/contacts/%", b"/api/contacts%00", b"/flower/%00",
             b"//", b"*", b"http://x/%00", b"/api/v1/me?%00=%zz", b"/__errors/400"]
KB = 1024


def get(target, headers=b""):
    """A GET of target with these header lines, closing the connection after the answer."""
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n"


CASES = {
    **{f"%{byte:02X}": get(b"/%%%02X" % byte) for byte in range(0x20)},
    **{f"contact %{byte:02X}": get(b"/api/v1/contacts/a%%%02Xb" % byte) for byte in range(0x20)},
    **{f"raw {byte:02x}": get(b"/a" + bytes([byte]) + b"b") for byte in CONTROL},
    **{f"encoding {target!r}": get(target) for target in ENCODINGS},
    **{f"line {size} KB": get(b"/" + b"a" * (size * KB)) for size in (4, 8, 16, 64)},
    **{f"query {size} KB": get(b"/api/v1/me?q=" + b"a" * (size * KB)) for size in (4, 8, 16, 64)},
    **{f"{count} headers": get(b"/api/v1/me", b"".join(b"X-H%d: v\r\n" % i for i in range(count)))
       for count in (100, 101, 1000)},
    **{f"header {size} KB": get(b"/api/v1/me", b"X-Long: " + b"a" * (size * KB) + b"\r\n")
       for size in (8, 16, 64)},
    "40 headers of 4 KB": get(b"/api/v1/me",
                              b"".join(b"X-L%d: %s\r\n" % (i, b"a" * 4000) for i in range(40))),
    "control byte in a header": get(b"/api/v1/me", b"X-A: a\x01b\r\n"),
    "two content types": get(b"/api/v1/me", b"Content-Type: a/b\r\nContent-Type: c/d\r\n"),
    "header without a colon": get(b"/api/v1/me", b"NoColon\r\n"),
    "method with a NUL": b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "TLS hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",
    "TRACE": b"TRACE /api/contacts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "no Host": b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    "bad chunk": (b"POST /api/v1/contacts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Connection: close\r\n\r\nzz\r\n"),
    "negative length": b"POST /api/v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
}


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    """The proxy in front of the API, as shipped in token mode (no workers: nothing is sent)."""
    config = stack_config(tmp_path_factory.mktemp("proxy-errors"), shipped=True, auth_mode="token")
    with Stack(config, ("redis", "mongo", "api"), memory_mongo=True) as running:
        yield running


def exchange(port, request):
    """Send raw bytes to 127.0.0.1:port and read to the end: (status, {header: value}, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), answer[:200]
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def assert_json_error(status, headers, body):
    """The answer is JSON in the API's error shape (or the API's own JSON), with the security headers."""
    assert headers["content-type"] == "application/json", (status, headers, body[:200])
    parsed = json.loads(body)
    assert parsed["code"] == status and parsed["status"] == HTTPStatus(status).phrase and parsed["message"]
    for name, value in SECURITY_HEADERS.items():
        assert headers[name.lower()] == value


@pytest.mark.parametrize("request_bytes", CASES.values(), ids=CASES.keys())
def test_no_malformed_request_gets_a_5xx_or_anything_but_json(entry, request_bytes):
    status, headers, body = exchange(entry.config.api_port, request_bytes)
    assert 400 <= status < 500, (status, body[:200])
    assert_json_error(status, headers, body)


@pytest.mark.parametrize("request_bytes, status", [
    (get(b"/%00"), 400),
    (get(b"/a\x01b"), 400),
    (get(b"/" + b"a" * (8 * KB)), 414),
    (get(b"/api/v1/me", b"X-Long: " + b"a" * (8 * KB) + b"\r\n"), 431),
    (get(b"/api/v1/me", b"".join(b"X-L%d: %s\r\n" % (i, b"a" * 4000) for i in range(40))), 431),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
])
def test_nginx_answers_its_own_refusals_with_their_codes(entry, request_bytes, status):
    answer = exchange(entry.config.api_port, request_bytes)
    assert answer[0] == status
    assert_json_error(*answer)


def line_of(length, headers=b""):
    """A GET whose request line is `length` bytes long."""
    target = b"/api/v1/me?q="
    return get(target + b"a" * (length - len(b"GET  HTTP/1.1") - len(target)), headers)


def test_what_nginx_passes_on_gets_past_gunicorns_limits(entry):
    # gunicorn refused a line over 4 KB and a 101st header in HTML; now
    # whatever nginx takes reaches the API, and one byte more is nginx's JSON.
    port = entry.config.api_port
    bearer = b"Authorization: Bearer %s\r\n" % token_for(entry, "limits").encode()
    longest = line_of(8190, bearer)
    assert len(longest.split(b"\r\n")[0]) == 8190
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(900))
    for request_bytes in (longest, get(b"/api/v1/me", bearer + many),
                          get(b"/api/v1/me", bearer + b"X-Long: " + b"a" * 8182 + b"\r\n")):
        status, headers, body = exchange(port, request_bytes)
        assert status == 200 and json.loads(body)["user"] == "limits"
    assert exchange(port, line_of(8191, bearer))[0] == 414
    assert exchange(port, get(b"/api/v1/me", bearer + b"X-Long: " + b"a" * 8184 + b"\r\n"))[0] == 431


def test_gunicorns_own_refusals_are_json_too(entry):
    # Straight to gunicorn, as nginx passes these on: they are refused before the app.
    port = entry.api_backend_port
    for request_bytes, message in ((get(b"/api/v1/me", b"X-A: a\x01b\r\n"), "Invalid HTTP Header: 'X-A'"),
                                   (get(b"/a\xffb"), "Invalid Request Line")):
        status, headers, body = exchange(port, request_bytes)
        assert status == 400
        assert_json_error(status, headers, body)
        assert json.loads(body)["message"].startswith(message)
