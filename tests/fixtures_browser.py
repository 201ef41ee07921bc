"""A real browser for the console's tests: Debian's headless Chromium, driven through its chromedriver."""

import re
import shutil
from contextlib import contextmanager

import pymongo
import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from core.users import UserStore

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# A laptop's screen; tests of the phone's width resize the window.
LAPTOP = (1366, 768)
PHONE = (390, 844)
WAIT = 15
# The flags Chromium needs on this closed network: nothing of its own runs in the background.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-features=Translate,MediaRouter", "--lang=en-US")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium of the module's own, at a laptop's size, with a fresh profile."""
    if not shutil.which(CHROMEDRIVER):
        pytest.fail(f"{CHROMEDRIVER} is missing: `make test` installs Debian's chromium-driver")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    options.add_argument("--window-size={},{}".format(*LAPTOP))
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def console_user(running, name="alice", password="correct horse battery"):
    """A user with a console password on a running stack: their API token."""
    mongo = pymongo.MongoClient(running.config.mongo_url, serverSelectionTimeoutMS=5000)
    try:
        users = UserStore(mongo[running.config.mongo_db])
        token = users.create_user(name)
        users.set_password(name, password)
        return token
    finally:
        mongo.close()


@contextmanager
def console_stack(tmp_path_factory, label, **overrides):
    """A stack of a test module's own as the console's tests want it: token mode, 50 requests a second."""
    from conftest import running_stack

    with running_stack(tmp_path_factory, label, **{"auth_mode": "token", "api_rate": 50.0, **overrides}) as stack:
        yield stack


def wait_for(driver, condition, timeout=WAIT):
    """Wait for a Selenium expected condition; its value."""
    return WebDriverWait(driver, timeout).until(condition)


def sign_in(driver, base_url, name="alice", password="correct horse battery"):
    """Sign in through the form, as a person would; on the page it leads to."""
    driver.delete_all_cookies()
    driver.get(base_url + "/app/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    wait_for(driver, expected_conditions.presence_of_element_located((By.ID, "sign-out")))


def sign_in_with_token(driver, base_url, token):
    """Sign in by pasting an API token into the form's other way in."""
    driver.delete_all_cookies()
    driver.get(base_url + "/app/login")
    driver.find_element(By.CSS_SELECTOR, "details summary").click()
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()
    wait_for(driver, expected_conditions.presence_of_element_located((By.ID, "sign-out")))


def visible(driver, css, timeout=WAIT):
    """The element a CSS selector names, once it is visible."""
    return wait_for(driver, expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout)


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
SIGNIN_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def http_session(base_url, name="alice", password="correct horse battery"):
    """Sign in over plain HTTP, as the form does: a requests session holding the cookie, and its CSRF token."""
    session = requests.Session()
    form = session.get(base_url + "/app/login", timeout=10)
    answer = session.post(base_url + "/app/login", timeout=30, allow_redirects=False, data={
        "csrf_token": SIGNIN_CSRF.search(form.text).group(1), "username": name, "password": password})
    assert answer.status_code == 302, answer.text
    page = session.get(base_url + "/app/messages", timeout=10)
    session.headers["X-CSRF-Token"] = CSRF_META.search(page.text).group(1)
    return session
