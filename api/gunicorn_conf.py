"""Gunicorn's hooks for the API: `gunicorn -c python:api.gunicorn_conf ... 'api:create_app()'`."""

import gc
import ipaddress
import json
import logging
from http import HTTPStatus

from gunicorn import util

from api import SECURITY_HEADERS
from core.config import Config
from core.logs import log_event, setup_logging

log = logging.getLogger("api.gunicorn")

# At or above nginx's own limits (deploy/nginx.conf.template: a request
# line or a header line of 8 KB, about 1,000 header lines): nginx refuses an
# oversized request itself, in the API's JSON, and gunicorn, which took 4 KB
# lines and 100 headers, never refuses what nginx passes on. 8190 is the
# longest request line gunicorn can take, and as long as nginx passes on.
limit_request_line = 8190
limit_request_field_size = 16384
limit_request_fields = 32768


def on_starting(server):
    """Check the settings in the master, before it binds or boots a worker; warn of an open door."""
    # Left to the workers, a bad setting is a traceback per worker instead.
    config = Config.from_env_or_exit()
    setup_logging(config.log_level)
    reachable = beyond_loopback(server.cfg.address)
    if config.auth_mode == "none" and reachable:
        log_event(log, "auth.none_beyond_loopback", level=logging.WARNING, binds=reachable,
                  hint="AUTH_MODE=none lets anyone who can reach these addresses act as any "
                       "user; bind to 127.0.0.1 or set AUTH_MODE=token.")


def post_worker_init(worker):
    """Keep what loading the app made out of the garbage collector's sight, as the Celery workers do.

    A full collection then scans only what came since: a few ms instead of
    the 25-70 ms, every thread of the worker stopped, that the app's 78,000
    objects cost on a busy host, where a webhook's answer is due in 50 ms
    (BENCHMARKS.md, issue 29).
    """
    gc.freeze()


def beyond_loopback(addresses) -> list:
    """The addresses, as gunicorn parsed its binds, that other hosts may reach."""
    reachable = []
    for address in addresses:
        if isinstance(address, str):
            continue  # a Unix socket: this host only
        if isinstance(address, int):
            reachable.append(f"fd://{address}")  # a socket handed over: nothing says where it listens
            continue
        host, port = address
        if host != "localhost" and not _is_loopback_ip(host):
            reachable.append(f"{host}:{port}")
    return reachable


def _is_loopback_ip(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name, which may resolve anywhere


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn's answer to a request it cannot parse, in the API's JSON shape rather than HTML.

    nginx passes on a few requests that gunicorn refuses, such as a control
    byte in a header's value or a second Content-Type.
    """
    body = json.dumps({"code": status_int, "status": HTTPStatus(status_int).phrase,
                       "message": mesg}).encode() + b"\n"
    head = [f"HTTP/1.1 {status_int} {reason}", "Connection: close", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items())]
    util.write_nonblock(sock, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


# gunicorn has no setting for the shape of its own error answers: its workers
# (forked from the master that reads this file) call util.write_error for each.
util.write_error = write_json_error
