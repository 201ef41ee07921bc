"""AUTH_MODE=none stays safe enough: JSON bodies only (no cross-site form posts), and a warning
when it listens beyond loopback."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import requests

from api.gunicorn_conf import beyond_loopback
from apiclient import add_contact
from helpers import free_ports, wait_until
from stack.specs import SCRIPTS
from test_validation import store_snapshot

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = [("POST", "/api/contacts"), ("DELETE", "/api/contacts"), ("PUT", "/api/contacts"),
             ("GET", "/api/contacts"), ("GET", "/api/get_failed_mess")]
BODY = '{"user_name": "test", "contact": "Artem", "message": "hi"}'


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None,
    "application/jsonx", "text/json"])
@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_the_original_endpoints_take_only_json(stack, method, path, content_type):
    add_contact(stack, "test", "Artem", telegram="t1")
    before = store_snapshot(stack)
    headers = {"Content-Type": content_type} if content_type else {}
    reply = requests.request(method, stack.api_url + path, data=BODY.encode(), headers=headers, timeout=10)
    assert reply.status_code == 415, reply.text
    body = reply.json()
    assert body["success"] is False and body["code"] == 415
    assert "Content-Type" in body["errors"]["headers"]
    assert store_snapshot(stack) == before


def test_the_original_examples_send_the_json_content_type():
    # The original API guide's copies of the original document's five requests.
    text = (ROOT / "docs" / "guides" / "original-api.md").read_text()
    curls = [line for line in text.splitlines() if re.search(r"\bcurl\b.*--data", line)]
    assert {re.search(r"--request (\w+)", line).group(1) for line in curls} == {"POST", "GET", "PUT", "DELETE"}
    assert len(curls) >= 5
    assert all('--header "Content-Type: application/json"' in line for line in curls)


@pytest.mark.parametrize("addresses, reachable", [
    ([("127.0.0.1", 8080)], []),
    ([("::1", 8080), ("localhost", 8080), ("127.0.0.2", 1), "/run/api.sock"], []),
    ([("0.0.0.0", 8080)], ["0.0.0.0:8080"]),
    ([("127.0.0.1", 1), ("::", 2), ("api.example", 3), 5], [":::2", "api.example:3", "fd://5"]),
])
def test_which_binds_other_hosts_reach(addresses, reachable):
    assert beyond_loopback(addresses) == reachable


def start_gunicorn(tmp_path, bind, auth_mode):
    """gunicorn with the API's hooks; its stderr is read until a worker boots, then it stops."""
    redis_port, mongo_port = free_ports(2)
    env = {**os.environ, "AUTH_MODE": auth_mode, "REDIS_PORT": str(redis_port), "MONGO_PORT": str(mongo_port)}
    env.pop("REDIS_URL", None)
    env.pop("MONGO_URL", None)
    log = tmp_path / f"gunicorn-{auth_mode}.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [str(SCRIPTS / "gunicorn"), "--config", "python:api.gunicorn_conf", "--bind", bind,
             "--workers", "1", "--no-control-socket", "api:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_until(lambda: "Booting worker" in log.read_text(), timeout=20, message="worker booted")
    finally:
        process.terminate()
        process.wait(timeout=20)
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_none_mode_beyond_loopback_warns_at_start(tmp_path):
    [port] = free_ports(1)
    events = start_gunicorn(tmp_path, f"0.0.0.0:{port}", "none")
    [warning] = [e for e in events if e["event"] == "auth.none_beyond_loopback"]
    assert warning["level"] == "warning"
    assert warning["binds"] == [f"0.0.0.0:{port}"]
    assert "AUTH_MODE=token" in warning["hint"]


@pytest.mark.parametrize("host, auth_mode", [("127.0.0.1", "none"), ("0.0.0.0", "token")])
def test_no_warning_on_loopback_or_with_tokens(tmp_path, host, auth_mode):
    [port] = free_ports(1)
    events = start_gunicorn(tmp_path, f"{host}:{port}", auth_mode)
    assert not [e for e in events if e["event"] == "auth.none_beyond_loopback"]
