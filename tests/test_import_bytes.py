"""POST /api/v1/contacts/import's own body limit, MAX_IMPORT_BYTES, through nginx and at gunicorn (issue 17).

Every other route keeps MAX_BODY_BYTES; a 413 names the limit that applies
and writes nothing.
"""

import csv
import io
import json
import re
import socket

import pymongo
import pytest
import requests

from console.client import DEFAULT_TIMEOUT
from console.contacts import SECONDS_PER_CONTACT
from core.config import Config, ConfigError
from core.users import UserStore
from stack import proxy as nginx
from test_limits import MIB, assert_error, backend

IMPORT = "/api/v1/contacts/import"
COLUMNS = ("name", "telegram", "whatsapp", "viber")
FIRST = ("Artem", "Valeria", "Vasily", "Ekaterina", "Konstantin", "Olga")
LAST = ("Zaitsev", "Ivanova", "Petrov", "Smirnova", "Volkov-Sokolov", "Lebedeva")
RU_FIRST = ("Артём", "Валерия", "Василий", "Екатерина", "Константин", "Ольга")
RU_LAST = ("Зайцев", "Иванова", "Петров", "Смирнова", "Волков-Соколов", "Лебедева")
# Seconds a 16,000-contact import may take on a busy machine (about 3 s on a quiet one).
BIG_WAIT = 120
# Contacts past MAX_BODY_BYTES's 1 MiB as JSON and as CSV (2.0 and 1.2 MB).
ABOVE_BODY_LIMIT = 16_000


def proxy(stack):
    """nginx, the stack's entry (`make run`'s too)."""
    return stack.api_url


def realistic_book(count, first=FIRST, last=LAST):
    """count contacts with a full name and all three IDs: a Telegram username and a phone number twice."""
    return [{"name": f"{first[i % len(first)]} {last[i // len(first) % len(last)]} {i:06d}",
             "telegram": f"{FIRST[i % len(FIRST)].lower()}_{LAST[i % len(LAST)].lower()}{i}",
             "whatsapp": f"+7920{i:07d}", "viber": f"+7920{i:07d}"} for i in range(count)]


def encoded(book, kind):
    """The book as an import body (JSON as requests' json= writes it, or CSV), and its Content-Type."""
    if kind == "json":
        return json.dumps(book).encode(), "application/json"
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS)
    writer.writeheader()
    writer.writerows(book)
    return text.getvalue().encode(), "text/csv"


def post(url, path, data, token, content_type="application/json", method="POST"):
    return requests.request(method, url + path, data=data, timeout=BIG_WAIT,
                            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})


def too_large(size, variable):
    return f"The request body is larger than {size} bytes, this route's limit ({variable})."


def answered_by(reply):
    """Who wrote an error answer: nginx's template spaces its JSON, Flask's is compact."""
    return "nginx" if b'"code": ' in reply.content else "api"


def contacts_written(stack):
    mongo = pymongo.MongoClient(stack.config.mongo_url)
    try:
        return mongo[stack.config.mongo_db].contacts.count_documents({})
    finally:
        mongo.close()


def test_max_import_bytes_is_a_checked_setting():
    assert Config().max_import_bytes == 64 * MIB
    with pytest.raises(ConfigError, match="MAX_IMPORT_BYTES: 0 must be at least 1"):
        Config(max_import_bytes=0)


@pytest.mark.parametrize("names", [(FIRST, LAST), (RU_FIRST, RU_LAST)], ids=["latin", "cyrillic"])
@pytest.mark.parametrize("kind", ["json", "csv"])
def test_the_default_holds_max_import_contacts_three_times_over(names, kind):
    # Measured: 12.7 MB (12.1 MiB) of JSON with Latin names, 20.3 MB (19.4 MiB)
    # with Cyrillic ones, each letter a 6-byte \u escape; 7.3 and 8.9 MB of CSV.
    config = Config()
    data, _ = encoded(realistic_book(config.max_import_contacts, *names), kind)
    assert 3 * len(data) < config.max_import_bytes


def test_nginx_gives_the_import_its_own_limit_and_waits_as_long_as_the_cli():
    values = {**dict.fromkeys(nginx.NAMES, "127.0.0.1:1"), "MAX_BODY_BYTES": 1111, "MAX_IMPORT_BYTES": 2222}
    rendered = nginx.render_template(values)
    block = re.search(r"location = /api/v1/contacts/import \{(.*?)\n    \}", rendered, re.DOTALL).group(1)
    # The error pages' 0: a body was read under its route's limit before.
    assert re.findall(r"client_max_body_size (\d+);", rendered) == ["1111", "2222", "0"]
    assert "client_max_body_size 2222;" in block and "proxy_pass $api_upstream;" in block
    waits = int(re.search(r"proxy_read_timeout (\d+)s;", block).group(1))
    assert waits > DEFAULT_TIMEOUT + Config().max_import_contacts * SECONDS_PER_CONTACT


@pytest.mark.parametrize("url_of", [proxy, backend], ids=["proxy", "gunicorn"])
@pytest.mark.parametrize("kind", ["json", "csv"])
def test_an_import_above_max_body_bytes_is_read_at_the_shipped_limits(stack, user_token, url_of, kind):
    assert (stack.config.max_body_bytes, stack.config.max_import_bytes) == (MIB, 64 * MIB)
    data, content_type = encoded(realistic_book(ABOVE_BODY_LIMIT), kind)
    assert len(data) > MIB
    reply = post(url_of(stack), IMPORT, data, user_token("alice"), content_type)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"added": ABOVE_BODY_LIMIT, "replaced": 0, "removed": 0}
    assert contacts_written(stack) == ABOVE_BODY_LIMIT


@pytest.mark.parametrize("url_of", [proxy, backend], ids=["proxy", "gunicorn"])
def test_every_other_route_keeps_max_body_bytes(stack, user_token, url_of):
    token = user_token("alice")
    data, _ = encoded(realistic_book(ABOVE_BODY_LIMIT), "json")
    expected = too_large(MIB, "MAX_BODY_BYTES")
    # PUT /contacts/import is the contact named "import": nginx passes it on, the API refuses it.
    for method, path, legacy, refuser in (("POST", "/api/v1/contacts", False, "nginx"),
                                          ("PUT", IMPORT, False, "api"),
                                          ("POST", "/api/contacts", True, "nginx")):
        reply = post(url_of(stack), path, data, token, method=method)
        assert assert_error(reply, 413, legacy)["message"] == expected, (method, path)
        assert answered_by(reply) == (refuser if url_of is proxy else "api"), (method, path)
    assert contacts_written(stack) == 0


@pytest.mark.parametrize("url_of", [proxy, backend], ids=["proxy", "gunicorn"])
def test_a_body_above_the_shipped_max_import_bytes_is_a_413_naming_it(stack, user_token, url_of):
    data = b"[" + b" " * (64 * MIB - 1) + b"]"
    reply = post(url_of(stack), IMPORT, data, user_token("alice"))
    assert assert_error(reply, 413)["message"] == too_large(64 * MIB, "MAX_IMPORT_BYTES")
    assert answered_by(reply) == ("nginx" if url_of is proxy else "api")
    assert contacts_written(stack) == 0


def test_a_smaller_max_import_bytes_bounds_the_import_alone(make_stack):
    limit = 64 * 1024
    stack = make_stack(names=("redis", "mongo", "api"), max_import_bytes=limit)
    mongo = pymongo.MongoClient(stack.config.mongo_url)
    token = UserStore(mongo[stack.config.mongo_db]).create_user("alice")
    mongo.close()
    book, _ = encoded(realistic_book(500), "json")
    assert len(book) < limit < MIB
    # The same contacts either way: one byte of trailing space tells them apart.
    at_limit, over = book.ljust(limit), book.ljust(limit + 1)
    for url, refuser in ((proxy(stack), "nginx"), (backend(stack), "api")):
        for data in (over, iter([over[:1000], over[1000:]])):
            reply = post(url, IMPORT, data, token)
            assert assert_error(reply, 413)["message"] == too_large(limit, "MAX_IMPORT_BYTES"), url
            assert answered_by(reply) == refuser
        assert contacts_written(stack) == 0
        # Not the import's limit: a list is no contact (422), read in full.
        assert post(url, "/api/v1/contacts", over, token).status_code == 422
    reply = post(proxy(stack), IMPORT, at_limit, token)
    assert reply.status_code == 200, reply.text
    assert reply.json()["added"] == 500


def test_a_refused_body_is_read_to_its_end_so_the_answer_is_not_lost_to_a_reset(stack, user_token):
    # gunicorn closing with a body unread resets the connection: nginx, still
    # sending, answers 502 in place of the API's 413 (benoitc/gunicorn#872).
    # 16 MiB is more than loopback's socket buffers hold, so the sender sees the reset.
    host, port = backend(stack).removeprefix("http://").split(":")
    body = b" " * (16 * MIB)
    head = (f"PUT {IMPORT} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {user_token('alice')}\r\nContent-Length: {len(body)}\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=BIG_WAIT) as conn:
        conn.sendall(head.encode() + body)
        answer = b"".join(iter(lambda: conn.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert too_large(MIB, "MAX_BODY_BYTES").encode() in answer
    assert contacts_written(stack) == 0
