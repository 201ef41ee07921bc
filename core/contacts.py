"""The contact book: one MongoDB document per user holding all their contacts."""

from pymongo.errors import DuplicateKeyError

from core.config import MESSENGERS


class ContactBook:
    """Users' contacts: name -> messenger IDs (empty ID: no such messenger)."""

    def __init__(self, db):
        self._db = db
        self._users = db["contact_books"]

    def _ping_first(self):
        # A write sent to a stopped (hung) server waits in its socket buffer
        # and runs when the server resumes, long after the request answered
        # 503; sent only once the server has just answered a ping, it is not.
        self._db.command("ping")

    def add(self, user: str, name: str, ids: dict) -> bool:
        """Add a contact or replace the one of that name; True if it was new."""
        entry = {"name": name, **{m: ids.get(m, "") for m in MESSENGERS}}
        self._ping_first()
        replaced = self._users.update_one(
            {"_id": user, "contacts.name": name}, {"$set": {"contacts.$": entry}}
        )
        if replaced.matched_count:
            return False
        try:
            added = self._users.update_one(
                {"_id": user, "contacts.name": {"$ne": name}},
                {"$push": {"contacts": entry}},
                upsert=True,
            )
        except DuplicateKeyError:
            # The upsert lost a race with a concurrent write of the same name.
            return self.add(user, name, ids)
        return bool(added.modified_count or added.upserted_id)

    def remove(self, user: str, name: str) -> bool:
        """Remove a contact; False if the user had no contact of that name."""
        self._ping_first()
        result = self._users.update_one(
            {"_id": user}, {"$pull": {"contacts": {"name": name}}}
        )
        return bool(result.modified_count)

    def all(self, user: str) -> dict:
        """Every contact of a user, name -> {messenger: ID}, in the order added."""
        doc = self._users.find_one({"_id": user}, {"contacts": 1}) or {}
        return {
            c["name"]: {m: c.get(m, "") for m in MESSENGERS}
            for c in doc.get("contacts", [])
        }

    def create(self, user: str, name: str, ids: dict) -> bool:
        """Add a contact only if the user has none of that name; False if one exists."""
        entry = {"name": name, **{m: ids.get(m, "") for m in MESSENGERS}}
        absent = {"_id": user, "contacts.name": {"$ne": name}}
        self._ping_first()
        try:
            added = self._users.update_one(absent, {"$push": {"contacts": entry}}, upsert=True)
        except DuplicateKeyError:
            # The user's document exists (maybe made just now): the name is taken, or not.
            added = self._users.update_one(absent, {"$push": {"contacts": entry}})
        return bool(added.modified_count or added.upserted_id)

    def get(self, user: str, name: str):
        """One contact's messenger IDs, or None."""
        return self.all(user).get(name)
