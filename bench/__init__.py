"""Benchmarks of the dispatcher against a straightforward Celery baseline (issue 7).

Run `make bench` (or `python -m bench --help`); not part of the test suite.
"""
