"""POST /api/v1/contacts/import and GET /api/v1/contacts's pages, against the real stack."""

import json
import threading
import time

import pymongo
import pytest
import requests

from apiclient import TIMEOUT, call, v1
from conftest import reset, running_stack, token_for
from core.contacts import IMPORT_RETRY_AFTER, IMPORT_WAIT
from core.users import UserStore
from helpers import wait_until

# Seconds a 20,000-contact import may take on a busy machine (about 3 s on a quiet one).
BIG_WAIT = 120


@pytest.fixture
def token(user_token):
    return user_token("alice")


def contact(name, telegram="", whatsapp="", viber=""):
    """A contact as the API lists it, with no time zone and no fields (tests/test_contact_profiles.py)."""
    return {"name": name, "telegram": telegram, "whatsapp": whatsapp, "viber": viber,
            "timezone": None, "fields": {}}


def book_of(stack, token):
    """alice's whole book through the v1 API, in order, a page at a time."""
    contacts, page = [], 1
    while True:
        reply = v1(stack, token, "GET", f"/contacts?page={page}&page_size=10000")
        assert reply.status_code == 200, reply.text
        contacts += reply.json()
        if not json.loads(reply.headers["X-Pagination"]).get("next_page"):
            return contacts
        page += 1


def import_json(stack, token, contacts, mode=None, timeout=TIMEOUT):
    return requests.post(f"{stack.api_url}/api/v1/contacts/import", json=contacts, timeout=timeout,
                         params={"mode": mode} if mode else None,
                         headers={"Authorization": f"Bearer {token}"})


def import_csv(stack, token, text, mode="merge"):
    return requests.post(f"{stack.api_url}/api/v1/contacts/import", params={"mode": mode},
                         data=text.encode(), timeout=TIMEOUT,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})


def test_merge_adds_and_replaces_in_the_files_order(stack, token):
    first = [contact("Artem", telegram="ArtemZaitsev"), contact("Lera", viber="+7000")]
    reply = import_json(stack, token, first)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"added": 2, "replaced": 0, "removed": 0}

    again = import_json(stack, token, [contact("Vasya", whatsapp="+7001"), contact("Artem", telegram="new")],
                        mode="merge")
    assert again.json() == {"added": 1, "replaced": 1, "removed": 0}
    assert book_of(stack, token) == [contact("Artem", telegram="new"), contact("Lera", viber="+7000"),
                                     contact("Vasya", whatsapp="+7001")]


def test_replace_removes_what_the_file_does_not_hold(stack, token):
    import_json(stack, token, [contact("A", telegram="a"), contact("B", telegram="b"), contact("C")])
    reply = import_json(stack, token, [contact("C", viber="c"), contact("D", telegram="d")], mode="replace")
    assert reply.json() == {"added": 1, "replaced": 1, "removed": 2}
    assert book_of(stack, token) == [contact("C", viber="c"), contact("D", telegram="d")]
    emptied = import_json(stack, token, [], mode="replace")
    assert emptied.json() == {"added": 0, "replaced": 0, "removed": 2}
    assert book_of(stack, token) == []


def test_csv_with_a_header_of_some_columns(stack, token):
    text = "\ufeffname,viber,telegram\nArtem,,ArtemZaitsev\n\"Lera, Jr.\",+7000,\n"
    reply = import_csv(stack, token, text)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"added": 2, "replaced": 0, "removed": 0}
    assert book_of(stack, token) == [contact("Artem", telegram="ArtemZaitsev"),
                                     contact("Lera, Jr.", viber="+7000")]


def test_names_of_any_kind_round_trip_through_an_import(stack, token):
    names = ["a.b$c", "$set", "😀 emoji", "  spaced  ", "Анна-Мария", "x" * 100, "O'Brien \"Q\""]
    import_json(stack, token, [contact(name, telegram="id-" + name) for name in names])
    listed = call(stack, "GET", "/api/contacts", {"user_name": "alice"},
                  headers={"Authorization": f"Bearer {token}"}).json()["contacts"]
    assert list(listed) == names
    assert all(listed[n] == {"telegram": "id-" + n, "whatsApp": "", "viber": ""} for n in names)


def test_bad_csv_rows_are_listed_by_line_and_nothing_is_written(stack, token):
    import_json(stack, token, [contact("Kept", telegram="k")])
    text = ("name,telegram,whatsapp,viber\n"
            "Artem,a,,\n"              # line 2: fine
            ",b,,\n"                   # line 3: no name
            "Lera,\"multi\nline\",,\n"  # lines 4-5: a control character in an ID
            "Artem,c,,\n"              # line 6: Artem again
            "Vasya,d,,,extra\n"        # line 7: one value too many
            f"Ivan,{'x' * 257},,\n")   # line 8: ID too long
    reply = import_csv(stack, token, text, mode="replace")
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert sorted(body["errors"]["csv"]) == ["line 3", "line 5", "line 6", "line 7", "line 8"]
    assert "name" in body["errors"]["csv"]["line 3"]
    assert "telegram" in body["errors"]["csv"]["line 5"]
    assert body["errors"]["csv"]["line 6"] == {"name": ["'Artem' appears twice (first at line 2)."]}
    assert "telegram" in body["errors"]["csv"]["line 8"]
    assert body["message"].startswith("5 bad row(s), nothing imported: line 3, line 5")
    assert book_of(stack, token) == [contact("Kept", telegram="k")]


def test_bad_json_items_are_listed_by_number_and_nothing_is_written(stack, token):
    reply = import_json(stack, token, [contact("A"), {"name": "B", "icq": "1"}, "C", {"telegram": "t"},
                                       {"name": "E", "viber": 5}])
    assert reply.status_code == 422, reply.text
    errors = reply.json()["errors"]["json"]
    assert sorted(errors) == ["item 2", "item 3", "item 4", "item 5"]
    assert "icq" in errors["item 2"] and "name" in errors["item 4"] and "viber" in errors["item 5"]
    assert book_of(stack, token) == []


@pytest.mark.parametrize("body, content_type, where", [
    ({"name": "A"}, "application/json", "json"),
    (b"telegram\nx\n", "text/csv", "csv"),
    (b"name,icq\nA,1\n", "text/csv", "csv"),
    (b"name\n\xff\n", "text/csv", "csv"),
])
def test_a_body_that_is_no_book_is_a_422(stack, token, body, content_type, where):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    reply = requests.post(f"{stack.api_url}/api/v1/contacts/import", data=data, timeout=TIMEOUT,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    assert reply.status_code == 422, reply.text
    assert where in reply.json()["errors"]


def test_an_unknown_mode_is_refused(stack, token):
    reply = import_json(stack, token, [contact("A")], mode="append")
    assert reply.status_code == 422
    assert "mode" in reply.json()["errors"]["query"]
    assert book_of(stack, token) == []


def test_the_import_size_is_bounded(make_stack):
    stack = make_stack(max_import_contacts=3)
    mongo = pymongo.MongoClient(stack.config.mongo_url)
    token = UserStore(mongo[stack.config.mongo_db]).create_user("alice")
    too_many = import_json(stack, token, [contact(f"c{i}") for i in range(4)])
    assert too_many.status_code == 413, too_many.text
    assert too_many.json()["message"] == "An import holds at most 3 contacts; this one has more."
    assert book_of(stack, token) == []
    assert import_json(stack, token, [contact(f"c{i}") for i in range(3)]).json()["added"] == 3
    mongo.close()


def test_an_import_cut_short_by_a_crash_completes_when_repeated(make_stack):
    # Big enough to take seconds to write, so the API is killed part way.
    stack = make_stack()
    mongo = pymongo.MongoClient(stack.config.mongo_url)
    db = mongo[stack.config.mongo_db]
    token = UserStore(db).create_user("alice")
    import_json(stack, token, [contact("Old", telegram="o"), contact("c00007", telegram="before")])
    book = [contact(f"c{i:05d}", telegram=f"t{i}") for i in range(20_000)]
    outcome = {}

    def cut_short():
        try:
            outcome["reply"] = import_json(stack, token, book, mode="replace", timeout=BIG_WAIT)
        except requests.RequestException as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=cut_short)
    sender.start()
    wait_until(lambda: db.contacts.count_documents({"user": "alice"}) > 2, timeout=30, interval=0.01)
    stack.kill("api")
    sender.join(BIG_WAIT)
    assert "reply" not in outcome or outcome["reply"].status_code >= 500, outcome["reply"].text

    stack.start()
    written = db.contacts.count_documents({"user": "alice"})
    assert 2 < written < len(book) + 1
    # Nothing is removed before every contact of the file is written.
    assert db.contacts.count_documents({"user": "alice", "name": "Old"}) == 1
    again = import_json(stack, token, book, mode="replace", timeout=BIG_WAIT)
    assert again.status_code == 200, again.text
    counts = again.json()
    assert counts["added"] + counts["replaced"] == len(book)
    assert counts["replaced"] == written - 1 and counts["removed"] == 1
    # A contact replaced keeps its place (as the original API's replace does); new ones follow in order.
    assert book_of(stack, token) == [book[7], *book[:7], *book[8:]]
    assert import_json(stack, token, book, mode="replace", timeout=BIG_WAIT).json() == {
        "added": 0, "replaced": len(book), "removed": 0}
    mongo.close()


def test_pages_in_the_order_added_with_a_name_prefix(stack, token):
    names = [f"{prefix}{i:02d}" for i in range(12) for prefix in ("a", "b")]
    import_json(stack, token, [contact(name) for name in names])
    pages = [v1(stack, token, "GET", f"/contacts?page={n}&page_size=10") for n in (1, 2, 3)]
    assert [c["name"] for page in pages for c in page.json()] == names
    assert [len(page.json()) for page in pages] == [10, 10, 4]
    info = json.loads(pages[1].headers["X-Pagination"])
    assert info == {"total": 24, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 2,
                    "previous_page": 1, "next_page": 3}

    found = v1(stack, token, "GET", "/contacts?q=b0&page_size=5")
    assert [c["name"] for c in found.json()] == ["b00", "b01", "b02", "b03", "b04"]
    assert json.loads(found.headers["X-Pagination"])["total"] == 10
    assert v1(stack, token, "GET", "/contacts?q=b1&page=2&page_size=1").json() == [contact("b11")]
    assert v1(stack, token, "GET", "/contacts?q=c").json() == []
    assert v1(stack, token, "GET", "/contacts?page=9").json() == []


def test_a_prefix_is_matched_as_text_not_as_a_pattern(stack, token):
    names = ["a.b", "a.c", "axb", "$x", "😀 one", "😀two", "😁"]
    import_json(stack, token, [contact(name) for name in names])
    for q, expected in (("a.", ["a.b", "a.c"]), ("$", ["$x"]), ("😀", ["😀 one", "😀two"]), (".", [])):
        found = v1(stack, token, "GET", "/contacts", params={"q": q})
        assert [c["name"] for c in found.json()] == expected, q


@pytest.mark.parametrize("query, field", [("page_size=10001", "page_size"), ("page=0", "page"),
                                          ("sort=name", "sort"), ("q=" + "x" * 101, "q")])
def test_bad_paging_is_a_422_naming_the_parameter(stack, token, query, field):
    reply = v1(stack, token, "GET", "/contacts?" + query)
    assert reply.status_code == 422, reply.text
    assert field in reply.json()["errors"]["query"]


def test_a_send_to_more_names_than_one_lookup_takes(stack, token):
    names = [f"n{i:03d}" for i in range(150)]
    import_json(stack, token, [contact(name, telegram="t-" + name) for name in names])
    refused = v1(stack, token, "POST", "/messages", {"to": names + ["nobody"], "text": "hi"})
    assert refused.status_code == 404
    assert refused.json()["errors"]["json"]["to"] == ["No contact named 'nobody'."]
    sent = v1(stack, token, "POST", "/messages", {"to": names, "text": "hi"})
    assert sent.status_code == 202, sent.text
    assert sorted(d["to"] for d in sent.json()["deliveries"]) == sorted("t-" + n for n in names)


def test_a_contact_named_import_is_still_a_contact(stack, token):
    assert v1(stack, token, "PUT", "/contacts/import", {"telegram": "x"}).status_code == 200
    assert v1(stack, token, "GET", "/contacts/import").json() == {**contact("import", telegram="x"), "blocked": []}
    assert v1(stack, token, "DELETE", "/contacts/import").status_code == 204
    assert book_of(stack, token) == []


@pytest.fixture(scope="module")
def shipped_services(tmp_path_factory):
    with running_stack(tmp_path_factory, "imports", shipped=True) as running:
        yield running


@pytest.fixture
def shipped(shipped_services):
    """A stack of the module's own at the shipped settings, emptied, and alice's token on it."""
    reset(shipped_services)
    return shipped_services, token_for(shipped_services)


@pytest.mark.parametrize("trial", range(3))
def test_of_two_concurrent_replaces_one_wins_whole(shipped, trial):
    stack, token = shipped
    import_json(stack, token, [contact(f"old{i:04d}") for i in range(1000)], mode="replace", timeout=BIG_WAIT)
    books = {side: [contact(f"{side}{i:04d}", telegram=side) for i in range(3000)] for side in ("a", "b")}
    replies, start = {}, threading.Barrier(2)

    def replace(side):
        start.wait()
        replies[side] = import_json(stack, token, books[side], mode="replace", timeout=BIG_WAIT)

    senders = [threading.Thread(target=replace, args=(side,)) for side in books]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(BIG_WAIT)
    # The second waits for the first, then replaces its book whole.
    assert {side: reply.status_code for side, reply in replies.items()} == {"a": 200, "b": 200}
    removed = sorted(reply.json()["removed"] for reply in replies.values())
    assert removed == [1000, 3000], replies
    last = "a" if replies["a"].json()["removed"] == 3000 else "b"
    assert book_of(stack, token) == books[last]


def test_an_import_waits_for_one_in_hand_then_is_a_409(shipped):
    stack, token = shipped
    mongo = pymongo.MongoClient(stack.config.mongo_url)
    books = mongo[stack.config.mongo_db].contact_books
    # Another process's import, still holding the book (its lease renewed) past IMPORT_WAIT.
    books.insert_one({"_id": "alice", "next_seq": 0, "importing_by": "other",
                      "importing_until": time.time() + IMPORT_WAIT + 30})
    began = time.monotonic()
    reply = import_json(stack, token, [contact("A")], mode="replace", timeout=BIG_WAIT)
    waited = time.monotonic() - began
    assert reply.status_code == 409, reply.text
    assert reply.headers["Retry-After"] == str(IMPORT_RETRY_AFTER)
    assert IMPORT_WAIT <= waited < IMPORT_WAIT + 10
    assert book_of(stack, token) == []
    # Once it ends (its lease lapses), the import goes through.
    books.update_one({"_id": "alice"}, {"$set": {"importing_until": time.time() + 1}})
    assert import_json(stack, token, [contact("A")], mode="replace").json() == {"added": 1, "replaced": 0,
                                                                              "removed": 0}
    mongo.close()
