"""Sending from the web console: Compose (picker, live preview, confirmation, one send per key), a
message followed live, and the Failed page (send again, send all again, dismiss).

A real stack (gunicorn behind nginx, token mode, the shipped request rate),
a real headless Chromium, and the fake gateway in simple mode, where Viber
refuses every message (HTTP 500) until told otherwise: so a send to a
contact with Viber has a delivery that fails for good after MAX_ATTEMPTS.
What the page shows is checked against what the API holds and what the
gateway received.
"""

import json
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import redis
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select

from conftest import reset
from fixtures_browser import LAPTOP, PHONE, console_stack, console_user, http_session, sign_in, visible, wait_for
from helpers import wait_until

# Long enough for Viber's five attempts at the tests' fast retries, on a busy machine.
SETTLE = 40
# The browser's own time zone in the scheduling test: 5 h 30 from UTC, no daylight saving.
BROWSER_ZONE = "Asia/Kolkata"
CONTACTS = [
    {"name": "Ann", "telegram": "ann-tg"},
    {"name": "Bör 🌸", "telegram": "bor-tg"},
    {"name": "李雷", "telegram": "li-tg", "viber": "li-vb"},
    {"name": "Zed", "telegram": "zed-tg"},
]


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-sending") as stack:
        yield stack


@pytest.fixture(autouse=True)
def clean(running):
    reset(running)
    yield
    # Nothing left in flight for the next test's gateway records: the worker done with every task it took
    # (a Viber delivery's last retry included).
    settled(running)


@pytest.fixture
def token(running):
    """alice's API token, her book holding CONTACTS."""
    token = console_user(running)
    call(running, token, "POST", "/contacts/import", json=CONTACTS).raise_for_status()
    return token


def settled(running):
    """Wait until the worker holds no task and none is queued."""
    client = redis.Redis.from_url(running.config.redis_url)
    try:
        wait_until(lambda: client.llen(running.config.delivery_queue) == 0 and client.hlen("unacked") == 0,
                   SETTLE, 0.2, "the worker idle")
    finally:
        client.close()


def call(running, token, method, path, **kwargs):
    """A request to /api/v1 with alice's token."""
    return requests.request(method, running.api_url + "/api/v1" + path, timeout=10,
                            headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}, **kwargs)


def gateway(running, what, messenger=None):
    """What the fake gateway received, or every attempt at it, optionally of one messenger."""
    params = {"messenger": messenger} if messenger else {}
    answer = requests.get(f"{running.gateway_url}/{what}", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()[what]


def faults(running, **settings):
    requests.put(running.gateway_url + "/faults", json=settings, timeout=10).raise_for_status()


def rows(driver):
    """The message page's deliveries: (contact, messenger) -> (status, attempts), as shown."""
    return {(row[0], row[1]): (row[2], row[3]) for row in cells(driver, "#deliveries tbody tr")}


def cells(driver, css):
    """The text of each cell of each row a CSS selector names, read at one moment (rows a script replaces)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " row => Array.from(row.querySelectorAll('td'), td => td.innerText));", css)


def pick(driver, name):
    """Tick a contact in the picker's list."""
    box = wait_for(driver, expected_conditions.element_to_be_clickable(
        (By.CSS_SELECTOR, f'#contact-list input[value="{name}"]')))
    box.click()


def compose(driver, base, names, text, template=False):
    """Open Compose, choose these contacts from the picker's first page and write the text."""
    driver.get(base + "/app/compose")
    for name in names:
        pick(driver, name)
    driver.find_element(By.ID, "text").send_keys(text)
    if template:
        driver.find_element(By.ID, "template").click()


def failed_record(running, token, delivery_id):
    """Wait until a delivery is in the failed store; the store's records."""
    return wait_until(lambda: [r for r in call(running, token, "GET", "/failed").json()
                               if r["delivery_id"] == delivery_id], SETTLE, 0.2, "the failed record")


def test_a_templated_send_is_previewed_confirmed_followed_live_and_its_failure_sent_again(running, browser, token):
    sign_in(browser, running.api_url)
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})
    browser.get(running.api_url + "/app/compose")

    # One contact found by the start of its name, two ticked on the book's first page.
    search = browser.find_element(By.ID, "contact-search")
    search.send_keys("李")
    wait_for(browser, lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('#contact-list li'), li => li.dataset.name);") == ["李雷"])
    pick(browser, "李雷")
    search.send_keys(Keys.BACKSPACE)
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#contact-list li")) == len(CONTACTS))
    pick(browser, "Ann")
    pick(browser, "Bör 🌸")
    assert browser.find_element(By.ID, "chosen-count").text == "3"
    browser.find_element(By.ID, "text").send_keys("Hello {{ name }}")
    browser.find_element(By.ID, "template").click()

    # The live preview renders the template for each of the three, over each messenger they have.
    def preview(driver):
        shown = sorted(tuple(row[:3]) for row in cells(driver, "#preview-rows tr"))
        return shown if len(shown) == 4 else None
    assert wait_for(browser, preview) == [("Ann", "telegram", "Hello Ann"), ("Bör 🌸", "telegram", "Hello Bör 🌸"),
                                          ("李雷", "telegram", "Hello 李雷"), ("李雷", "viber", "Hello 李雷")]

    # At a time on the browser's clock, a few seconds ahead: sent as that instant in UTC.
    due = (datetime.now(timezone.utc) + timedelta(seconds=9)).replace(microsecond=0)
    browser.find_element(By.ID, "when-at").click()
    field = visible(browser, "#not-before")
    browser.execute_script("arguments[0].value = arguments[1];"
                           "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                           field, due.astimezone(ZoneInfo(BROWSER_ZONE)).strftime("%Y-%m-%dT%H:%M:%S"))

    browser.find_element(By.ID, "send").click()
    visible(browser, "#confirm-dialog")
    assert browser.find_element(By.ID, "confirm-text").text == "This send makes 4 deliveries to 3 contacts."
    assert [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#confirm-breakdown li")] == [
        "telegram: 3", "viber: 1"]
    assert browser.find_element(By.ID, "confirm-send").text == "Send 4 deliveries"
    assert gateway(running, "attempts") == []
    browser.find_element(By.ID, "confirm-send").click()
    wait_for(browser, expected_conditions.url_matches(r"/app/messages/[0-9a-f]{32}$"))
    message_id = browser.current_url.rsplit("/", 1)[1]

    # Not yet due: every delivery waits, the progress bar shows none finished.
    visible(browser, "#deliveries")
    browser.execute_script("window.__marker = 1;")
    first = rows(browser)
    assert {status for status, _ in first.values()} == {"scheduled"}, first
    assert visible(browser, "#progress").get_attribute("value") == "0"
    assert browser.find_element(By.ID, "message-text").text == "Hello {{ name }}"

    # Then, without a reload, Telegram's reach sent and Viber's fails for good after five attempts.
    final = {("Ann", "telegram"): ("sent", "1"), ("Bör 🌸", "telegram"): ("sent", "1"),
             ("李雷", "telegram"): ("sent", "1"), ("李雷", "viber"): ("failed", "5")}
    wait_for(browser, lambda d: rows(d) == final, SETTLE)
    assert browser.execute_script("return window.__marker;") == 1
    assert not browser.find_element(By.ID, "progress-box").is_displayed()
    assert browser.find_element(By.ID, "counts").text == "3 sent, 1 failed"
    assert browser.find_element(By.ID, "message-status").text == "partial"
    viber_row = browser.find_element(By.XPATH, "//tr[td[2]='viber']")
    assert "viber is unavailable" in viber_row.find_element(By.CSS_SELECTOR, ".delivery-error").text
    assert browser.find_element(By.ID, "retry-failed").is_displayed()

    # The API holds what the page showed, due at the instant chosen; the gateway got the three texts.
    message = call(running, token, "GET", f"/messages/{message_id}").json()
    assert datetime.fromisoformat(message["not_before"]) == due
    assert sorted((d["contact"], d["messenger"], d["status"], d["text"]) for d in message["deliveries"]) == [
        ("Ann", "telegram", "sent", "Hello Ann"), ("Bör 🌸", "telegram", "sent", "Hello Bör 🌸"),
        ("李雷", "telegram", "sent", "Hello 李雷"), ("李雷", "viber", "failed", "Hello 李雷")]
    received = gateway(running, "received")
    assert sorted((r["messenger"], r["to"], r["text"]) for r in received) == [
        ("telegram", "ann-tg", "Hello Ann"), ("telegram", "bor-tg", "Hello Bör 🌸"),
        ("telegram", "li-tg", "Hello 李雷")]
    assert all(r["time"] >= due.timestamp() for r in received)
    assert [a["status"] for a in gateway(running, "attempts", "viber")] == [500] * 5

    # Viber is back: the Failed page sends the failed delivery again, and it goes.
    [viber] = [d["id"] for d in message["deliveries"] if d["messenger"] == "viber"]
    failed_record(running, token, viber)
    faults(running, viber_accepts=True)
    browser.get(running.api_url + "/app/failed")
    assert "viber is unavailable" in browser.find_element(By.CSS_SELECTOR, f"#failed-{viber} .failed-error").text
    browser.find_element(By.ID, f"retry-{viber}").click()
    wait_for(browser, expected_conditions.invisibility_of_element_located((By.ID, f"failed-{viber}")))
    assert visible(browser, "#notice").text.startswith("Sent again: 李雷 over viber.")
    assert call(running, token, "GET", "/failed").json() == []
    wait_until(lambda: gateway(running, "received", "viber"), SETTLE, 0.2, "the viber message")
    assert [(r["to"], r["text"]) for r in gateway(running, "received", "viber")] == [("li-vb", "Hello 李雷")]
    assert [a["status"] for a in gateway(running, "attempts", "viber")] == [500] * 5 + [200]
    again = call(running, token, "GET", f"/messages/{message_id}").json()
    assert {d["id"]: (d["status"], d["attempts"]) for d in again["deliveries"]}[viber] == ("sent", 1)

    # Its message page shows it so.
    browser.get(f"{running.api_url}/app/messages/{message_id}")
    assert rows(browser)[("李雷", "viber")] == ("sent", "1")
    assert browser.find_element(By.ID, "counts").text == "4 sent"
    assert not browser.find_element(By.ID, "retry-failed").is_displayed()


def test_a_bad_field_shows_the_apis_own_error_beside_it_and_nothing_is_sent(running, browser, token):
    sign_in(browser, running.api_url)
    compose(browser, running.api_url, ["Ann"], "")
    browser.find_element(By.ID, "send").click()
    assert visible(browser, "#error-text").text == "Length must be between 1 and 20000."
    assert browser.find_element(By.ID, "text").get_attribute("aria-invalid") == "true"
    assert not browser.find_element(By.ID, "confirm-dialog").is_displayed()

    # A template that does not render for a contact: the live preview says so, and so does Send, by `text`.
    browser.find_element(By.ID, "text").send_keys("Your code: {{ fields.code }}")
    browser.find_element(By.ID, "template").click()
    wait_for(browser, lambda d: "template" in d.find_element(By.ID, "preview-status").text)
    browser.find_element(By.ID, "send").click()
    wait_for(browser, lambda d: "code" in d.find_element(By.ID, "error-text").text)
    assert "template" in browser.find_element(By.CSS_SELECTOR, "#compose .form-error").text
    assert not browser.find_element(By.ID, "confirm-dialog").is_displayed()

    # No recipient at all is the page's own refusal, by the recipients.
    browser.find_element(By.CSS_SELECTOR, '#chosen button').click()
    browser.find_element(By.ID, "send").click()
    assert visible(browser, "#error-to").text == "Choose at least one contact."

    # Accepted: none. Arrived: none.
    assert call(running, token, "GET", "/messages").json() == []
    assert gateway(running, "attempts") == []


def test_everyone_whose_name_starts_so_is_counted_in_the_confirmation(running, browser, token):
    sign_in(browser, running.api_url)
    browser.get(running.api_url + "/app/compose")
    browser.find_element(By.ID, "to-search").click()
    visible(browser, "#to-prefix").send_keys("B")
    wait_for(browser, lambda d: d.find_element(By.ID, "prefix-count").text == "1 contact matches.")
    browser.find_element(By.ID, "text").send_keys("Hi")
    browser.find_element(By.ID, "to-all").click()
    browser.find_element(By.ID, "route-only").click()
    browser.find_element(By.ID, "messenger-telegram").click()
    browser.find_element(By.ID, "messenger-whatsapp").click()
    browser.find_element(By.ID, "send").click()
    visible(browser, "#confirm-dialog")
    # Everyone, over Viber only: only 李雷 has it.
    assert browser.find_element(By.ID, "confirm-text").text == "This send makes 1 delivery to 4 contacts."
    browser.find_element(By.ID, "confirm-back").click()
    browser.find_element(By.ID, "route-all").click()
    browser.find_element(By.ID, "send").click()
    visible(browser, "#confirm-dialog")
    assert browser.find_element(By.ID, "confirm-text").text == "This send makes 5 deliveries to 4 contacts."
    browser.find_element(By.ID, "confirm-send").click()
    wait_for(browser, expected_conditions.url_matches(r"/app/messages/[0-9a-f]{32}$"))
    [message] = call(running, token, "GET", "/messages").json()
    assert sum(message["counts"].values()) == 5


def test_double_clicking_send_makes_one_message_under_one_idempotency_key(running, browser, token):
    sign_in(browser, running.api_url)
    compose(browser, running.api_url, ["Ann"], "Once only")
    # Note each send's Idempotency-Key where the page that follows can still read it.
    browser.execute_script("""
        const send = window.fetch;
        window.fetch = (url, options) => {
          if (url === '/api/v1/messages' && options.method === 'POST') {
            const keys = JSON.parse(sessionStorage.getItem('keys') || '[]');
            keys.push(options.headers['Idempotency-Key']);
            sessionStorage.setItem('keys', JSON.stringify(keys));
          }
          return send(url, options);
        };""")
    ActionChains(browser).double_click(browser.find_element(By.ID, "send")).perform()
    # The preview behind the dialog answers slowly on a loaded host.
    confirm = visible(browser, "#confirm-send", timeout=60)
    ActionChains(browser).double_click(confirm).perform()
    wait_for(browser, expected_conditions.url_matches(r"/app/messages/[0-9a-f]{32}$"))
    message_id = browser.current_url.rsplit("/", 1)[1]
    keys = set(json.loads(browser.execute_script("return sessionStorage.getItem('keys');")))
    assert len(keys) == 1

    assert [m["id"] for m in call(running, token, "GET", "/messages").json()] == [message_id]
    wait_until(lambda: gateway(running, "received"), SETTLE, 0.2, "the message")
    # The key is the send's: the same body with it again is answered as the first time, and sends nothing.
    [key] = keys
    session = http_session(running.api_url)
    replay = session.post(running.api_url + "/api/v1/messages", headers={"Idempotency-Key": key}, timeout=10,
                          json={"to": ["Ann"], "text": "Once only"})
    assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == message_id
    assert len(call(running, token, "GET", "/messages").json()) == 1
    assert [(r["to"], r["text"]) for r in gateway(running, "received")] == [("ann-tg", "Once only")]


def test_cancel_stops_a_message_due_later_and_nothing_reaches_the_gateway(running, browser, token):
    sign_in(browser, running.api_url)
    due = time.time() + 6
    sent = call(running, token, "POST", "/messages", json={
        "to": ["Ann", "李雷"], "text": "Later", "not_before": datetime.fromtimestamp(due, timezone.utc).isoformat()})
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["id"]
    browser.get(f"{running.api_url}/app/messages/{message_id}")
    assert {s for s, _ in rows(browser).values()} == {"scheduled"}
    browser.find_element(By.ID, "cancel-message").click()
    wait_for(browser, expected_conditions.alert_is_present()).accept()
    wait_for(browser, lambda d: {s for s, _ in rows(d).values()} == {"cancelled"})
    assert visible(browser, "#notice").text == "Cancelled 3 deliveries."
    assert not browser.find_element(By.ID, "cancel-form").is_displayed()
    assert not browser.find_element(By.ID, "progress-box").is_displayed()
    message = call(running, token, "GET", f"/messages/{message_id}").json()
    assert [d["status"] for d in message["deliveries"]] == ["cancelled"] * 3

    # Accepted: three deliveries, all cancelled. Arrived, well past their due time: none.
    while time.time() < due + 3:
        assert gateway(running, "attempts") == []
        time.sleep(0.5)
    assert gateway(running, "attempts") == []


def test_dismiss_removes_a_failed_record_and_sends_nothing_more(running, browser, token):
    sent = call(running, token, "POST", "/messages", json={"to": ["李雷"], "text": "Nope", "messengers": ["viber"]})
    [delivery] = sent.json()["deliveries"]
    failed_record(running, token, delivery["id"])
    sign_in(browser, running.api_url)
    browser.get(running.api_url + "/app/failed")
    assert browser.find_element(By.ID, "failed-count").text == "1 failed"
    browser.find_element(By.ID, f"dismiss-{delivery['id']}").click()
    wait_for(browser, expected_conditions.alert_is_present()).accept()
    assert visible(browser, "#no-failed").text == "No failed deliveries."
    assert visible(browser, "#notice").text == "Dismissed: 李雷 over viber."
    assert call(running, token, "GET", "/failed").json() == []
    assert call(running, token, "POST", f"/failed/{delivery['id']}/retry").status_code == 404
    browser.get(running.api_url + "/app/failed")
    assert browser.find_element(By.ID, "no-failed").text == "No failed deliveries."

    # Accepted: one. Arrived: none, after its five attempts, and no attempt since.
    attempts = gateway(running, "attempts")
    assert [(a["messenger"], a["status"]) for a in attempts] == [("viber", 500)] * 5
    assert gateway(running, "received") == []
    message = call(running, token, "GET", f"/messages/{delivery['id'].rsplit('-', 1)[0]}").json()
    assert [d["status"] for d in message["deliveries"]] == ["failed"]


def test_send_all_again_retries_every_failed_delivery(running, browser, token):
    call(running, token, "PUT", "/contacts/Ann", json={"telegram": "ann-tg", "viber": "ann-vb"}).raise_for_status()
    sent = call(running, token, "POST", "/messages", json={"to": ["Ann", "李雷"], "text": "Both",
                                                            "messengers": ["viber"]}).json()
    for d in sent["deliveries"]:
        failed_record(running, token, d["id"])
    faults(running, viber_accepts=True)
    sign_in(browser, running.api_url)
    browser.get(running.api_url + "/app/failed")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#failed tbody tr")) == 2
    browser.find_element(By.ID, "retry-all").click()
    wait_for(browser, expected_conditions.alert_is_present()).accept()
    assert visible(browser, "#notice").text == (
        "Sent 2 failed deliveries again. Any that fail again come back here.")
    assert visible(browser, "#no-failed").text == "No failed deliveries."
    assert call(running, token, "GET", "/failed").json() == []
    wait_until(lambda: len(gateway(running, "received")) == 2, SETTLE, 0.2, "both messages")
    assert sorted((r["messenger"], r["to"]) for r in gateway(running, "received")) == [
        ("viber", "ann-vb"), ("viber", "li-vb")]
    # Ten refused attempts before, two accepted after: each delivery sent again once.
    assert sorted(a["status"] for a in gateway(running, "attempts")) == [200] * 2 + [500] * 10


def test_retry_on_the_message_page_sends_its_failed_deliveries_again(running, browser, token):
    sent = call(running, token, "POST", "/messages", json={"to": ["李雷"], "text": "Again"}).json()
    viber = next(d["id"] for d in sent["deliveries"] if d["messenger"] == "viber")
    failed_record(running, token, viber)
    faults(running, viber_accepts=True)
    sign_in(browser, running.api_url)
    browser.get(f"{running.api_url}/app/messages/{sent['id']}")
    browser.execute_script("window.__marker = 1;")
    browser.find_element(By.ID, "retry-failed").click()
    assert visible(browser, "#notice").text == "Sent 1 failed delivery again."
    wait_for(browser, lambda d: rows(d) == {("李雷", "telegram"): ("sent", "1"), ("李雷", "viber"): ("sent", "1")},
             SETTLE)
    assert browser.execute_script("return window.__marker;") == 1
    assert call(running, token, "GET", "/failed").json() == []
    assert sorted((r["messenger"], r["to"], r["text"]) for r in gateway(running, "received")) == [
        ("telegram", "li-tg", "Again"), ("viber", "li-vb", "Again")]


def test_the_pages_show_none_of_another_users_messages_or_failures(running, token):
    bob = console_user(running, "bob")
    as_bob = {"Authorization": f"Bearer {bob}"}
    requests.post(running.api_url + "/api/v1/contacts", headers=as_bob, json={"name": "Vic", "viber": "vic-vb"},
                  timeout=10).raise_for_status()
    sent = requests.post(running.api_url + "/api/v1/messages", headers=as_bob, json={"to": "Vic", "text": "bob's"},
                         timeout=10).json()
    wait_until(lambda: requests.get(running.api_url + "/api/v1/failed", headers=as_bob, timeout=10).json(),
               SETTLE, 0.2, "bob's failed record")
    session = http_session(running.api_url)
    assert session.get(f"{running.api_url}/app/messages/{sent['id']}", timeout=10).status_code == 404
    page = session.get(running.api_url + "/app/failed", timeout=10)
    assert page.status_code == 200 and "Vic" not in page.text and "No failed deliveries." in page.text


def test_the_message_page_fits_a_phone_with_each_delivery_labelled(running, browser, token):
    sent = call(running, token, "POST", "/messages", json={"to": ["Bör 🌸", "李雷"], "text": "Hej 👋",
                                                            "not_before": "2099-01-01T00:00:00+00:00"}).json()
    sign_in(browser, running.api_url)
    browser.set_window_size(*PHONE)
    try:
        browser.get(f"{running.api_url}/app/messages/{sent['id']}")
        assert browser.execute_script("return document.documentElement.scrollWidth <= "
                                      "document.documentElement.clientWidth")
        row = browser.find_element(By.CSS_SELECTOR, "#deliveries tbody tr")
        labels = [td.get_attribute("data-label") for td in row.find_elements(By.TAG_NAME, "td")]
        assert labels == ["Contact", "Messenger", "Status", "Attempts", "Error", "Due"]
        assert browser.find_element(By.ID, "message-text").text == "Hej 👋"
        assert {c for c, _ in rows(browser)} == {"Bör 🌸", "李雷"}
        assert browser.find_element(By.CSS_SELECTOR, "label[for=progress]").is_displayed()
    finally:
        browser.set_window_size(*LAPTOP)


def test_a_send_at_each_contacts_local_time_out_of_quiet_hours_over_a_fallback_chain(running, browser, token):
    call(running, token, "PUT", "/contacts/Ann", json={"telegram": "ann-tg", "viber": "ann-vb",
                                                       "timezone": "Asia/Tokyo"}).raise_for_status()
    sign_in(browser, running.api_url)
    compose(browser, running.api_url, ["Ann"], "Morning")
    browser.find_element(By.ID, "route-fallback").click()
    Select(visible(browser, "#fallback-1")).select_by_value("viber")
    Select(browser.find_element(By.ID, "fallback-2")).select_by_value("telegram")
    Select(browser.find_element(By.ID, "fallback-3")).select_by_value("")
    browser.find_element(By.ID, "when-local").click()
    browser.find_element(By.ID, "quiet").click()
    for field, value in (("local-time", "2099-01-01T09:00"), ("quiet-start", "08:00"), ("quiet-end", "10:00")):
        browser.execute_script("arguments[0].value = arguments[1];"
                               "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                               visible(browser, f"#{field}"), value)
    browser.find_element(By.ID, "send").click()
    visible(browser, "#confirm-dialog")
    assert browser.find_element(By.ID, "confirm-text").text.startswith("This send makes 2 deliveries to 1 contact, "
                                                                       "one step of each chain at a time")
    browser.find_element(By.ID, "confirm-send").click()
    wait_for(browser, expected_conditions.url_matches(r"/app/messages/[0-9a-f]{32}$"))

    # 09:00 in Tokyo falls in the quiet hours, so each step is due at their end: 10:00 there, 01:00 UTC.
    [summary] = call(running, token, "GET", "/messages").json()
    message = call(running, token, "GET", f"/messages/{summary['id']}").json()
    assert message["local_time"] == "2099-01-01T09:00" and message["quiet_hours"] == ["08:00", "10:00"]
    assert [(d["messenger"], d["step"], d["status"], datetime.fromisoformat(d["due_at"]))
            for d in message["deliveries"]] == [
        ("viber", 1, "scheduled", datetime(2099, 1, 1, 1, tzinfo=timezone.utc)),
        ("telegram", 2, "standby", datetime(2099, 1, 1, 1, tzinfo=timezone.utc))]
    assert "2099-01-01T09:00" in browser.find_element(By.CSS_SELECTOR, "dl.facts").text


def test_the_picker_pages_through_the_book_and_keeps_what_was_chosen(running, browser, token):
    book = [{"name": f"P{n:02}", "telegram": f"p{n}"} for n in range(25)]
    call(running, token, "POST", "/contacts/import", json=book).raise_for_status()
    sign_in(browser, running.api_url)
    browser.get(running.api_url + "/app/compose")
    def shown(driver):
        return driver.execute_script(
            "return Array.from(document.querySelectorAll('#contact-list li'), li => li.dataset.name);")
    wait_for(browser, lambda d: d.find_element(By.ID, "contacts-page").text == "Page 1 of 3")
    assert shown(browser) == [c["name"] for c in CONTACTS] + ["P00", "P01", "P02", "P03", "P04", "P05"]
    assert browser.find_element(By.ID, "contact-count").text == "29 contacts in the book."
    pick(browser, "Zed")
    browser.find_element(By.ID, "contacts-next").click()
    wait_for(browser, lambda d: shown(d)[:1] == ["P06"])
    pick(browser, "P07")
    browser.find_element(By.ID, "contacts-prev").click()
    wait_for(browser, lambda d: shown(d)[:1] == ["Ann"])
    assert browser.find_element(By.CSS_SELECTOR, '#contact-list input[value="Zed"]').is_selected()
    assert [li.get_attribute("data-name") for li in browser.find_elements(By.CSS_SELECTOR, "#chosen li")] == [
        "Zed", "P07"]
    browser.find_element(By.ID, "text").send_keys("Paged")
    browser.find_element(By.ID, "send").click()
    assert visible(browser, "#confirm-text").text == "This send makes 2 deliveries to 2 contacts."
