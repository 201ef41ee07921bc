"""Every console page, as a person on a laptop, on a phone or with only a keyboard meets it.

A real stack at shipped settings with a few contacts and messages (names in
emoji, CJK and accents), and a real headless Chromium at 1366×768 and at a
phone's 390 pixels.
"""

import re
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import reset
from fixtures_browser import LAPTOP, PHONE, console_stack, console_user, sign_in

PAGES = ("/app/messages", "/app/compose", "/app/contacts", "/app/failed", "/app/schedules", "/app/webhooks",
         "/app/tokens", "/app/inbox")
NAMES = ("Zoë Ångström", "王小明", "Артём 🚀")
CSS = Path(__file__).resolve().parent.parent / "api" / "web" / "static" / "console.css"
# WCAG 2.1 AA: normal text at least 4.5:1 against its background.
AA = 4.5

# Controls a person can fill or press without a name a screen reader says.
UNLABELLED = """
return Array.from(document.querySelectorAll('input, select, textarea, button')).filter(el => {
  if (el.type === 'hidden' || el.closest('[hidden]')) return false;
  if (el.tagName === 'BUTTON') return !el.textContent.trim() && !el.getAttribute('aria-label');
  const byFor = el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
  return !(byFor || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'));
}).map(el => el.outerHTML.slice(0, 120));
"""


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with console_stack(tmp_path_factory, "console-pages") as stack:
        reset(stack)
        token = console_user(stack)
        headers = {"Authorization": f"Bearer {token}"}
        for index, name in enumerate(NAMES):
            requests.post(stack.api_url + "/api/v1/contacts", headers=headers, timeout=10,
                          json={"name": name, "telegram": str(1000 + index), "viber": f"v{index}"}).raise_for_status()
        requests.post(stack.api_url + "/api/v1/messages", headers=headers, timeout=10,
                      json={"to": list(NAMES), "text": "Привет, 世界 👋"}).raise_for_status()
        yield stack


@pytest.fixture(scope="module")
def signed_in(running, browser):
    sign_in(browser, running.api_url)
    yield browser
    browser.set_window_size(*LAPTOP)


@pytest.mark.parametrize("path", PAGES)
def test_each_page_names_every_control_and_has_one_heading(running, signed_in, path):
    signed_in.set_window_size(*LAPTOP)
    signed_in.get(running.api_url + path)
    assert signed_in.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert len(signed_in.find_elements(By.TAG_NAME, "h1")) == 1
    assert signed_in.execute_script(UNLABELLED) == []
    assert signed_in.find_element(By.CSS_SELECTOR, f'nav a[href="{path}"]').get_attribute("aria-current") == "page"


@pytest.mark.parametrize("path", PAGES)
def test_each_page_fits_a_phones_width_without_scrolling_sideways(running, signed_in, path):
    signed_in.set_window_size(*PHONE)
    signed_in.get(running.api_url + path)
    width = signed_in.execute_script("return document.documentElement.clientWidth")
    wide = signed_in.execute_script("return document.documentElement.scrollWidth")
    assert wide <= width, f"{path} is {wide} px wide on a {width} px screen"


def test_the_keyboard_reaches_the_skip_link_first_and_it_leads_to_the_content(running, signed_in):
    signed_in.set_window_size(*LAPTOP)
    signed_in.get(running.api_url + "/app/contacts")
    signed_in.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = signed_in.switch_to.active_element
    assert focused.text == "Skip to content"
    focused.send_keys(Keys.ENTER)
    assert signed_in.execute_script("return location.hash") == "#main"


def test_emoji_cjk_and_accented_names_show_as_written(running, signed_in):
    signed_in.set_window_size(*LAPTOP)
    signed_in.get(running.api_url + "/app/contacts")
    shown = signed_in.find_element(By.TAG_NAME, "main").text
    assert all(name in shown for name in NAMES)
    signed_in.get(running.api_url + "/app/messages")
    assert "Привет, 世界 👋" in signed_in.find_element(By.TAG_NAME, "main").text


def test_times_show_in_the_browsers_zone_with_utc_on_hover(running, signed_in):
    signed_in.set_window_size(*LAPTOP)
    signed_in.get(running.api_url + "/app/messages")
    shown = signed_in.find_element(By.CSS_SELECTOR, "#messages time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", shown.get_attribute("title"))
    assert "T" not in shown.text and shown.text != shown.get_attribute("datetime")


def _luminance(hex_color):
    channels = [int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one, other):
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_style_sheets_text_colours_have_aa_contrast_on_their_backgrounds():
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text()))
    pairs = [("ink", "paper"), ("ink", "wash"), ("muted", "paper"), ("accent", "paper"), ("accent-ink", "accent"),
             ("bad", "paper"), ("good", "paper"), ("warn", "paper"), ("bad", "wash"), ("accent", "wash")]
    low = {f"{text} on {back}": round(_contrast(colours[text], colours[back]), 2)
           for text, back in pairs if _contrast(colours[text], colours[back]) < AA}
    assert not low
    # The header's white text on its navy.
    assert _contrast("#ffffff", "#12324f") >= AA
