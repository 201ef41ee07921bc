"""Where a webhook may post: http(s) URLs whose host is a public address (no SSRF).

A host is looked up at creation and again at each post (DNS can change),
and the post connects to the very address that was checked, so a name that
resolves to a public address for the check and to a private one a moment
later gains nothing.
"""

import ipaddress
import socket
import threading
from collections import namedtuple
from urllib.parse import urlsplit

URL_MAX = 2048
SCHEMES = {"http": 80, "https": 443}

# scheme; host and netloc as in the URL (for TLS and the Host header); port;
# address, the checked IP to connect to; target, the path and query as sent
# on the request line.
Target = namedtuple("Target", "scheme host netloc port address target")


class TargetRefused(ValueError):
    """A URL that may not be posted to, and why."""


def url_problem(url) -> str | None:
    """What is wrong with a webhook URL's form, or None."""
    if len(url) > URL_MAX:
        return f"Longer than {URL_MAX} characters."
    try:
        parts = urlsplit(url)
        # Reading the port raises for one that is no number or out of range.
        port = parts.port
    except ValueError as exc:
        return f"Not a URL: {exc}."
    if port == 0:
        return "Port 0 is no port a receiver can listen on."
    if parts.scheme not in SCHEMES:
        return "Must be an http:// or https:// URL."
    if not parts.hostname:
        return "Must name a host."
    if parts.username is not None or parts.password is not None:
        return "Must not hold credentials: the signature authenticates the posts."
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "Must not contain spaces or control characters."
    return None


def forbidden(address) -> bool:
    """Whether an IP address is one a webhook may not reach: loopback, private, link-local and the like."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        # An IPv4 address wrapped in IPv6 reaches the IPv4 host.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and forbidden(str(embedded)):
            return True
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def resolve(host, port, timeout) -> list:
    """The addresses a host resolves to, within `timeout` seconds; TargetRefused if it does not."""
    found, failure = [], []

    def look_up():
        try:
            found.extend(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            failure.append(exc)

    # getaddrinfo takes no timeout: a hung resolver keeps only this thread.
    thread = threading.Thread(target=look_up, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TargetRefused(f"{host} did not resolve within {timeout:g} s")
    if failure or not found:
        raise TargetRefused(f"{host} does not resolve: {failure[0] if failure else 'no address'}")
    return list(dict.fromkeys(found))


def checked_target(url, allow_private, timeout) -> Target:
    """Where to post a webhook URL: its host resolved and every address checked; TargetRefused if barred."""
    problem = url_problem(url)
    if problem:
        raise TargetRefused(problem)
    parts = urlsplit(url)
    port = parts.port or SCHEMES[parts.scheme]
    addresses = resolve(parts.hostname, port, timeout)
    if not allow_private:
        barred = [a for a in addresses if forbidden(a)]
        if barred:
            raise TargetRefused(f"{parts.hostname} is or resolves to {barred[0]}, a loopback, private, "
                                f"link-local or reserved address (WEBHOOK_ALLOW_PRIVATE=1 allows it)")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, parts.netloc, port, addresses[0], target)
