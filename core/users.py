"""Users and their API tokens in MongoDB; a token is kept only as its SHA-256."""

import hashlib
import secrets
import time
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.errors import DuplicateKeyError

from core.timeutil import epoch_to_iso


class UserExists(Exception):
    """A user of that name already exists."""


class UnknownUser(Exception):
    """No user of that name exists."""


class TooManyTokens(Exception):
    """The user already holds as many tokens as they may."""


class BadPassword(ValueError):
    """A password that may not be set: too short or too long."""


# Argon2id as OWASP's password storage cheat sheet recommends (19 MiB, 2
# passes, one lane): about 20 ms of one core a check here, where argon2-cffi's
# defaults (64 MiB, 3 passes, 4 lanes) took 190 ms of CPU across every core,
# which a flood of sign-ins turned into everyone's latency. A hash stored
# with other parameters is redone at its next sign-in.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
PASSWORD_MIN = 10
PASSWORD_MAX = 1024


def token_hash(token: str) -> str:
    """The stored form of a token.

    Tokens are 256 random bits, so a fast hash suffices: there is nothing to
    guess by brute force, unlike a password.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    """Users by name, and the tokens that act as them.

    Each token holds a numbered place among its user's (`slot`), unique to
    it, so that concurrent requests never take more places than a cap allows
    and a request that fails midway leaves no place taken without a token.
    """

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

    def issue_token(self, name: str, label: str = "", expires_at=None, cap=None) -> tuple:
        """A new token for a user, valid until `expires_at` (epoch seconds) if given: (token id, token).

        The token is shown only now. With `cap`, TooManyTokens if the user
        already holds that many.
        """
        if not self.exists(name):
            raise UnknownUser(f"No user named {name!r}.")
        self._tokens.create_index(
            [("user", 1), ("slot", 1)], unique=True, partialFilterExpression={"slot": {"$exists": True}})
        token = secrets.token_urlsafe(32)
        doc = {"_id": secrets.token_hex(8), "hash": token_hash(token), "user": name,
               "label": label, "created_at": time.time(), "expires_at": expires_at}
        while True:
            slot = self._free_slot(name, cap)
            try:
                self._tokens.insert_one({**doc, "slot": slot})
            except DuplicateKeyError as err:
                if "slot" not in str(err.details):
                    raise
                continue
            return doc["_id"], token

    def _free_slot(self, name, cap) -> int:
        # A token holds a numbered place that the unique index gives to one
        # writer alone, however many requests come at once; a place is free
        # again when its token is revoked. Tokens made before places counted
        # take the lowest ones.
        held = list(self._tokens.find({"user": name}, {"slot": 1}))
        taken = {d["slot"] for d in held if "slot" in d}
        unplaced = len(held) - len(taken)
        places = range(unplaced, len(held) + 1 if cap is None else max(cap, unplaced))
        free = [slot for slot in places if slot not in taken]
        if not free:
            raise TooManyTokens(f"{name!r} holds {cap} tokens already.")
        # Chosen at random among the free, concurrent requests seldom collide.
        return secrets.choice(free)

    def set_password(self, name: str, password: str):
        """Set (or replace) the password a user signs in to the web console with; kept as its Argon2id hash."""
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise BadPassword(f"A password has {PASSWORD_MIN} to {PASSWORD_MAX} characters.")
        stored = PASSWORD_HASHER.hash(password)
        if self._users.update_one({"_id": name}, {"$set": {"password": stored}}).matched_count == 0:
            raise UnknownUser(f"No user named {name!r}.")

    def check_password(self, name: str, password: str) -> bool:
        """Whether a user has this password; as slow for an unknown user or one without a password."""
        doc = self._users.find_one({"_id": name}, {"password": 1}) if len(password) <= PASSWORD_MAX else None
        stored = (doc or {}).get("password")
        try:
            PASSWORD_HASHER.verify(stored or _decoy_hash(), password[:PASSWORD_MAX])
        except (VerificationError, InvalidHashError):
            return False
        if stored is None:
            return False
        if PASSWORD_HASHER.check_needs_rehash(stored):
            self._users.update_one({"_id": name, "password": stored},
                                   {"$set": {"password": PASSWORD_HASHER.hash(password)}})
        return True

    def token_active(self, token_id: str, user: str) -> bool:
        """Whether a token of this user's is still there and unexpired."""
        doc = self._tokens.find_one({"_id": token_id, "user": user}, {"expires_at": 1})
        return doc is not None and not _expired(doc, time.time())

    def revoke_token(self, token_id: str, user=None) -> bool:
        """Make a token unusable (only if it is `user`'s, when given); False if there was no such token."""
        query = {"_id": token_id} if user is None else {"_id": token_id, "user": user}
        return self._tokens.find_one_and_delete(query, {"_id": 1}) is not None

    def token_count(self, name: str) -> int:
        """How many tokens a user has, expired ones included."""
        return self._tokens.count_documents({"user": name})

    def list_tokens(self, name: str) -> list:
        """A user's tokens as id, label, created_at and expires_at (ISO 8601 or None), oldest first.

        Never the token itself.
        """
        docs = self._tokens.find({"user": name}, {"label": 1, "created_at": 1, "expires_at": 1})
        return [token_view(d) for d in sorted(docs, key=lambda d: d["created_at"])]

    def identity_for_token(self, token: str, now=None):
        """The (user, token id) a token acts as, or None for an unknown or expired token."""
        doc = self._tokens.find_one({"hash": token_hash(token)}, {"user": 1, "expires_at": 1})
        if doc is None or _expired(doc, time.time() if now is None else now):
            return None
        return doc["user"], doc["_id"]

    def user_for_token(self, token: str):
        """The name of the user a token acts as, or None for an unknown or expired token."""
        identity = self.identity_for_token(token)
        return identity[0] if identity else None


@cache
def _decoy_hash() -> str:
    """A hash no password matches: verified where none is stored, so a wrong name costs what a wrong password does."""
    return PASSWORD_HASHER.hash(secrets.token_urlsafe(32))


def _expired(doc, now) -> bool:
    expires_at = doc.get("expires_at")
    return expires_at is not None and expires_at <= now


def token_view(doc) -> dict:
    """A stored token as shown to people: id, label, created_at and expires_at."""
    expires_at = doc.get("expires_at")
    return {
        "id": doc["_id"], "label": doc.get("label", ""),
        "created_at": epoch_to_iso(doc["created_at"]),
        "expires_at": None if expires_at is None else epoch_to_iso(expires_at),
    }
