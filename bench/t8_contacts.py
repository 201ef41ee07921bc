"""Target 8: contact books of any size (issue 17).

Through the project's API: the cost of adding, replacing, removing and
reading one contact in a book of 10 and of 100,000 (p50, p99; the ratio
should be about 1); an import of 10,000 contacts in one request against one
request per contact (as `contacts import` did before); a send to 10,000
contacts; a 100,000-contact book imported, listed (the original GET, and
v1's pages) and sent to. Today's path, the same run: the queries of the old
shape (a user's book as one document holding an array, every write
rewriting it) timed straight on the MongoDB-protocol server at 10 and
100,000 contacts.
"""

import time

import requests

from bench.runner import PAST, log
from bench.stats import percentile, ratio
from bench.systems import contact_ids
from core.contacts import ContactBook
from core.users import UserStore

NAME = "contacts"
TITLE = "contact books of 10 and 100,000: one contact's cost, import in one request, sends"
BIG = 100_000
SMALL = 10
TIMEOUT = 600


def _book(count, prefix="c"):
    return [{"name": f"{prefix}{i:06d}", **contact_ids(i)} for i in range(count)]


def _ms(samples):
    return {"p50_ms": round(percentile(samples, 50) * 1000, 2),
            "p99_ms": round(percentile(samples, 99) * 1000, 2)}


def _timed(action, count):
    samples = []
    for i in range(count):
        started = time.perf_counter()
        action(i)
        samples.append(time.perf_counter() - started)
    return samples


class Client:
    """The project's API as one bench user: the original requests and v1 with a token."""

    def __init__(self, url, user, token):
        self.url, self.user = url, user
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method, path, body=None, ok=200, **kwargs):
        """One request; its JSON answer (it must have the status `ok`)."""
        reply = self.http.request(method, self.url + path, json=body, timeout=TIMEOUT, **kwargs)
        if reply.status_code != ok:
            raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text[:200]}")
        return reply.json() if reply.content else None

    def add(self, name, telegram="t"):
        """The original API's add (or replace)."""
        self.call("POST", "/api/contacts", {"user_name": self.user, "contact": {
            "name": name, "messangers": {"telegram": telegram, "whatsApp": "", "viber": ""}}})

    def send(self, names):
        """The original API's send, now; its answer time in seconds."""
        started = time.perf_counter()
        self.call("PUT", "/api/contacts", {"user_name": self.user, "contact": names,
                                           "message": "t7", "time": PAST})
        return time.perf_counter() - started


def per_operation(client, names, count):
    """p50/p99 of one add, replace, remove and read, in the client's book."""
    ops = {
        "add": lambda i: client.add(f"new{i:05d}"),
        "replace": lambda i: client.add(names[i % len(names)], f"r{i}"),
        "read": lambda i: client.call("GET", f"/api/v1/contacts/{names[i % len(names)]}"),
        "remove": lambda i: client.call("DELETE", "/api/contacts",
                                        {"user_name": client.user, "contact": f"new{i:05d}"}),
    }
    return {op: _ms(_timed(action, count)) for op, action in ops.items()}


def old_shape(db, size, count):
    """The old ContactBook's queries on a book of `size` in one document: p50/p99 per operation."""
    books = db["t8_old_books"]
    user = f"old{size}"
    books.replace_one({"_id": user}, {"_id": user, "contacts": _book(size)}, upsert=True)
    names = [c["name"] for c in _book(size)]

    def add(i):
        entry = {"name": f"new{i:05d}", **contact_ids(i)}
        if not books.update_one({"_id": user, "contacts.name": entry["name"]},
                                {"$set": {"contacts.$": entry}}).matched_count:
            books.update_one({"_id": user, "contacts.name": {"$ne": entry["name"]}},
                             {"$push": {"contacts": entry}}, upsert=True)

    def replace(i):
        entry = {"name": names[i % size], **contact_ids(i)}
        books.update_one({"_id": user, "contacts.name": entry["name"]}, {"$set": {"contacts.$": entry}})

    ops = {
        "add": add,
        "replace": replace,
        "read": lambda i: books.find_one({"_id": user}, {"contacts": 1}),
        "remove": lambda i: books.update_one({"_id": user}, {"$pull": {"contacts": {"name": f"new{i:05d}"}}}),
    }
    figures = {op: _ms(_timed(action, count)) for op, action in ops.items()}
    books.delete_one({"_id": user})
    return figures


def trial(bench, system):
    """Every figure of this target, on one started project."""
    quick = bench.quick
    db = bench.infra.mongo[system.config.mongo_db]
    users = UserStore(db)
    store = ContactBook(db)
    store.ensure_indexes()

    def client(user):
        if not users.exists(user):
            users.create_user(user)
        return Client(system.api_url, user, users.issue_token(user)[1])

    out = {"sizes": {}, "old_shape": {}}
    ops = 20 if quick else 200
    for size in (SMALL, BIG):
        user = f"t7book{size}"
        book = _book(size)
        store.import_book(user, book, len(book), replace=True)
        log(f"    one contact at a time in a book of {size:,}")
        out["sizes"][size] = per_operation(client(user), [c["name"] for c in book], ops)
        log(f"    today's shape, {size:,} contacts")
        out["old_shape"][size] = old_shape(db, size, 5 if quick else 20)

    imports = 1_000 if quick else 10_000
    book = _book(imports, "i")
    one = client("t7import")
    started = time.perf_counter()
    counts = one.call("POST", "/api/v1/contacts/import", book)
    out["import_one_request_s"] = round(time.perf_counter() - started, 3)
    out["import_counts"] = counts
    each = client("t7each")
    log(f"    {imports:,} contacts one request each")
    started = time.perf_counter()
    for contact in book:
        each.call("PUT", f"/api/v1/contacts/{contact['name']}",
                  {m: contact[m] for m in ("telegram", "whatsapp", "viber")})
    out["import_one_by_one_s"] = round(time.perf_counter() - started, 3)
    out["imported"] = imports

    send_to = 1_000 if quick else 10_000
    fan = client("t7send")
    fan.call("POST", "/api/v1/contacts/import", _book(send_to))
    out["send_to"] = send_to
    out["send_all_s"] = round(fan.send([c["name"] for c in _book(send_to)]), 3)
    system.purge()

    big = client("t7big")
    log(f"    a book of {BIG:,}: import, list, send")
    started = time.perf_counter()
    big.call("POST", "/api/v1/contacts/import", _book(BIG))
    out["big_import_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    listed = big.call("GET", "/api/contacts", {"user_name": "t7big"})["contacts"]
    out["big_list_s"] = round(time.perf_counter() - started, 2)
    out["big_listed"] = len(listed)
    started = time.perf_counter()
    paged, page = 0, 1
    while True:
        items = big.call("GET", "/api/v1/contacts", params={"page": page, "page_size": 10_000})
        paged += len(items)
        if not items:
            break
        page += 1
    out["big_pages_s"] = round(time.perf_counter() - started, 2)
    out["big_paged"] = paged
    out["big_send_10_s"] = round(big.send([c["name"] for c in _book(10)]), 3)
    out["big_send_1000_s"] = round(big.send([c["name"] for c in _book(1000)]), 3)
    system.purge()
    return out


def run(bench):
    """One trial (its figures are many samples each); ratios and verdicts."""
    # An import of 100,000 contacts fits MAX_IMPORT_BYTES as shipped.
    system = bench.project()
    with system.start():
        result = trial(bench, system)
    sizes, old = result["sizes"], result["old_shape"]
    result["p99_ratio"] = {op: ratio(sizes[BIG][op]["p99_ms"], sizes[SMALL][op]["p99_ms"]) for op in sizes[SMALL]}
    result["old_p99_ratio"] = {op: ratio(old[BIG][op]["p99_ms"], old[SMALL][op]["p99_ms"]) for op in old[SMALL]}
    result["import_speedup"] = ratio(result["import_one_by_one_s"], result["import_one_request_s"])
    result["met"] = {
        "same_cost": all(r is not None and r <= 2 for r in result["p99_ratio"].values()),
        "import_20x": result["import_speedup"] is not None and result["import_speedup"] >= 20,
        "send_2s": result["send_all_s"] <= 2.0,
        "big_book": result["big_listed"] == BIG and result["big_paged"] == BIG,
    }
    return result
