"""The straightforward design the dispatcher is measured against.

Written plainly, the way most teams write it first: a Celery app on Redis
with default settings (prefork pool, concurrency = cores, early acks,
prefetch multiplier 4), one task per delivery posted with `.delay()` one by
one (`apply_async(eta=...)` when the send is for later), and
`requests.post` per delivery without a session. The Flask app stores
contacts in MongoDB (one document per user) and does the fan-out inline.
"""
