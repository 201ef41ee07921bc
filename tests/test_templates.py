"""Per-contact texts: `"template": true` renders each delivery's text, checked before anything is written."""

import json

import pytest
from click.testing import CliRunner

from apiclient import received, v1
from console.app import main
from core.templates import MAX_DEPTH, MessageTemplate
from helpers import wait_until
from test_v1_messages import send, settled

TEMPLATE = "Hi {{ fields.first_name }}, your code is {{ fields.code }}{% if messenger == 'viber' %} (V){% endif %}"


@pytest.fixture
def token(stack, user_token):
    """Alice, with Aki (telegram, viber) and Lera (whatsapp), each with fields."""
    token = user_token("alice")
    for contact in ({"name": "Aki", "telegram": "aki_t", "viber": "aki_v",
                     "fields": {"first_name": "Aki", "code": "A1"}},
                    {"name": "Lera", "whatsapp": "+7000", "fields": {"first_name": "Lera", "code": "B2"}}):
        assert v1(stack, token, "POST", "/contacts", contact).status_code == 201
    return token


def nothing_written(stack, token):
    """No message recorded and nothing sent."""
    assert v1(stack, token, "GET", "/messages").json() == []
    assert received(stack) == []


def test_each_delivery_gets_its_own_rendering(stack, token):
    accepted = send(stack, token, {"to": ["Aki", "Lera"], "text": TEMPLATE, "template": True})
    expected = {("Aki", "telegram"): "Hi Aki, your code is A1",
                ("Aki", "viber"): "Hi Aki, your code is A1 (V)",
                ("Lera", "whatsapp"): "Hi Lera, your code is B2"}
    assert {(d["contact"], d["messenger"]): d["text"] for d in accepted["deliveries"]} == expected
    assert accepted["template"] is True and accepted["text"] == TEMPLATE
    message = settled(stack, token, accepted["id"])
    assert {(d["contact"], d["messenger"]): d["text"] for d in message["deliveries"]} == expected
    # What arrived is each one's own text, once; Viber fails in the fake gateway.
    assert sorted((r["to"], r["text"]) for r in received(stack)) == [
        ("+7000", "Hi Lera, your code is B2"), ("aki_t", "Hi Aki, your code is A1")]
    # The failed record keeps the text that was tried.
    failed = v1(stack, token, "GET", "/failed").json()
    assert [(f["contact"], f["messenger"], f["message"]) for f in failed] == [
        ("Aki", "viber", "Hi Aki, your code is A1 (V)")]


def test_without_template_the_text_is_sent_as_written(stack, token):
    accepted = send(stack, token, {"to": ["Lera"], "text": "{{ name }} stays as is"})
    assert "text" not in accepted["deliveries"][0] and "template" not in accepted
    wait_until(lambda: received(stack), timeout=10, message="sent")
    assert [r["text"] for r in received(stack)] == ["{{ name }} stays as is"]


@pytest.mark.parametrize("text, problem", [
    ("Hi {{ fields.nickname }}", "'dict object' has no attribute 'nickname' (for contact 'Lera'"),
    ("Hi {{ surname }}", "'surname' is undefined"),
    ("Hi {{ name ", "Line 1: unexpected end of template"),
    ("{% if name %}open", "Line 1: Unexpected end of template"),
    ("{{ name|center(100000000) }}", "No filter named 'center'"),
    ("{{ name.__class__.__mro__ }}", "attributes starting with _ are not allowed"),
    ("{{ name['__class__'] }}", "unsafe"),
    ("{{ fields.items() }}", "calls not allowed"),
    ("{% for i in range(100000) %}{{ i }}{% endfor %}", "for loops not allowed"),
    ("{{ name * 100000000 }}", "* not allowed"),
    ("{{ '%99999999s' % name }}", "% not allowed"),
    ("{% set x = name %}{{ x }}", "set not allowed"),
    ("{% include 'x' %}", "include not allowed"),
    ("{{ lipsum }}", "'lipsum' is undefined"),
    ("{% if messenger == 'telegram' %}{% endif %}", "Renders an empty text for contact 'Lera' over whatsapp"),
    # Past Python's own limits when parsed or compiled.
    ("{{ " + "(" * 300 + "1" + ")" * 300 + " }}", "RecursionError"),
    ("{{ " + "-" * 300 + "1 }}", f"nested more than {MAX_DEPTH} levels deep"),
    ("{% if 1 %}" * 200 + "x" + "{% endif %}" * 200, f"nested more than {MAX_DEPTH} levels deep"),
    ("{{ name }} " * 500, "more than 1,000 parts"),
    ("{{ 1" + "0" * 5000 + " }}", "ValueError: Exceeds the limit"),
    # Raised by a filter, or not a text that can be stored.
    ("{{ name|truncate(-5) }}", "AssertionError: expected length >= 3, got -5 (for contact 'Lera'"),
    ("{{ name|truncate(2, leeway=-1) }}", "AssertionError"),
    ('{{ "\\ud800" }}', "Renders a lone surrogate ('\\ud800') at position 0 for contact 'Lera'"),
    ('{{ name ~ "\\x00" }}', "Renders a NUL character at position 4 for contact 'Lera'"),
    # Tests that compute `%`, which formats a string.
    ('{{ (fields.code ~ "%20000000d") is divisibleby 1 }}', "No test named 'divisibleby'"),
    ('{{ "%20000000d" is odd }}', "No test named 'odd'"),
    # Only strings, numbers, booleans and none print; a method is undefined.
    ("{{ fields.items }}", "'dict object' has no attribute 'items' (for contact 'Lera'"),
    ("{{ fields.items|string }}", "'dict object' has no attribute 'items'"),
    ("{{ name.upper }}", "'str object' has no attribute 'upper'"),
    ("{{ fields }}", "Prints a dict"),
])
def test_a_template_that_cannot_be_used_refuses_the_whole_send(stack, token, text, problem):
    for path in ("/messages", "/messages/preview"):
        reply = v1(stack, token, "POST", path, {"to": ["Lera", "Aki"], "text": text, "template": True})
        assert reply.status_code == 422, reply.text
        errors = reply.json()["errors"]["json"]["text"]
        assert any(problem in e for e in errors), errors
    nothing_written(stack, token)


@pytest.mark.parametrize("text, expected", [
    ("{{ fields.code is defined }} {{ fields.x is undefined }} {{ none is none }} {{ name is string }}",
     "True True True True"),
    ("{{ 3 is lt 4 }} {{ 3 is ge 4 }} {{ 'e' is in name }} {{ 2.5 is number }} {{ name is upper }}",
     "True False True True False"),
    ("{% if fields.code is eq 'A1' and messenger is ne 'viber' %}yes{% endif %}", "yes"),
    ("{{ 1.5 }} {{ true }} {{ none }} {{ 7 }}", "1.5 True None 7"),
    # A field named as a dict's method is the field.
    ("{{ fields.items }}, {{ fields['keys'] }}", "I, K"),
    ("{% if 1 %}" * 12 + "{{ name" + "|lower" * 10 + " }}" + "{% endif %}" * 12, "lera"),
])
def test_allowed_tests_and_plain_values_render(text, expected):
    rendered = MessageTemplate(text, 100).render("Lera", {"code": "A1", "items": "I", "keys": "K"}, "telegram")
    assert rendered == expected


def test_a_contact_without_the_field_refuses_the_send_naming_them(stack, token):
    assert v1(stack, token, "POST", "/contacts", {"name": "Bob", "telegram": "bob_t"}).status_code == 201
    reply = v1(stack, token, "POST", "/messages",
               {"to": ["Aki", "Bob"], "text": "Code {{ fields.code }}", "template": True})
    assert reply.status_code == 422
    assert "for contact 'Bob' over telegram" in reply.json()["errors"]["json"]["text"][0]
    nothing_written(stack, token)
    # `default` makes a field optional.
    accepted = send(stack, token, {"to": ["Bob"], "text": "Code {{ fields.code|default('none') }}",
                                   "template": True})
    assert accepted["deliveries"][0]["text"] == "Code none"


def test_preview_renders_without_sending(stack, token):
    reply = v1(stack, token, "POST", "/messages/preview",
               {"to": ["Aki", "Lera"], "text": "{{ name|upper }} on {{ messenger }}", "template": True})
    assert reply.status_code == 200, reply.text
    assert [(d["contact"], d["messenger"], d["to"], d["text"]) for d in reply.json()["deliveries"]] == [
        ("Aki", "telegram", "aki_t", "AKI on telegram"), ("Aki", "viber", "aki_v", "AKI on viber"),
        ("Lera", "whatsapp", "+7000", "LERA on whatsapp")]
    assert all(d["due_at"].endswith("+00:00") for d in reply.json()["deliveries"])
    bad = v1(stack, token, "POST", "/messages/preview", {"to": ["Aki"], "text": "{{ x }}", "template": True})
    assert bad.status_code == 422 and "'x' is undefined" in bad.json()["errors"]["json"]["text"][0]
    unknown = v1(stack, token, "POST", "/messages/preview", {"to": ["Nobody"], "text": "hi"})
    assert unknown.status_code == 404
    nothing_written(stack, token)


def test_a_template_over_a_thousand_contacts(stack, token):
    book = [{"name": f"c{i:04}", "telegram": f"t{i}", "whatsapp": f"+{i}",
             "fields": {"first_name": f"N{i}", "code": f"K{i}"}} for i in range(1000)]
    reply = v1(stack, token, "POST", "/contacts/import", book)
    assert reply.status_code == 200, reply.text
    names = [c["name"] for c in book]
    accepted = send(stack, token, {"to": names, "text": TEMPLATE, "template": True}, timeout=60)
    assert len(accepted["deliveries"]) == 2000
    wait_until(lambda: len(received(stack)) >= 2000, timeout=120, interval=0.5, message="2,000 arrived")
    arrived = sorted((r["to"], r["text"]) for r in received(stack))
    expected = sorted((to, f"Hi N{i}, your code is K{i}") for i in range(1000) for to in (f"t{i}", f"+{i}"))
    # Every delivery arrived once, each with its own contact's text.
    assert arrived == expected


def test_the_cli_previews_and_sends_a_template(stack, token, tmp_path):
    env = {"DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token,
           "DISPATCHER_CONFIG": str(tmp_path / "cli.json")}
    runner = CliRunner()
    preview = runner.invoke(main, ["send", "Code {{ fields.code }}", "--template", "--to", "Lera",
                                   "--preview"], env=env, prog_name="python cli.py")
    assert preview.exit_code == 0, preview.output
    assert "Lera" in preview.output and "Code B2" in preview.output
    assert received(stack) == []
    sent = runner.invoke(main, ["send", "Code {{ fields.code }}", "--template", "--to", "Lera",
                                "--wait", "--json"], env=env, prog_name="python cli.py")
    assert sent.exit_code == 0, sent.output
    assert [d["text"] for d in json.loads(sent.stdout)["deliveries"]] == ["Code B2"]
    assert [r["text"] for r in received(stack)] == ["Code B2"]
    shown = runner.invoke(main, ["messages", "show", json.loads(sent.stdout)["id"]], env=env,
                          prog_name="python cli.py")
    assert shown.exit_code == 0, shown.output
    header, row = shown.stdout.splitlines()[-2:]
    assert header.split() == ["CONTACT", "MESSENGER", "STATUS", "ATTEMPTS", "DUE", "LAST", "ERROR", "TEXT"]
    assert row.startswith("Lera ") and row.endswith(" Code B2")
    refused = runner.invoke(main, ["send", "{{ nope }}", "--template", "--to", "Lera"], env=env,
                            prog_name="python cli.py")
    assert refused.exit_code != 0 and "'nope' is undefined" in refused.output
