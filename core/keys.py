"""Names of the service's Redis keys, in one place."""

import hashlib
import json


class Keys:
    """Key names under one prefix, so several services can share a Redis."""

    def __init__(self, prefix: str):
        self._p = prefix

    def message(self, message_id):
        """Hash: a message's sender, text, time and counts."""
        return f"{self._p}msg:{message_id}"

    def delivery(self, delivery_id):
        """Hash: a delivery's recipient, status, attempts and ticket."""
        return f"{self._p}dlv:{delivery_id}"

    def user_messages(self, user):
        """Sorted set: a user's message ids by creation time."""
        return f"{self._p}user:{user}:messages"

    def user_usage(self, user):
        """Hash: what a user has opened, for quotas ('open': deliveries sent and sent again).

        Its unfinished deliveries are 'open' less user_closed's count. Only
        sends and resends write here, so a send can watch it without every
        delivery that finishes meanwhile making it try again.
        """
        return f"{self._p}user:{user}:usage"

    def user_closed(self, user):
        """String: how many of a user's opened deliveries (user_usage) have finished since."""
        return f"{self._p}user:{user}:closed"

    def request_limit(self, caller):
        """String: when a caller's next request is due under the API's rate limit (GCRA)."""
        return f"{self._p}reqlimit:{caller}"

    def failed(self, user):
        """Hash: a user's failed-delivery records by delivery id."""
        return f"{self._p}failed:{user}"

    def failed_index(self, user):
        """Sorted set: a user's failed delivery ids by failure time."""
        # Its own prefix: "failed:{user}:index" could be another user's "failed:" key.
        return f"{self._p}failed-index:{user}"

    def schedule(self):
        """Sorted set: each unfinished delivery's 'delivery|ticket' by when someone must act on it."""
        return f"{self._p}schedule"

    def retention(self):
        """Sorted set: finished messages ('m:id') and failed records ('f:id') by when to delete them."""
        return f"{self._p}retention"

    @staticmethod
    def retention_message(message_id):
        """The retention index's member for a finished message."""
        return f"m:{message_id}"

    def idempotency(self, user, key):
        """String: the first answer to a user's send with this Idempotency-Key."""
        # Hashed as a pair, so no name or key with a ':' can reach another user's.
        digest = hashlib.sha256(json.dumps([user, key]).encode()).hexdigest()
        return f"{self._p}idem:{digest}"

    def metrics(self, family):
        """Hash: counters of one metric family, by label values."""
        return f"{self._p}metrics:{family}"

    def rate_limit(self, messenger, chat=None):
        """Hash: the pacing state of a messenger's sends, overall or to one chat."""
        return f"{self._p}rate:{messenger}" + ("" if chat is None else f":chat:{chat}")

    def rate_limit_line(self, messenger, chat=None):
        """Sorted set: deliveries with a booked turn under that limit, by its time."""
        return f"{self._p}rate-line:{messenger}" + ("" if chat is None else f":chat:{chat}")

    def rate_limit_users(self, messenger, chat=None):
        """Sorted set: users with turns booked under that limit, by the end of each one's line."""
        return f"{self._p}rate-users:{messenger}" + ("" if chat is None else f":chat:{chat}")

    def provider_message(self, messenger, provider_id):
        """String: the delivery a messenger's own message id belongs to (for its receipts)."""
        return f"{self._p}provider:{messenger}:{provider_id}"

    def blocked(self):
        """Hash: '["user", "messenger", "contact"]' -> the messenger ID that refused the user's messages."""
        return f"{self._p}blocked"

    def events(self):
        """Stream: what happened to deliveries and messages of users with webhooks, for the webhooks."""
        return f"{self._p}events"

    def webhook_users(self):
        """Hash: user -> how many webhooks they have (events are recorded only for these users)."""
        return f"{self._p}webhook-users"

    def webhooks(self, user):
        """Hash: a user's webhooks by id (JSON: url, events, secret, created_at)."""
        return f"{self._p}webhooks:{user}"

    @staticmethod
    def schedule_member(delivery_id, ticket):
        """The schedule's member for one ticket of a delivery."""
        return f"{delivery_id}|{ticket}"

    @staticmethod
    def parse_schedule_member(member):
        """(delivery id, ticket) of a schedule member."""
        delivery_id, ticket = member.rsplit("|", 1)
        return delivery_id, int(ticket)

    def webhook_post(self, post_id):
        """Hash: one event's post to one webhook: its body, due time, lease and attempts."""
        return f"{self._p}webhook-post:{post_id}"

    def webhook_schedule(self):
        """Sorted set: each webhook post's id by when someone must act on it (send it, or take it back)."""
        return f"{self._p}webhook-schedule"

    def webhook_attempts(self, webhook_id):
        """List: a webhook's latest post attempts, newest first (JSON each)."""
        return f"{self._p}webhook-attempts:{webhook_id}"
