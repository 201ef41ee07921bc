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

    def opted_out(self):
        """Hash: the blocked hash's fields whose block the person asked for -> the messenger ID that opted out."""
        return f"{self._p}opted-out"

    def opt_change(self, messenger, sender):
        """Hash: a messenger id's last opt-out or return applied ('at': its place in order, 'out': '1' or '0')."""
        return f"{self._p}opt-change:{messenger}:{sender}"

    def awaiting(self, user, contact):
        """Set: ids of a user's contact's Telegram deliveries awaiting its chat ID (statuses.AWAITING_CONTACT)."""
        # The user's name's length keeps any user and contact name apart.
        return f"{self._p}awaiting:{len(user.encode())}:{user}:{contact}"

    def invite(self, messenger, code):
        """String: an unused invite code's user, contact and expiry (JSON), under the code's hash."""
        # Hashed: the keys a Redis dump lists hold no working code.
        return f"{self._p}invite:{messenger}:{hashlib.sha256(code.encode()).hexdigest()}"

    def inbound_seen(self, messenger, update_id):
        """String: that a messenger's update (by its own id) was handed over, so a redelivery is not."""
        return f"{self._p}inbound-seen:{messenger}:{update_id}"

    def inbox(self, messenger, sender):
        """Sorted set: the latest texts a messenger id sent the bot (JSON each), by when each came."""
        return f"{self._p}inbox:{messenger}:{sender}"

    def user_inbox(self, user):
        """Sorted set: texts from a user's contacts as they came (JSON each), by time received."""
        return f"{self._p}user-inbox:{user}"

    def console_session(self, session_hash):
        """Hash: a web console session's user, CSRF token and the API token it signed in with (if one)."""
        return f"{self._p}console-session:{session_hash}"

    def whatsapp_window(self, wa_id):
        """String: when a WhatsApp number last wrote to the business (epoch seconds), for its 24-hour window."""
        return f"{self._p}wa-window:{wa_id}"

    def whatsapp_templates(self):
        """String: the WhatsApp business account's message templates as last synced (JSON), for a short while."""
        return f"{self._p}wa-templates"

    def telegram_poller(self):
        """String: the poller holding the lease on getUpdates, until it expires."""
        return f"{self._p}telegram-poller"

    def telegram_offset(self):
        """String: the getUpdates offset, past the last update handed over."""
        return f"{self._p}telegram-offset"

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

    def webhook_load(self, user):
        """Hash: a user's webhook posts pending ('pending', 'pending:<webhook id>'), events dropped ('dropped:<id>')."""
        return f"{self._p}webhook-load:{user}"

    def webhook_flight(self, user):
        """Sorted set: a user's webhook posts handed to a worker or being sent, by the end of their lease."""
        return f"{self._p}webhook-flight:{user}"

    def webhook_waiting(self, user):
        """Sorted set: a user's due webhook posts held back while those in flight are at the bound, by due time."""
        return f"{self._p}webhook-waiting:{user}"
