"""Sending a message, as the API's sends and the scheduler's recurring runs both do it.

A send that cannot go raises one of errors.py's errors, and writes nothing:
the API answers each with its HTTP status (api/errors.py), a schedule's
run records it or tries again later (workers/recurring_runs.py).
"""
