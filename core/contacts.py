"""The contact book: one MongoDB document per contact, kept in the order added."""

import time
import uuid
from collections import namedtuple
from contextlib import contextmanager
from importlib.resources import files
from itertools import islice

import pymongo
from pymongo import DeleteOne, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from core.config import MESSENGERS

CONTACTS = "contacts"
# One document per user: `next_seq`, the order number of the user's next new
# contact. A document that still holds a `contacts` array is a book of the
# old shape, waiting for core/contact_migration.py.
BOOKS = "contact_books"
BY_NAME = [("user", pymongo.ASCENDING), ("name", pymongo.ASCENDING)]
BY_ORDER = [("user", pymongo.ASCENDING), ("seq", pymongo.ASCENDING)]
FIELDS = {"_id": 0, "name": 1, **{m: 1 for m in MESSENGERS}}
# A contact's profile: its time zone (absent: the service's TIMEZONE applies)
# and its fields, short texts a template reads as `fields.<key>`. Only the
# v1 API sets them; the original API's writes leave them as they are.
PROFILE = ("timezone", "fields")
WITH_PROFILE = {**FIELDS, **{key: 1 for key in PROFILE}}
# The IANA names of the pinned tzdata package, listed: a name is one of these
# or refused, as documented, on every machine alike. zoneinfo.available_timezones()
# would add what the machine has beside them, such as `localtime`, its own zone.
TIME_ZONES = tuple(sorted(files("tzdata").joinpath("zones").read_text().split()))
FIELDS_MAX = 20
FIELD_KEY_MAX = 64
# A key is a Jinja2 name, so that `fields.<key>` reads it in a template.
FIELD_KEY_PATTERN = f"^[A-Za-z_][A-Za-z0-9_]{{0,{FIELD_KEY_MAX - 1}}}$"
FIELD_VALUE_MAX = 256
Recipient = namedtuple("Recipient", "ids timezone fields")
# A whole book, a page of a big one and each batch of an import take longer
# than one request's store timeout (1 s) on a large book: reading 100,000
# contacts takes 3 s on secantusd-py (BENCHMARKS.md, target 8).
BULK_TIMEOUT = 60.0
# Writes per round trip of an import or a migration.
BATCH = 500
# A send to more names than this reads the whole book instead: secantusd-py
# looks up an $in list in time growing with its square (10,000 names: 78 s).
IN_LIMIT = 100
DUPLICATE_KEY = 11000
# Seconds an import holds its user's book (renewed at each batch), and waits
# for another import of it to end: 100,000 contacts take 32-142 s to write
# (deploy/nginx.conf.template), a 3,000-contact import about a second.
IMPORT_LEASE = 30.0
IMPORT_WAIT = 60.0
IMPORT_POLL = 0.1
# What a refused import's Retry-After says.
IMPORT_RETRY_AFTER = 10
# The widest range of order numbers one read of a window covers. This server
# reads the whole of a query's range before it applies a limit, so the first
# page of 50 of 100,000 contacts costs seconds by `page` (skip and limit) and
# milliseconds as a range of order numbers: 5,000 contacts read at most 0.2 s.
WINDOW_SPAN_MAX = 5000


class ImportBusy(Exception):
    """Another import of the user's book held it past IMPORT_WAIT (or took it over)."""


def _ids(source: dict) -> dict:
    return {m: source.get(m) or "" for m in MESSENGERS}


def _entry(user, name, ids, seq, profile=None) -> dict:
    return {"user": user, "name": name, "seq": seq, **_ids(ids), **_profile(profile)}


def _profile(source) -> dict:
    """What a write stores of a profile: nothing for None (the original API's writes)."""
    if source is None:
        return {}
    return {"timezone": source.get("timezone"), "fields": dict(source.get("fields") or {})}


def _shown_profile(doc) -> dict:
    """A stored contact's time zone and fields as the v1 API shows them: null and {} if never set."""
    return {"timezone": doc.get("timezone"), "fields": doc.get("fields") or {}}


def prefix_bounds(prefix: str) -> dict:
    """A query on `name` for the names that start with prefix (an index range, not a regex)."""
    bounds = {"$gte": prefix}
    # The least string above every one that starts with prefix: its last
    # character that can grow, grown (UTF-8 order is code point order).
    head = prefix
    while head:
        last = ord(head[-1])
        head = head[:-1]
        if last < 0x10FFFF:
            bounds["$lt"] = head + chr(0xE000 if last == 0xD7FF else last + 1)
            break
    return bounds


def _next_span(span: int, got: int, wanted: int) -> int:
    """How many order numbers the next read of a window covers: 4 times as many after an empty one,
    else as many as hold the contacts still wanted at the density just read."""
    if not got:
        return min(WINDOW_SPAN_MAX, span * 4)
    return min(WINDOW_SPAN_MAX, max(wanted, -(-wanted * span // got)))


class ContactBook:
    """Users' contacts: name -> messenger IDs (empty ID: no such messenger)."""

    def __init__(self, db):
        self._db = db
        self._contacts = db[CONTACTS]
        self._books = db[BOOKS]

    def ensure_indexes(self) -> None:
        """The unique (user, name) index every write relies on, the order's, and each messenger ID's (holders)."""
        self._contacts.create_index(BY_NAME, unique=True, name="user_name")
        self._contacts.create_index(BY_ORDER, name="user_seq")
        for messenger in MESSENGERS:
            self._contacts.create_index([(messenger, pymongo.ASCENDING)], name=f"by_{messenger}")

    def bind(self, user: str, name: str, messenger: str, messenger_id: str) -> bool:
        """Set one messenger's ID of a contact (an invite followed); False if the user has no such contact."""
        return bool(self._contacts.update_one({"user": user, "name": name},
                                              {"$set": {messenger: messenger_id}}).matched_count)

    def holders(self, messenger: str, forms: list) -> list:
        """(user, name, ID as held) of every user's contact whose ID on messenger is one of forms."""
        docs = self._contacts.find({messenger: {"$in": forms}}, {"_id": 0, "user": 1, "name": 1, messenger: 1})
        return [(doc["user"], doc["name"], doc[messenger]) for doc in docs]

    def _ping_first(self):
        # A write sent to a stopped (hung) server waits in its socket buffer
        # and runs when the server resumes, long after the request answered
        # 503; sent only once the server has just answered a ping, it is not.
        self._db.command("ping")

    @contextmanager
    def _patiently(self):
        # Long enough for a big book, once the server has just answered: a
        # stopped or hung one is a 503 within the store timeout, not the bulk one.
        self._ping_first()
        with pymongo.timeout(BULK_TIMEOUT):
            yield

    def _reserve(self, user: str, count: int) -> int:
        """The first of `count` order numbers set aside for the user's new contacts."""
        update = {"$inc": {"next_seq": count}}
        try:
            book = self._books.find_one_and_update(
                {"_id": user}, update, {"next_seq": 1}, upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            # A concurrent first write made the user's document: it exists now.
            book = self._books.find_one_and_update(
                {"_id": user}, update, {"next_seq": 1}, return_document=ReturnDocument.AFTER)
        return book["next_seq"] - count

    def _replace(self, user, name, ids, profile) -> bool:
        update = {"$set": {**_ids(ids), **_profile(profile)}}
        return bool(self._contacts.update_one({"user": user, "name": name}, update).matched_count)

    def add(self, user: str, name: str, ids: dict, profile: dict = None) -> bool:
        """Add a contact or replace the one of that name; True if it was new.

        profile ({"timezone", "fields"}) replaces the contact's; None leaves it as it is.
        """
        self._ping_first()
        if self._replace(user, name, ids, profile):
            return False
        try:
            self._contacts.insert_one(_entry(user, name, ids, self._reserve(user, 1), profile))
        except DuplicateKeyError:
            # A concurrent add of the same name got in first; this write comes after it.
            self._replace(user, name, ids, profile)
            return False
        return True

    def create(self, user: str, name: str, ids: dict, profile: dict = None) -> bool:
        """Add a contact only if the user has none of that name; False if one exists."""
        self._ping_first()
        try:
            self._contacts.insert_one(_entry(user, name, ids, self._reserve(user, 1), profile))
        except DuplicateKeyError:
            return False
        return True

    def remove(self, user: str, name: str) -> bool:
        """Remove a contact; False if the user had no contact of that name."""
        self._ping_first()
        return self._contacts.delete_one({"user": user, "name": name}).deleted_count == 1

    def get(self, user: str, name: str):
        """One contact's messenger IDs, `timezone` and `fields`, or None."""
        doc = self._contacts.find_one({"user": user, "name": name}, WITH_PROFILE)
        return {**_ids(doc), **_shown_profile(doc)} if doc else None

    def all(self, user: str) -> dict:
        """Every contact of a user, name -> {messenger: ID}, in the order added."""
        with self._patiently():
            docs = self._contacts.find({"user": user}, FIELDS).sort("seq", pymongo.ASCENDING)
            return {doc["name"]: _ids(doc) for doc in docs}

    def recipients(self, user: str, names: list, profile: bool = False) -> dict:
        """The user's contacts of these names (those that exist), name -> Recipient, in one read.

        Their time zones and fields are read only with `profile` (a send that
        renders a template or goes by each contact's clock): a plain send to
        a big book reads none of them.
        """
        shown = WITH_PROFILE if profile else FIELDS
        if len(names) > IN_LIMIT:
            wanted = set(names)
            with self._patiently():
                docs = [doc for doc in self._contacts.find({"user": user}, shown) if doc["name"] in wanted]
        else:
            docs = self._contacts.find({"user": user, "name": {"$in": list(names)}}, shown)
        return {doc["name"]: Recipient(_ids(doc), **_shown_profile(doc)) for doc in docs}

    def page(self, user: str, offset: int, limit: int, prefix: str = "") -> tuple:
        """Contacts in the order added, `limit` from `offset`, names starting with prefix: (contacts, total)."""
        query = {"user": user, **({"name": prefix_bounds(prefix)} if prefix else {})}
        with self._patiently():
            total = self._contacts.count_documents(query)
            if offset >= total:
                return [], total
            docs = self._contacts.find(query, WITH_PROFILE).sort("seq", pymongo.ASCENDING)
            docs = docs.skip(offset).limit(limit)
            return [{"name": doc["name"], **_ids(doc), **_shown_profile(doc)} for doc in docs], total

    def window(self, user: str, limit: int, after: int = -1, before: int | None = None) -> list:
        """Up to `limit` contacts in the order added, each with its order number `seq`: the first after `after`,
        or with `before`, the last before it.

        Read in ranges of order numbers at most WINDOW_SPAN_MAX wide, never
        the user's whole range, so a window of a book of 100,000 costs what
        one of a book of 100 does; a stretch of numbers no contact holds any
        more (removed ones, the numbers an import set aside for names it
        replaced) costs a quick read per WINDOW_SPAN_MAX numbers.
        """
        shown = {**WITH_PROFILE, "seq": 1}

        def numbered(low, high, direction):
            bounds = {"$gte": low, **({} if high is None else {"$lt": high})}
            return list(self._contacts.find({"user": user, "seq": bounds}, shown).sort("seq", direction))

        with self._patiently():
            book = self._books.find_one({"_id": user}, {"next_seq": 1})
            end = book["next_seq"] if book else 0
            found, span = [], limit
            if before is None:
                low = after + 1
                while len(found) < limit:
                    # The last range is open: a contact numbered past next_seq is found all the same.
                    high = low + span if low + span < end else None
                    docs = numbered(low, high, pymongo.ASCENDING)
                    found += docs[:limit - len(found)]
                    if high is None:
                        break
                    low, span = high, _next_span(span, len(docs), limit - len(found))
            else:
                high = before
                while len(found) < limit and high > 0:
                    low = max(0, min(high, end) - span)
                    docs = numbered(low, high, pymongo.DESCENDING)
                    found += docs[:limit - len(found)]
                    high, span = low, _next_span(span, len(docs), limit - len(found))
                found.reverse()
        return [{"name": doc["name"], "seq": doc["seq"], **_ids(doc), **_shown_profile(doc)} for doc in found]

    def import_book(self, user: str, contacts, count: int, replace: bool) -> dict:
        """Write many contacts (an iterable of `count`), profiles too, in their order; with replace, delete the others.

        Counts added, replaced and removed. Writes a batch at a time, holding
        no more of the contacts than one batch and their names. One import
        of a user's book runs at a time (ImportBusy past IMPORT_WAIT), so of
        two replaces the later wins whole. Not one transaction: a crash part
        way leaves some contacts written and none removed (removals come
        last), and the same call again completes it, in the same order.
        """
        self._ping_first()
        with self._importing(user) as renew:
            with self._patiently():
                existing = {doc["name"] for doc in self._contacts.find({"user": user}, {"_id": 0, "name": 1})}
            first = self._reserve(user, count) if count else 0
            given, added, replaced = set(), 0, 0
            numbered = enumerate(contacts, first)
            while batch := [_entry(user, c["name"], c, seq, c) for seq, c in islice(numbered, BATCH)]:
                renew()
                given.update(e["name"] for e in batch)
                fresh = [e for e in batch if e["name"] not in existing]
                late = {e["name"] for e in self._insert(fresh)}
                self._bulk([UpdateOne({"user": user, "name": e["name"]},
                                      {"$set": {**_ids(e), **_profile(e)}, "$setOnInsert": {"seq": e["seq"]}},
                                      upsert=True)
                            for e in batch if e["name"] in existing or e["name"] in late])
                added += len(fresh) - len(late)
                replaced += len(batch) - len(fresh) + len(late)
            removed = 0
            if replace:
                renew()
                removed = self._bulk([DeleteOne({"user": user, "name": name}) for name in existing - given])
        return {"added": added, "replaced": replaced, "removed": removed}

    @contextmanager
    def _importing(self, user):
        """Hold the user's book for one import, waiting IMPORT_WAIT for another's; yields the lease's renewal."""
        token = uuid.uuid4().hex
        try:
            self._books.update_one({"_id": user}, {"$setOnInsert": {"next_seq": 0}}, upsert=True)
        except DuplicateKeyError:
            pass  # a concurrent first write made the user's document
        deadline = time.monotonic() + IMPORT_WAIT
        while True:
            now = time.time()
            free = {"$or": [{"importing_until": {"$exists": False}}, {"importing_until": {"$lt": now}}]}
            held = self._books.update_one({"_id": user, **free},
                                          {"$set": {"importing_by": token, "importing_until": now + IMPORT_LEASE}})
            if held.matched_count:
                break
            if time.monotonic() > deadline:
                raise ImportBusy()
            time.sleep(IMPORT_POLL)

        def renew():
            renewed = self._books.update_one({"_id": user, "importing_by": token},
                                             {"$set": {"importing_until": time.time() + IMPORT_LEASE}})
            if not renewed.matched_count:
                # Stalled past the lease: another import holds the book now, and wins.
                raise ImportBusy()

        try:
            yield renew
        finally:
            self._books.update_one({"_id": user, "importing_by": token},
                                   {"$unset": {"importing_by": "", "importing_until": ""}})

    def _insert(self, entries) -> list:
        """Insert new contacts in batches; those a concurrent add beat us to, to replace instead."""
        late = []
        for start in range(0, len(entries), BATCH):
            batch = entries[start:start + BATCH]
            try:
                with self._patiently():
                    self._contacts.insert_many([dict(e) for e in batch], ordered=False)
            except BulkWriteError as exc:
                errors = exc.details["writeErrors"]
                if any(error["code"] != DUPLICATE_KEY for error in errors):
                    raise
                late += [batch[error["index"]] for error in errors]
        return late

    def _bulk(self, requests) -> int:
        """Run write requests in batches, unordered; how many contacts they deleted."""
        deleted = 0
        for start in range(0, len(requests), BATCH):
            with self._patiently():
                result = self._contacts.bulk_write(requests[start:start + BATCH], ordered=False)
            deleted += result.deleted_count
        return deleted
