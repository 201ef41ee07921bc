"""Gunicorn's hooks for the API: `gunicorn -c python:api.gunicorn_conf ... 'api:create_app()'`."""

import ipaddress
import logging

from core.config import Config
from core.logs import log_event, setup_logging

log = logging.getLogger("api.gunicorn")


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
