"""A small HTTP server standing in for the API, and a fake gateway process calling it back.

A plugin (conftest.py's `pytest_plugins`) for the fake gateway's receipt and
people tests: each module that requests `gateway` gets its own pair.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import running_gateway


class Receiver(ThreadingHTTPServer):
    """An HTTP server keeping every POST it gets, answering the statuses queued, then 200."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Catch)
        self.calls = []
        self.answers = []
        self.lock = threading.Lock()

    @property
    def url(self):
        """Its base URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def take(self, handler, raw):
        """Keep one request; the status to answer it with."""
        with self.lock:
            self.calls.append({"path": handler.path, "headers": dict(handler.headers), "raw": raw,
                               "body": json.loads(raw), "time": time.time()})
            return self.answers.pop(0) if self.answers else 200

    def reset(self):
        """Forget the calls and the answers queued."""
        with self.lock:
            self.calls.clear()
            self.answers.clear()


class Catch(BaseHTTPRequestHandler):
    """Hands each POST to the Receiver."""

    def do_POST(self):
        """Answer with the status the receiver says."""
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.server.take(self, raw)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        """Quiet."""


@pytest.fixture(scope="module")
def receiver():
    """The stand-in API, served from a thread of the test process."""
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, receiver):
    """A fake gateway process whose receipts go to the receiver."""
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with running_gateway(log, {"GATEWAY_RECEIPTS_URL": receiver.url + "/"}) as url:
        yield url
