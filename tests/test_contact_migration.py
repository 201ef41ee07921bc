"""Books written in the old shape (one document per user, contacts in an array) keep working."""

import threading
import time

import pymongo
import pytest

from apiclient import add_contact, call, received, send, v1
from core.contact_migration import migrate
from helpers import wait_until

NAMES = ["Artem", "a.b$c", "$set", "😀 emoji", "  spaced  ", "Анна-Мария", "x" * 100]


def old_book(names, prefix="id-"):
    """A contact array as the old ContactBook wrote it."""
    return [{"name": n, "telegram": prefix + n, "whatsapp": "", "viber": ""} for n in names]


@pytest.fixture
def db(stack):
    mongo = pymongo.MongoClient(stack.config.mongo_url)
    yield mongo[stack.config.mongo_db]
    mongo.close()


def listed(stack, user):
    return call(stack, "GET", "/api/contacts", {"user_name": user}).json()["contacts"]


def test_old_books_are_read_written_and_sent_to_after_a_restart(stack, db):
    stack.stop("api")
    db.contact_books.insert_many([
        {"_id": "test", "contacts": old_book(NAMES)},
        {"_id": "other", "contacts": old_book(["Lera"], "lera-")},
        {"_id": "emptied", "contacts": []},
    ])
    stack.start("api")

    assert list(listed(stack, "test")) == NAMES
    assert listed(stack, "test")["a.b$c"] == {"telegram": "id-a.b$c", "whatsApp": "", "viber": ""}
    assert listed(stack, "other") == {"Lera": {"telegram": "lera-Lera", "whatsApp": "", "viber": ""}}
    assert listed(stack, "emptied") == {}
    assert db.contact_books.count_documents({"contacts": {"$exists": True}}) == 0

    add_contact(stack, "test", "New", telegram="n")
    add_contact(stack, "test", "$set", telegram="changed")
    assert call(stack, "DELETE", "/api/contacts", {"user_name": "test", "contact": "Artem"}).json() == {
        "success": True}
    assert list(listed(stack, "test")) == NAMES[1:] + ["New"]
    assert listed(stack, "test")["$set"]["telegram"] == "changed"

    assert send(stack, "test", ["😀 emoji", "New"], "hi").status_code == 200
    wait_until(lambda: len(received(stack)) == 2, timeout=15)
    assert sorted(r["to"] for r in received(stack)) == ["id-😀 emoji", "n"]

    # Again at the next start: nothing left to convert, nothing changed.
    stack.restart("api")
    assert list(listed(stack, "test")) == NAMES[1:] + ["New"]


def test_the_v1_api_sees_a_converted_book(stack, db, user_token):
    token = user_token("alice")
    stack.stop("api")
    db.contact_books.insert_one({"_id": "alice", "contacts": old_book(["B", "A"])})
    stack.start("api")
    assert [c["name"] for c in v1(stack, token, "GET", "/contacts").json()] == ["B", "A"]
    assert v1(stack, token, "POST", "/contacts", {"name": "A"}).status_code == 409
    assert v1(stack, token, "POST", "/contacts", {"name": "C"}).status_code == 201
    assert [c["name"] for c in v1(stack, token, "GET", "/contacts?q=C").json()] == ["C"]


def test_processes_converting_together_write_each_contact_once(stack, db):
    books = {f"user{u}": [f"c{i:04d}" for i in range(1200)] for u in range(6)}
    db.contact_books.insert_many([{"_id": user, "contacts": old_book(names)} for user, names in books.items()])
    done, errors = [], []

    def one_process():
        client = pymongo.MongoClient(stack.config.mongo_url)
        try:
            done.append(migrate(client[stack.config.mongo_db]))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=one_process) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == [] and sum(done) == len(books)
    for user, names in books.items():
        docs = list(db.contacts.find({"user": user}).sort("seq", 1))
        assert [d["name"] for d in docs] == names
    assert db.contact_books.count_documents({"contacts": {"$exists": True}}) == 0


def test_a_conversion_cut_short_is_finished_by_the_next_process(stack, db):
    names = [f"c{i:04d}" for i in range(700)]
    # As a process leaves it when it dies part way: its claim run out, half written.
    db.contact_books.insert_one({"_id": "test", "contacts": old_book(names),
                                 "migrating_by": "dead", "migrating_until": time.time() - 1})
    db.contacts.insert_many([{"user": "test", "name": n, "seq": i, "telegram": "id-" + n,
                              "whatsapp": "", "viber": ""} for i, n in enumerate(names[:500])])
    assert migrate(db) == 1
    assert [d["name"] for d in db.contacts.find({"user": "test"}).sort("seq", 1)] == names
    assert db.contact_books.find_one({"_id": "test"}) == {"_id": "test", "next_seq": 700}
    assert migrate(db) == 0


def test_a_book_another_process_is_converting_is_waited_for(stack, db):
    db.contact_books.insert_one({"_id": "test", "contacts": old_book(["A"]),
                                 "migrating_by": "alive", "migrating_until": time.time() + 30})

    def finish_it():
        time.sleep(0.5)
        db.contacts.insert_one({"user": "test", "name": "A", "seq": 0, "telegram": "id-A",
                                "whatsapp": "", "viber": ""})
        db.contact_books.update_one({"_id": "test"}, {"$unset": {"contacts": "", "migrating_by": "",
                                                                 "migrating_until": ""}})

    other = threading.Thread(target=finish_it)
    started = time.monotonic()
    other.start()
    assert migrate(db) == 0
    assert time.monotonic() - started >= 0.5
    other.join()

