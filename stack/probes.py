"""Readiness checks: each answers True once a started process serves."""

import socket
import time
import urllib.error
import urllib.request

import pymongo
import redis

PROBE_TIMEOUT = 0.5

# Local services only: a proxy from the environment must not sit in between.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def redis_answers(port):
    """A check that passes when redis-server on this port answers PING."""

    def check(process):
        client = redis.Redis(
            host="127.0.0.1",
            port=port,
            socket_timeout=PROBE_TIMEOUT,
            socket_connect_timeout=PROBE_TIMEOUT,
        )
        try:
            return client.ping()
        except redis.RedisError:
            return False
        finally:
            client.close()

    return check


def mongo_answers(port):
    """A check that passes when the MongoDB-protocol server answers ping."""

    def check(process):
        # A bare connect first: pymongo waits out its whole selection
        # timeout on a closed port, which would slow the polling loop.
        if not _port_open(port):
            return False
        timeout_ms = int(PROBE_TIMEOUT * 1000)
        client = pymongo.MongoClient(
            f"mongodb://127.0.0.1:{port}/",
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=timeout_ms,
        )
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()

    return check


def http_answers(url, ok_only=True):
    """A check that passes when GET url answers (with 200 if ok_only)."""

    def check(process):
        try:
            with _opener.open(url, timeout=PROBE_TIMEOUT) as response:
                return response.status == 200 or not ok_only
        except urllib.error.HTTPError:
            return not ok_only
        except (OSError, ValueError):
            return False

    return check


def log_says(text):
    """A check that passes when the process's output since its start holds text."""

    def check(process):
        return text in process.output_since_start()

    return check


def running_for(seconds):
    """A check that passes when the process has stayed up this long."""

    def check(process):
        return time.monotonic() - process.started_at >= seconds

    return check


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT):
            return True
    except OSError:
        return False
