"""Celery app, delivery tasks, gateways and the scheduler."""
