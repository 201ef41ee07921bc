"""The console's Schedules, Webhooks, Tokens and Inbox pages: made, shown, acted on, and each user's own.

A real stack at shipped settings on the messengers' real APIs (token auth,
Telegram's webhook set, private webhook targets allowed so a receiver in
this process can be one), a real headless Chromium for what a person does,
plain HTTP for what the server must refuse, and the API itself to check
what really happened. Texts reach the inbox the real way: the fake
gateway's simulated people write to the bot.
"""

import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
import requests
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from apiclient import v1
from fixtures_browser import WAIT, console_user, http_session, sign_in, sign_in_with_token, visible, wait_for
from helpers import wait_until
from people import act, fresh, handled, people_stack

PAGES = ("/app/schedules", "/app/webhooks", "/app/tokens", "/app/inbox")
# The inbox's page size (api/web/inbox.py).
INBOX_PAGE = 50


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with people_stack(tmp_path_factory, "console-settings", webhook_allow_private=True) as running:
        yield running


@pytest.fixture(autouse=True)
def clean(running, receiver):
    fresh(running)
    receiver.reset()


def until(driver, check, timeout=WAIT):
    """Wait until check(driver) is truthy, through the page reloads a form's answer makes; its value."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(NoSuchElementException,
                                                              StaleElementReferenceException)).until(check)


def accept_confirm(driver):
    """Say yes to the confirm dialog the button opened; its question."""
    alert = wait_for(driver, expected_conditions.alert_is_present())
    question = alert.text
    alert.accept()
    return question


def ok(answer, status=200):
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def add_contact(running, token, name, telegram):
    ok(v1(running, token, "POST", "/contacts", {"name": name, "telegram": telegram}), 201)


def row(driver, data, value):
    return driver.find_element(By.CSS_SELECTOR, f'tr[data-{data}="{value}"]')


class Cells(HTMLParser):
    """The text of each table cell of one data-label in a page, and the form fields and labels."""

    def __init__(self, label=None):
        super().__init__()
        self.label, self.cells, self.inside = label, [], False
        self.fields, self.labelled = [], set()

    @classmethod
    def of(cls, html, label):
        parser = cls(label)
        parser.feed(html)
        return [text.strip() for text in parser.cells]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and attrs.get("data-label") == self.label:
            self.inside = True
            self.cells.append("")
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.fields.append(attrs.get("id"))
        if tag == "label" and attrs.get("for"):
            self.labelled.add(attrs["for"])

    def handle_endtag(self, tag):
        if tag == "td":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.cells[-1] += data


# Schedules


def test_a_schedule_is_added_listed_paused_resumed_and_deleted(running, browser):
    token = console_user(running)
    add_contact(running, token, "Artem", "4242")
    sign_in(browser, running.api_url)
    browser.get(running.api_url + "/app/schedules")
    assert visible(browser, "#no-schedules").text.startswith("No schedules yet")
    browser.find_element(By.ID, "schedule-text").send_keys("Weekly report 📈 週報")
    browser.find_element(By.ID, "schedule-to").send_keys("Artem")
    browser.find_element(By.ID, "schedule-messenger-telegram").click()
    browser.find_element(By.ID, "schedule-cron").send_keys("0 9 * * MON")
    Select(browser.find_element(By.ID, "schedule-timezone")).select_by_visible_text("Europe/Helsinki")
    browser.find_element(By.ID, "add-schedule-button").click()

    [made] = wait_until(lambda: ok(v1(running, token, "GET", "/schedules")), timeout=WAIT, message="a schedule")
    assert made["send"] == {"to": ["Artem"], "text": "Weekly report 📈 週報", "template": False,
                            "messengers": ["telegram"]}
    assert (made["cron"], made["timezone"], made["paused"]) == ("0 9 * * MON", "Europe/Helsinki", False)
    listed = until(browser, lambda d: row(d, "schedule", made["id"]))
    cells = {td.get_attribute("data-label"): td for td in listed.find_elements(By.TAG_NAME, "td")}
    assert cells["When"].text == "0 9 * * MON" and cells["Time zone"].text == "Europe/Helsinki"
    assert cells["Text"].text == "Weekly report 📈 週報" and cells["To"].text == "Artem"
    assert cells["Next run"].find_element(By.TAG_NAME, "time").get_attribute("datetime") == made["next_run_at"]
    assert cells["State"].text == "Active"

    listed.find_element(By.XPATH, ".//button[text()='Pause']").click()
    until(browser, lambda d: "Paused" in row(d, "schedule", made["id"]).text)
    paused = ok(v1(running, token, "GET", f"/schedules/{made['id']}"))
    assert paused["paused"] is True and paused["next_run_at"] is None
    assert "none while paused" in row(browser, "schedule", made["id"]).text

    row(browser, "schedule", made["id"]).find_element(By.XPATH, ".//button[text()='Resume']").click()
    until(browser, lambda d: "Active" in row(d, "schedule", made["id"]).text)
    resumed = ok(v1(running, token, "GET", f"/schedules/{made['id']}"))
    assert resumed["paused"] is False and resumed["next_run_at"]

    row(browser, "schedule", made["id"]).find_element(By.XPATH, ".//button[text()='Delete']").click()
    assert "0 9 * * MON" in accept_confirm(browser)
    visible(browser, "#no-schedules")
    assert ok(v1(running, token, "GET", "/schedules")) == []
    assert v1(running, token, "GET", f"/schedules/{made['id']}").status_code == 404


def test_a_bad_cron_expression_shows_the_apis_error_beside_the_field(running, browser):
    token = console_user(running)
    add_contact(running, token, "Artem", "4242")
    body = {"text": "Hi", "to": ["Artem"], "cron": "every monday", "template": False}
    refused = v1(running, token, "POST", "/schedules", body)
    assert refused.status_code == 422
    [said] = refused.json()["errors"]["json"]["cron"]

    sign_in(browser, running.api_url)
    browser.get(running.api_url + "/app/schedules")
    browser.find_element(By.ID, "schedule-text").send_keys("Hi")
    browser.find_element(By.ID, "schedule-to").send_keys("Artem")
    browser.find_element(By.ID, "schedule-cron").send_keys("every monday")
    browser.find_element(By.ID, "add-schedule-button").click()
    error = visible(browser, "#schedule-cron + .field-error")
    assert error.text == said
    cron = browser.find_element(By.ID, "schedule-cron")
    assert cron.get_attribute("aria-invalid") == "true"
    assert cron.get_attribute("aria-describedby") == error.get_attribute("id")
    assert ok(v1(running, token, "GET", "/schedules")) == []


# Webhooks


def signed_by(secret, call) -> bool:
    """Whether a post the receiver got is signed with this secret, as a receiver checks."""
    parts = dict(item.split("=", 1) for item in call["headers"]["X-Dispatcher-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + call["raw"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def attempts_shown(driver):
    """The attempts a webhook's page lists, newest first: each one's cells by label, and its event id."""
    return [{"event": tr.get_attribute("data-event"),
             **{td.get_attribute("data-label"): td.text for td in tr.find_elements(By.TAG_NAME, "td")}}
            for tr in driver.find_elements(By.CSS_SELECTOR, "#attempts-table tbody tr")]


def test_a_webhook_is_added_its_secret_shown_once_tested_and_its_attempts_listed(running, browser, receiver):
    token = console_user(running)
    sign_in(browser, running.api_url)
    browser.get(running.api_url + "/app/webhooks")
    visible(browser, "#no-webhooks")
    browser.find_element(By.ID, "webhook-url").send_keys("ftp://example.com/hooks")
    browser.find_element(By.ID, "add-webhook-button").click()
    assert visible(browser, "#webhook-url + .field-error").text
    assert ok(v1(running, token, "GET", "/webhooks")) == []

    url = receiver.url + "/hooks/dispatcher"
    field = browser.find_element(By.ID, "webhook-url")
    field.clear()
    field.send_keys(url)
    browser.find_element(By.XPATH, "//label[code='delivery.failed']").click()
    browser.find_element(By.ID, "add-webhook-button").click()
    secret = visible(browser, "#shown-once-value").get_attribute("value")
    assert secret.startswith("whsec_")
    assert "will not be shown again" in browser.find_element(By.ID, "shown-once").text
    [made] = ok(v1(running, token, "GET", "/webhooks"))
    assert (made["url"], made["events"]) == (url, ["delivery.failed"]) and "secret" not in made
    link = until(browser, lambda d: row(d, "webhook", made["id"]).find_element(By.TAG_NAME, "a"))
    assert link.text == url
    browser.refresh()
    assert secret not in browser.page_source

    link = row(browser, "webhook", made["id"]).find_element(By.TAG_NAME, "a")
    link.click()
    visible(browser, "#no-attempts")
    browser.find_element(By.ID, "test-webhook-button").click()
    [first] = until(browser, attempts_shown)
    assert (first["Status code"], first["Outcome"], first["Error"], first["Try"]) == ("200", "delivered", "none", "1")
    assert "webhook.test" in first["Event"]
    assert "status 200" in visible(browser, "#notice").text
    [call] = receiver.calls
    assert call["path"] == "/hooks/dispatcher" and call["body"]["type"] == "webhook.test"
    assert call["body"]["id"] == first["event"]
    assert signed_by(secret, call)

    # The receiver fails the next post: its attempt shows the status and the error (a retry follows).
    receiver.answers.append(500)
    browser.find_element(By.ID, "test-webhook-button").click()
    failed = until(browser, lambda d: next((a for a in attempts_shown(d)
                                            if a["event"] != first["event"] and a["Try"] == "1"), None))
    assert (failed["Status code"], failed["Outcome"]) == ("500", "retrying") and "500" in failed["Error"]
    assert "status 500, retrying" in visible(browser, "#notice.error").text
    logged = ok(v1(running, token, "GET", f"/webhooks/{made['id']}/attempts"))
    assert {(a["status"], a["outcome"]) for a in logged if a["event_id"] == failed["event"]
            and a["attempt"] == 1} == {(500, "retrying")}

    browser.find_element(By.ID, "delete-webhook").click()
    assert url in accept_confirm(browser)
    visible(browser, "#no-webhooks")
    assert browser.current_url.endswith("/app/webhooks")
    assert ok(v1(running, token, "GET", "/webhooks")) == []


# Tokens


def test_a_token_made_on_the_page_is_shown_once_works_and_is_refused_once_revoked(running, browser):
    console_user(running)
    sign_in(browser, running.api_url)
    browser.get(running.api_url + "/app/tokens")
    browser.find_element(By.ID, "token-label").send_keys("reports script 📊")
    browser.find_element(By.ID, "token-days").send_keys("30")
    browser.find_element(By.ID, "make-token-button").click()
    token = visible(browser, "#shown-once-value").get_attribute("value")
    assert "will not be shown again" in browser.find_element(By.ID, "shown-once").text
    me = ok(requests.get(running.api_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10))
    assert me["user"] == "alice"
    browser.find_element(By.ID, "copy-once").click()
    until(browser, lambda d: d.find_element(By.ID, "notice").text == "Copied to the clipboard.")
    pasted = browser.find_element(By.ID, "token-label")
    pasted.send_keys(Keys.CONTROL, "v")
    assert pasted.get_attribute("value") == token
    pasted.clear()

    listed = until(browser, lambda d: row(d, "token", me["token_id"]))
    cells = {td.get_attribute("data-label"): td for td in listed.find_elements(By.TAG_NAME, "td")}
    assert cells["Label"].text == "reports script 📊" and cells["Id"].text == me["token_id"]
    expires = cells["Expires"].find_element(By.TAG_NAME, "time").get_attribute("datetime")
    assert abs(datetime.fromisoformat(expires) - datetime.now(timezone.utc) - timedelta(days=30)) < timedelta(minutes=5)
    browser.refresh()
    assert token not in browser.page_source

    row(browser, "token", me["token_id"]).find_element(By.TAG_NAME, "button").click()
    assert "reports script 📊" in accept_confirm(browser)
    until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'tr[data-token="{me["token_id"]}"]'))
    assert requests.get(running.api_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code == 401
    # Still signed in by password: the page and its other token remain.
    assert browser.current_url.endswith("/app/tokens") and browser.find_elements(By.CSS_SELECTOR, "tr[data-token]")


def test_revoking_the_token_the_session_signed_in_with_lands_on_the_sign_in_page_saying_so(running, browser):
    token = console_user(running)
    sign_in_with_token(browser, running.api_url, token)
    browser.get(running.api_url + "/app/tokens")
    [mine] = browser.find_elements(By.CSS_SELECTOR, "tr[data-token]")
    assert "this session signed in with it" in mine.text
    mine.find_element(By.TAG_NAME, "button").click()
    assert "signs you out" in accept_confirm(browser)
    ended = visible(browser, "#signin-ended")
    assert "token this session signed in with was revoked" in ended.text
    assert "/app/login" in browser.current_url and browser.find_elements(By.ID, "sign-out") == []
    assert requests.get(running.api_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code == 401
    browser.get(running.api_url + "/app/tokens")
    assert "/app/login" in browser.current_url


# Inbox


def written(running, token, count):
    """Wait until the user's inbox holds `count` texts; them, oldest first."""
    return wait_until(lambda: len(found := ok(v1(running, token, "GET", "/inbox"))) == count and found,
                      timeout=WAIT, message=f"{count} texts in the inbox")


def test_the_inbox_shows_what_contacts_wrote_newest_first_with_emoji_and_cjk(running, browser):
    token = console_user(running)
    add_contact(running, token, "Артём Ström", "4242")
    act(running, "telegram/start", chat_id=4242)
    act(running, "telegram/text", chat_id=4242, text="Привет 👋 你好，世界")
    act(running, "telegram/text", chat_id=4242, text="second line\nthen 🎉 終わり")
    handled(running)
    kept = written(running, token, 2)

    sign_in(browser, running.api_url)
    browser.get(running.api_url + "/app/inbox")
    rows = browser.find_elements(By.CSS_SELECTOR, "#inbox tbody tr")
    assert [r.get_attribute("data-text") for r in rows] == [kept[1]["id"], kept[0]["id"]]
    cells = [{td.get_attribute("data-label"): td.text for td in r.find_elements(By.TAG_NAME, "td")} for r in rows]
    assert [c["Text"] for c in cells] == ["second line\nthen 🎉 終わり", "Привет 👋 你好，世界"]
    assert {c["Contact"] for c in cells} == {"Артём Ström"}
    assert {c["Messenger"] for c in cells} == {"Telegram 4242"}


def test_the_inbox_is_paged_newest_first(running):
    token = console_user(running)
    add_contact(running, token, "Artem", "4242")
    act(running, "telegram/start", chat_id=4242)
    for n in range(INBOX_PAGE + 2):
        act(running, "telegram/text", chat_id=4242, text=f"text {n}")
    handled(running)
    written(running, token, INBOX_PAGE + 2)
    session = http_session(running.api_url)

    def texts(page):
        html = session.get(f"{running.api_url}/app/inbox?page={page}", timeout=10)
        assert html.status_code == 200
        return Cells.of(html.text, "Text")

    assert texts(1) == [f"text {n}" for n in range(INBOX_PAGE + 1, 1, -1)]
    assert texts(2) == ["text 1", "text 0"]
    assert f"Page 2 of 2 ({INBOX_PAGE + 2})" in session.get(f"{running.api_url}/app/inbox?page=2", timeout=10).text


# Every user's own


def test_another_users_schedule_webhook_token_and_texts_are_not_shown_and_their_ids_are_404(running, receiver):
    console_user(running)
    bob = console_user(running, "bob")
    add_contact(running, bob, "Boris", "777")
    schedule = ok(v1(running, bob, "POST", "/schedules",
                     {"text": "weekly for Boris", "to": ["Boris"], "cron": "0 9 * * *"}), 201)
    webhook = ok(v1(running, bob, "POST", "/webhooks",
                    {"url": receiver.url + "/bob", "events": ["delivery.failed"]}), 201)
    bobs_token = ok(v1(running, bob, "POST", "/tokens", {"label": "bobs script"}), 201)
    act(running, "telegram/start", chat_id=777)
    act(running, "telegram/text", chat_id=777, text="for bob only")
    handled(running)
    written(running, bob, 1)

    api, session, as_bob = running.api_url, http_session(running.api_url), http_session(running.api_url, "bob")
    shown = {"/app/schedules": (schedule["id"], "weekly for Boris"), "/app/webhooks": (webhook["id"], receiver.url),
             "/app/tokens": (bobs_token["id"], "bobs script"), "/app/inbox": ("for bob only",)}
    for path, marks in shown.items():
        page, bobs = session.get(api + path, timeout=10), as_bob.get(api + path, timeout=10)
        assert page.status_code == 200 and bobs.status_code == 200
        for mark in marks:
            assert mark in bobs.text and mark not in page.text, (path, mark)
    theirs = (("POST", f"/schedules/{schedule['id']}/pause"), ("POST", f"/schedules/{schedule['id']}/resume"),
              ("DELETE", f"/schedules/{schedule['id']}"), ("POST", f"/webhooks/{webhook['id']}/test"),
              ("GET", f"/webhooks/{webhook['id']}/attempts"), ("DELETE", f"/webhooks/{webhook['id']}"),
              ("DELETE", f"/tokens/{bobs_token['id']}"))
    for method, path in theirs:
        assert session.request(method, api + "/api/v1" + path, timeout=10).status_code == 404, (method, path)
    assert session.get(f"{api}/app/webhooks/{webhook['id']}", timeout=10).status_code == 404
    # All of bob's still there, untouched.
    assert ok(v1(running, bob, "GET", f"/schedules/{schedule['id']}"))["paused"] is False
    assert ok(v1(running, bob, "GET", f"/webhooks/{webhook['id']}/attempts")) == []
    assert ok(v1(running, bobs_token["token"], "GET", "/me"))["user"] == "bob"
    assert receiver.calls == []


# What every page owes a person


def test_every_field_of_the_pages_has_a_label_and_no_page_has_inline_script_or_style_or_a_secret(running):
    token = console_user(running)
    add_contact(running, token, "Artem", "4242")
    ok(v1(running, token, "POST", "/schedules", {"text": "Hi", "to": ["Artem"], "cron": "0 9 * * *"}), 201)
    webhook = ok(v1(running, token, "POST", "/webhooks", {"url": "https://example.com/hooks"}), 201)
    session, fields = http_session(running.api_url), {}
    for path in (*PAGES, f"/app/webhooks/{webhook['id']}"):
        html = session.get(running.api_url + path, timeout=10).text
        parser = Cells()
        parser.feed(html)
        assert all(field and field in parser.labelled for field in parser.fields), (path, parser.fields)
        assert "<script>" not in html and " style=" not in html, path
        assert webhook["secret"] not in html, path
        fields[path] = len(parser.fields)
    assert all(fields[path] for path in ("/app/schedules", "/app/webhooks", "/app/tokens")), fields
