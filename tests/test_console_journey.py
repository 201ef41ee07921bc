"""One person's whole way through the web console, in a real browser, as issue 31's six steps.

Sign in; import a CSV with one bad row and see that row named (nothing
written), then the corrected file; compose a templated message to the 3
contacts with its preview and the confirmation's count; watch the
deliveries reach sent and failed without a reload; send the failed one
again from the Failed page once Viber works again; sign out. A real stack
(gunicorn behind nginx, token mode) with the fake gateway in simple mode,
where Viber refuses everything until told otherwise.
"""

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from fixtures_browser import console_stack, console_user, sign_in, visible, wait_for
from helpers import wait_until

# Viber's five attempts at the tests' fast retries, on a busy machine.
SETTLE = 60
GOOD_ROWS = ["Ann,100,,", "Bör 🌸,200,,", "李雷,300,,li-vb"]
BAD_ROW = "Mars,400,,,Mars/Olympus_Mons"


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-journey") as stack:
        yield stack


def api(running, token, path):
    answer = requests.get(running.api_url + "/api/v1" + path, headers={"Authorization": f"Bearer {token}"},
                          timeout=10)
    answer.raise_for_status()
    return answer.json()


def received(running, messenger):
    answer = requests.get(f"{running.gateway_url}/received", params={"messenger": messenger}, timeout=10)
    answer.raise_for_status()
    return [(r["to"], r["text"]) for r in answer.json()["received"]]


def upload(driver, base, path):
    driver.get(base + "/app/contacts/import")
    driver.find_element(By.ID, "file").send_keys(str(path))
    driver.find_element(By.ID, "import").click()


def statuses(driver):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#deliveries tbody tr'),"
        " row => Array.from(row.querySelectorAll('td'), td => td.innerText.trim()));")


def test_sign_in_import_compose_follow_retry_and_sign_out(running, browser, tmp_path):
    token = console_user(running)
    base = running.api_url

    # 1. Sign in.
    sign_in(browser, base)

    # 2. A CSV with one bad row: that row is named, and nothing is written.
    header = "name,telegram,whatsapp,viber,timezone"
    bad = tmp_path / "book.csv"
    bad.write_text("\n".join([header, *[row + "," for row in GOOD_ROWS[:2]], BAD_ROW, GOOD_ROWS[2] + ","]) + "\n",
                   encoding="utf-8")
    upload(browser, base, bad)
    visible(browser, "#bad-rows tbody tr")
    [(row, field, problem)] = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                               for tr in browser.find_elements(By.CSS_SELECTOR, "#bad-rows tbody tr")]
    assert (row, field) == ("line 4", "timezone") and "Mars/Olympus_Mons" in problem
    assert "Nothing was imported." in browser.find_element(By.ID, "notice").text
    assert api(running, token, "/contacts") == []
    good = tmp_path / "fixed.csv"
    good.write_text("\n".join([header, *[row + "," for row in GOOD_ROWS]]) + "\n", encoding="utf-8")
    upload(browser, base, good)
    wait_for(browser, expected_conditions.text_to_be_present_in_element((By.ID, "notice"), "Imported 3 contacts"))
    assert [c["name"] for c in api(running, token, "/contacts")] == ["Ann", "Bör 🌸", "李雷"]

    # 3. A templated message to the three, previewed, with the confirmation's count.
    browser.get(base + "/app/compose")
    browser.find_element(By.ID, "to-all").click()
    browser.find_element(By.ID, "text").send_keys("Hello {{ name }}")
    browser.find_element(By.ID, "template").click()
    wait_for(browser, lambda d: {"Hello Ann", "Hello Bör 🌸", "Hello 李雷"} <= {
        row.find_elements(By.TAG_NAME, "td")[2].text for row in d.find_elements(By.CSS_SELECTOR, "#preview-rows tr")
        if len(row.find_elements(By.TAG_NAME, "td")) > 2})
    assert received(running, "telegram") == []
    browser.find_element(By.ID, "send").click()
    assert "4 deliveries to 3 contacts" in visible(browser, "#confirm-text").text
    browser.find_element(By.ID, "confirm-send").click()
    wait_for(browser, expected_conditions.url_contains("/app/messages/"))

    # 4. Its deliveries reach sent and failed on the page, with no reload.
    browser.execute_script("window.__same_page = true;")
    wait_for(browser, lambda d: sorted(row[2] for row in statuses(d)) == ["failed", "sent", "sent", "sent"],
             timeout=SETTLE)
    assert browser.execute_script("return window.__same_page === true;")
    assert sorted(received(running, "telegram")) == [("100", "Hello Ann"), ("200", "Hello Bör 🌸"),
                                                     ("300", "Hello 李雷")]
    assert received(running, "viber") == []

    # 5. Viber works again; the failed one is sent again from the Failed page, and arrives once.
    requests.put(running.gateway_url + "/faults", json={"viber_accepts": True}, timeout=10).raise_for_status()
    [record] = api(running, token, "/failed")
    browser.get(base + "/app/failed")
    browser.find_element(By.ID, f"retry-{record['delivery_id']}").click()
    wait_until(lambda: received(running, "viber") == [("li-vb", "Hello 李雷")], timeout=SETTLE,
               message="the failed delivery sent again")
    wait_for(browser, expected_conditions.invisibility_of_element_located((By.ID, f"failed-{record['delivery_id']}")))
    assert api(running, token, "/failed") == []
    assert len(received(running, "telegram")) == 3

    # 6. Sign out: the console asks for a sign-in again.
    browser.find_element(By.ID, "sign-out").click()
    visible(browser, "#signin-form")
    browser.get(base + "/app/messages")
    assert "/app/login" in browser.current_url
