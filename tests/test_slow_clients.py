"""Slow clients cannot starve the API: nginx in front of gunicorn holds them (issue 18, item 3)."""

import contextlib
import socket
import time

import pymongo
import pytest
import requests

from core.users import UserStore

pytestmark = pytest.mark.timing

STALLED = 64
# Each request must be answered within this, stalled connections or not.
WITHIN = 1.0
PROBES = 5
HEAD = b"POST /api/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
BODY = HEAD + b"Content-Length: 4096\r\n\r\n" + b'{"user_name": "slow", "contact": {"name": '


@pytest.fixture
def shipped_stack(make_stack):
    """The stack as `make run` starts it: shipped settings, token auth, the proxy on API_PORT."""
    return make_stack(shipped=True, auth_mode="token")


@pytest.fixture
def token(shipped_stack):
    mongo = pymongo.MongoClient(shipped_stack.config.mongo_url, serverSelectionTimeoutMS=5000)
    yield UserStore(mongo[shipped_stack.config.mongo_db]).create_user("alice")
    mongo.close()


@contextlib.contextmanager
def stalled_clients(port):
    """STALLED connections stuck in their headers and STALLED stuck in their bodies, held open."""
    with contextlib.ExitStack() as held:
        clients = []
        for start in [HEAD] * STALLED + [BODY] * STALLED:
            sock = held.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            sock.sendall(start)
            clients.append(sock)
        yield clients


def still_open(sock):
    """Whether the server has neither answered nor closed this connection."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)
    return False


def timed(method, url, **kwargs):
    """A request's answer and how long it took, in seconds."""
    started = time.monotonic()
    reply = requests.request(method, url, timeout=WITHIN, **kwargs)
    return reply, time.monotonic() - started


def test_health_and_sends_answer_within_a_second_while_clients_stall(shipped_stack, token):
    url = shipped_stack.api_url
    contact = {"name": "Artem", "messangers": {"telegram": "artem", "whatsApp": "", "viber": ""}}
    with stalled_clients(shipped_stack.config.api_port) as clients:
        for _ in range(PROBES):
            health, health_took = timed("GET", f"{url}/healthz")
            assert health.status_code == 200
            added, add_took = timed("POST", f"{url}/api/contacts", json={"contact": contact},
                                    headers={"Authorization": f"Bearer {token}"})
            assert added.status_code == 200, added.text
            assert added.json() == {"success": True}
            assert health_took < WITHIN and add_took < WITHIN
        assert all(still_open(sock) for sock in clients), "the stalled clients were let go early"


def test_the_same_stalls_straight_at_gunicorn_starve_it(shipped_stack):
    # What the proxy is for: without it, the stalled clients hold every thread.
    assert requests.get(f"http://127.0.0.1:{shipped_stack.api_backend_port}/healthz", timeout=WITHIN).ok
    with stalled_clients(shipped_stack.api_backend_port):
        with pytest.raises(requests.Timeout):
            requests.get(f"http://127.0.0.1:{shipped_stack.api_backend_port}/healthz", timeout=WITHIN)
