"""Why a send wrote nothing: refused as asked, to try again later, or its Idempotency-Key taken.

Each carries `status`, the HTTP status the API answers it with, which a
schedule's run also records as the status its send would have got.
"""


class SendError(Exception):
    """A send that wrote nothing, and what to tell whoever asked for it."""

    status: int

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.message = message
        # Seconds after which the same send may go, if a wait is known.
        self.retry_after = retry_after


class SendRefused(SendError):
    """The send cannot go as asked: `field` of its body (a name, or a path into it) and its problems."""

    status = 422

    def __init__(self, message, field, problems):
        super().__init__(message)
        self.field = field
        self.problems = problems


class UnknownContacts(SendRefused):
    """The send names contacts the sender does not have."""

    status = 404


class TryLater(SendError):
    """Nothing wrong with the send, but it cannot go now: the same send may go later."""

    status = 503


class TooManyOpen(TryLater):
    """The sender's unfinished deliveries would pass MAX_OPEN_DELIVERIES."""

    status = 429


class KeyConflict(SendError):
    """The Idempotency-Key is another body's, a request's still in progress, or its message's no longer kept.

    `problem` says which, of the key (the Idempotency-Key header's error).
    """

    status = 409

    def __init__(self, message, problem, retry_after=None):
        super().__init__(message, retry_after)
        self.problem = problem
