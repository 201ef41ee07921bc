"""Users and their API tokens in MongoDB; a token is kept only as its SHA-256."""

import hashlib
import secrets
import time

from pymongo.errors import DuplicateKeyError

from core.timeutil import epoch_to_iso


class UserExists(Exception):
    """A user of that name already exists."""


class UnknownUser(Exception):
    """No user of that name exists."""


def token_hash(token: str) -> str:
    """The stored form of a token.

    Tokens are 256 random bits, so a fast hash suffices: there is nothing to
    guess by brute force, unlike a password.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    """Users by name, and the tokens that act as them."""

    def __init__(self, db):
        self._users = db["users"]
        self._tokens = db["tokens"]

    def create_user(self, name: str) -> str:
        """Create a user and a first token for it; the token (shown only now)."""
        try:
            self._users.insert_one({"_id": name, "created_at": time.time()})
        except DuplicateKeyError:
            raise UserExists(f"User {name!r} already exists.") from None
        return self.issue_token(name, label="initial")[1]

    def exists(self, name: str) -> bool:
        """Whether a user of that name exists."""
        return self._users.count_documents({"_id": name}, limit=1) > 0

    def issue_token(self, name: str, label: str = "") -> tuple:
        """A new token for a user: (token id, token); the token is shown only now."""
        if not self.exists(name):
            raise UnknownUser(f"No user named {name!r}.")
        self._tokens.create_index("hash", unique=True)
        token = secrets.token_urlsafe(32)
        token_id = secrets.token_hex(8)
        self._tokens.insert_one({
            "_id": token_id, "hash": token_hash(token), "user": name,
            "label": label, "created_at": time.time(),
        })
        return token_id, token

    def revoke_token(self, token_id: str) -> bool:
        """Make a token unusable; False if there was no such token."""
        return self._tokens.delete_one({"_id": token_id}).deleted_count == 1

    def list_tokens(self, name: str) -> list:
        """A user's tokens as id, label and created_at (ISO 8601), oldest first; never the token."""
        docs = self._tokens.find({"user": name}, {"label": 1, "created_at": 1})
        return [
            {"id": d["_id"], "label": d.get("label", ""), "created_at": epoch_to_iso(d["created_at"])}
            for d in sorted(docs, key=lambda d: d["created_at"])
        ]

    def user_for_token(self, token: str):
        """The name of the user a token acts as, or None for an unknown token."""
        doc = self._tokens.find_one({"hash": token_hash(token)}, {"user": 1})
        return doc["user"] if doc else None
