"""Signing in to the web console and out of it: passwords, pasted tokens, sessions, CSRF, headers, isolation.

A real stack (gunicorn behind nginx, token mode, 50 requests a second), a real
headless Chromium for what a person does, and plain HTTP for what a browser
never would (a form without its token, a cookie kept after sign-out).
"""

import re

import pytest
import redis
import requests
from selenium.webdriver.common.by import By

from conftest import reset
from core.quotas import SIGNIN_BURST
from fixtures_browser import (
    CSRF_META,
    SIGNIN_CSRF,
    console_stack,
    console_user,
    http_session,
    sign_in,
    sign_in_with_token,
    visible,
)

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-signin") as stack:
        yield stack


@pytest.fixture(autouse=True)
def clean(running):
    reset(running)


def signin_form(session, base):
    page = session.get(base + "/app/login", timeout=10)
    return SIGNIN_CSRF.search(page.text).group(1)


def test_a_person_signs_in_with_a_password_sees_their_name_and_signs_out(running, browser):
    console_user(running)
    sign_in(browser, running.api_url)
    assert browser.current_url.endswith("/app/messages")
    assert "alice" in browser.find_element(By.CSS_SELECTOR, "header.top .signout").text
    browser.find_element(By.ID, "sign-out").click()
    visible(browser, "#signin-form")
    browser.get(running.api_url + "/app/messages")
    assert "/app/login" in browser.current_url


def test_a_pasted_api_token_signs_in_too(running, browser):
    sign_in_with_token(browser, running.api_url, console_user(running))
    assert browser.current_url.endswith("/app/messages")


def test_a_wrong_password_is_named_and_nothing_is_signed_in(running, browser):
    console_user(running)
    browser.delete_all_cookies()
    sign_in_attempt = running.api_url + "/app/login"
    browser.get(sign_in_attempt)
    browser.find_element(By.ID, "username").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.ID, "sign-in").click()
    assert visible(browser, "#signin-error").text == "Wrong user name or password."
    assert browser.get_cookie("dispatcher_session") is None


def test_the_session_cookie_is_httponly_strict_and_lasts_the_shipped_eight_hours(running):
    console_user(running)
    session = requests.Session()
    csrf = signin_form(session, running.api_url)
    answer = session.post(running.api_url + "/app/login", allow_redirects=False, timeout=30,
                          data={"csrf_token": csrf, "username": "alice", "password": PASSWORD})
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("dispatcher_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    # Served over plain HTTP here, so not Secure (a browser would drop a Secure cookie on http://).
    assert "Secure" not in cookie
    assert re.search(r"Max-Age=28800\b", cookie)
    store = redis.Redis.from_url(running.config.redis_url, decode_responses=True)
    keys = store.keys("md:console-session:*")
    assert len(keys) == 1
    assert 28790 <= store.ttl(keys[0]) <= 28800
    # Only the id's hash is kept: the cookie's value is not in Redis.
    value = session.cookies["dispatcher_session"]
    assert value not in keys[0] and value not in str(store.hgetall(keys[0]))


def test_signing_out_ends_the_session_on_the_server_so_a_kept_cookie_signs_in_no_one(running):
    console_user(running)
    session = http_session(running.api_url)
    kept = session.cookies["dispatcher_session"]
    assert session.get(running.api_url + "/api/v1/me", timeout=10).json()["user"] == "alice"
    page = session.get(running.api_url + "/app/messages", timeout=10)
    out = session.post(running.api_url + "/app/logout", timeout=10, allow_redirects=False,
                       data={"csrf_token": CSRF_META.search(page.text).group(1)})
    assert out.status_code == 302
    thief = requests.Session()
    thief.cookies.set("dispatcher_session", kept)
    assert thief.get(running.api_url + "/api/v1/me", timeout=10).status_code == 401
    page = thief.get(running.api_url + "/app/messages", timeout=10, allow_redirects=False)
    assert page.status_code == 302 and "/app/login" in page.headers["Location"]


@pytest.mark.parametrize("path", ["/app/login", "/app/logout", "/api/v1/contacts"])
def test_a_form_posted_without_its_csrf_token_gets_a_403_and_changes_nothing(running, path):
    console_user(running)
    session = http_session(running.api_url)
    session.headers.pop("X-CSRF-Token")
    if path == "/api/v1/contacts":
        answer = session.post(running.api_url + path, json={"name": "Ann", "telegram": "1"}, timeout=10)
    else:
        answer = session.post(running.api_url + path, timeout=10, allow_redirects=False,
                              data={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    # Still signed in (the sign-out did not happen), and no contact was written.
    me = session.get(running.api_url + "/api/v1/contacts", timeout=10)
    assert me.status_code == 200 and me.json() == []


def test_a_wrong_csrf_token_is_refused_as_a_missing_one_is(running):
    console_user(running)
    session = http_session(running.api_url)
    session.headers["X-CSRF-Token"] = "x" * 43
    answer = session.post(running.api_url + "/api/v1/contacts", json={"name": "Ann", "telegram": "1"}, timeout=10)
    assert answer.status_code == 403
    assert answer.json()["errors"] == {"form": {"csrf_token": ["Missing or wrong."]}}


def test_wrong_passwords_to_one_name_are_limited_and_then_even_the_right_one_waits(running):
    console_user(running)
    session = requests.Session()
    codes = []
    for _ in range(SIGNIN_BURST + 2):
        csrf = signin_form(session, running.api_url)
        codes.append(session.post(running.api_url + "/app/login", allow_redirects=False, timeout=30, data={
            "csrf_token": csrf, "username": "alice", "password": "guess " * 3}).status_code)
    assert codes[:SIGNIN_BURST] == [401] * SIGNIN_BURST
    assert codes[SIGNIN_BURST:] == [429, 429]
    csrf = signin_form(session, running.api_url)
    right = session.post(running.api_url + "/app/login", allow_redirects=False, timeout=30, data={
        "csrf_token": csrf, "username": "alice", "password": PASSWORD})
    assert right.status_code == 429
    assert "Too many sign-ins to this name" in right.text
    assert int(right.headers["Retry-After"]) > 0
    assert "dispatcher_session" not in session.cookies


def test_a_revoked_token_ends_the_console_session_it_signed_in(running):
    token = console_user(running)
    api = running.api_url
    session = requests.Session()
    csrf = signin_form(session, api)
    assert session.post(api + "/app/login", allow_redirects=False, timeout=30,
                        data={"csrf_token": csrf, "token": token}).status_code == 302
    assert session.get(api + "/api/v1/me", timeout=10).status_code == 200
    token_id = requests.get(api + "/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).json()["token_id"]
    other = requests.post(api + "/api/v1/tokens", json={"label": "admin"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["token"]
    requests.delete(f"{api}/api/v1/tokens/{token_id}", headers={"Authorization": f"Bearer {other}"},
                    timeout=10).raise_for_status()
    assert session.get(api + "/api/v1/me", timeout=10).status_code == 401
    # The console says why it signed the person out.
    page = session.get(api + "/app/messages", timeout=10)
    assert "/app/login" in page.url and "ended=revoked" in page.url
    assert "the API token this session signed in with was revoked" in page.text


def test_console_pages_forbid_inline_script_frames_and_referrers(running):
    console_user(running)
    session = http_session(running.api_url)
    for path in ("/app/login", "/app/messages"):
        headers = session.get(running.api_url + path, timeout=10).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"


def test_another_users_message_is_a_404_in_the_console(running):
    console_user(running)
    bob = console_user(running, "bob")
    api = running.api_url
    as_bob = {"Authorization": f"Bearer {bob}"}
    requests.post(api + "/api/v1/contacts", headers=as_bob, json={"name": "Ann", "telegram": "1"},
                  timeout=10).raise_for_status()
    sent = requests.post(api + "/api/v1/messages", headers=as_bob, json={"text": "bob's", "to": ["Ann"]}, timeout=10)
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["id"]
    session = http_session(api)
    assert session.get(f"{api}/app/messages/{message_id}", timeout=10).status_code == 404
    assert session.get(f"{api}/api/v1/messages/{message_id}", timeout=10).status_code == 404
    assert http_session(api, "bob").get(f"{api}/app/messages/{message_id}", timeout=10).status_code == 200


def test_a_next_page_outside_the_console_is_not_followed(running):
    console_user(running)
    session = requests.Session()
    csrf = signin_form(session, running.api_url)
    answer = session.post(running.api_url + "/app/login", allow_redirects=False, timeout=30, data={
        "csrf_token": csrf, "username": "alice", "password": PASSWORD, "next": "//evil.example/app/"})
    assert answer.headers["Location"].endswith("/app/messages")


def test_over_https_through_a_trusted_proxy_the_cookie_is_secure_too(running):
    # As a TLS-ending proxy in TRUSTED_PROXIES would: straight to gunicorn from loopback, saying https.
    console_user(running)
    backend = next(p.spec.url for p in running.processes if p.name == "api")
    session = requests.Session()
    csrf = signin_form(session, backend)
    answer = session.post(backend + "/app/login", allow_redirects=False, timeout=30,
                          headers={"X-Forwarded-Proto": "https"},
                          data={"csrf_token": csrf, "username": "alice", "password": PASSWORD})
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("dispatcher_session=") and "; Secure" in cookie


def test_console_pages_count_against_the_users_request_limit_as_a_token_does(make_stack):
    # A limit of 3 at once and one more every 20 s: a session spends it as one token of its user would.
    stack = make_stack(auth_mode="token", api_rate=0.05, api_burst=3)
    console_user(stack)
    session = http_session(stack.api_url)  # its first page read counts: one of 3
    codes = [session.get(stack.api_url + "/app/messages", timeout=10).status_code for _ in range(3)]
    assert codes[:2] == [200, 200] and codes[2] == 429
    assert int(session.get(stack.api_url + "/app/messages", timeout=10).headers["Retry-After"]) >= 1
    # The API under the same session is refused alike.
    refused = session.get(stack.api_url + "/api/v1/me", timeout=10)
    assert refused.status_code == 429 and "Too many requests with this token" in refused.text
