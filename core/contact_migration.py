"""Books of the old shape (one document per user, contacts in an array) made one document per contact.

Runs in every API process before its first use of the contact book. Each
user's book is converted by one process at a time, under a lease on its
document; every process waits until no book of the old shape is left, so
none serves a user whose book another is still converting. The array goes
only once all its contacts are written, so a process that dies part way
leaves the book for the next one to convert again (its writes insert only
what is missing: the same result).

Then, once per database, contacts stored before names were kept in Unicode's
NFC form are renamed to it, so that a lookup by the normalised name finds
them. One whose NFC name the user already has stays as it was: listed, and
reachable under its own name by /api/v1/contacts/{name}.
"""

import time
import unicodedata
import uuid

import pymongo
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError, ExecutionTimeout

from core.config import MESSENGERS
from core.contacts import BATCH, BOOKS, BULK_TIMEOUT, CONTACTS

# Seconds a process holds a book it converts, renewed at each batch.
LEASE = 30.0
# Seconds a process waits for books others are converting before it gives up.
WAIT = 60.0
POLL = 0.1
# Conversions done once per database, each a document named by its _id.
DONE = "migrations"
NFC_NAMES = "contact_names_nfc"
# Names with a character beyond ASCII: only those can be other than NFC.
NOT_ASCII = {"$regex": "[^\\x00-\\x7f]"}


class MigrationPending(ExecutionTimeout):
    """Books of the old shape are still being converted by another process (try again shortly)."""


def migrate(db) -> int:
    """Convert every book of the old shape, helping other processes at it; how many this one did."""
    books, contacts = db[BOOKS], db[CONTACTS]
    token = uuid.uuid4().hex
    deadline = time.monotonic() + WAIT
    converted = 0
    while True:
        now = time.time()
        old = books.find_one_and_update(
            {"contacts": {"$exists": True},
             "$or": [{"migrating_until": {"$exists": False}}, {"migrating_until": {"$lt": now}}]},
            {"$set": {"migrating_by": token, "migrating_until": now + LEASE}})
        if old is not None:
            converted += _convert(books, contacts, old, token)
            continue
        if books.find_one({"contacts": {"$exists": True}}, {"_id": 1}) is None:
            _normalise_names(db)
            return converted
        if time.monotonic() > deadline:
            raise MigrationPending("Contact books are still being converted to the new shape.")
        time.sleep(POLL)


def _convert(books, contacts, old, token) -> int:
    """Write one old book's contacts as documents, in its order, then drop its array; 1 if done."""
    user, items = old["_id"], old.get("contacts") or []
    for start in range(0, len(items), BATCH):
        renewed = books.update_one({"_id": user, "migrating_by": token},
                                   {"$set": {"migrating_until": time.time() + LEASE}})
        if not renewed.matched_count:
            # Our lease ran out and another process took the book over.
            return 0
        writes = [UpdateOne({"user": user, "name": item["name"]},
                            {"$setOnInsert": {"seq": start + i, **{m: item.get(m) or "" for m in MESSENGERS}}},
                            upsert=True)
                  for i, item in enumerate(items[start:start + BATCH])]
        with pymongo.timeout(BULK_TIMEOUT):
            contacts.bulk_write(writes, ordered=False)
    done = books.update_one(
        {"_id": user, "migrating_by": token},
        {"$unset": {"contacts": "", "migrating_by": "", "migrating_until": ""},
         "$max": {"next_seq": len(items)}})
    return done.modified_count


def _normalise_names(db) -> int:
    """Rename the contacts whose names are not in NFC form, once per database; how many were renamed."""
    if db[DONE].find_one({"_id": NFC_NAMES}) is not None:
        return 0
    contacts, renamed = db[CONTACTS], 0
    with pymongo.timeout(BULK_TIMEOUT):
        odd = [doc for doc in contacts.find({"name": NOT_ASCII}, {"_id": 1, "name": 1})
               if not unicodedata.is_normalized("NFC", doc["name"])]
    for doc in odd:
        try:
            renamed += contacts.update_one(
                {"_id": doc["_id"], "name": doc["name"]},
                {"$set": {"name": unicodedata.normalize("NFC", doc["name"])}}).modified_count
        except DuplicateKeyError:
            pass  # the user has a contact of the NFC name too: this one keeps its own
    try:
        db[DONE].update_one({"_id": NFC_NAMES}, {"$setOnInsert": {"at": time.time()}}, upsert=True)
    except DuplicateKeyError:
        pass  # another process, done at the same time, recorded it
    return renamed
