"""REDIS_URL's forms, and its Sentinel form: the Redis master a group of sentinels names.

    sentinel://[[username]:password@]host[:port][,host[:port]...][/db]?master_name=NAME[&sentinel_password=PW]

The user and password are the master's (as in a redis:// URL); the
sentinels' own password, if they have one (their `requirepass`), is
`sentinel_password`. A port left out is 26379. Both passwords are
percent-decoded, so one holding `@`, `,`, `/` or `?` is written %40, %2C, ...
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

# What REDIS_URL may start with: the forms both redis-py and kombu read
# (redis-py's unix:// is no kombu transport), and Sentinel's.
SCHEMES = ("redis", "rediss", "sentinel")
SENTINEL_PORT = 26379
OPTIONS = ("master_name", "sentinel_password")


@dataclass(frozen=True)
class SentinelURL:
    """Where the sentinels are, which master they are asked for, and the credentials of each."""

    sentinels: tuple
    master_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    def sentinel_options(self, timeout) -> dict:
        """Connection settings for the sentinels themselves (plain values: kombu's transport options hold them)."""
        options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        if self.sentinel_password is not None:
            options["password"] = self.sentinel_password
        return options


def is_sentinel(url) -> bool:
    """Whether a REDIS_URL is the Sentinel form."""
    return url.lower().startswith("sentinel://")


def url_problem(url):
    """What is wrong with a REDIS_URL, or None; never quotes it (it may hold a password)."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError as error:
        return f"not a URL ({error})"
    if scheme not in SCHEMES:
        return f"must start with one of {', '.join(f'{s}://' for s in SCHEMES)}"
    if scheme == "sentinel":
        try:
            parse(url)
        except ValueError as error:
            return str(error)
    return None


def parse(url) -> SentinelURL:
    """The parts of a sentinel:// URL; ValueError, saying what is wrong, if it is malformed."""
    parts = urlsplit(url)
    if parts.fragment:
        raise ValueError("a Sentinel URL takes no #fragment")
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, colon, password = credentials.partition(":")
    return SentinelURL(
        sentinels=tuple(_address(host) for host in hosts.split(",")),
        db=_db(parts.path),
        username=unquote(username) or None,
        password=unquote(password) if colon and password else None,
        **_options(parts.query),
    )


def _address(text):
    if not text:
        raise ValueError("a Sentinel URL names each sentinel as host[:port], separated by commas")
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError:
        raise ValueError(f"sentinel address {text!r} is not host[:port]") from None
    if not parts.hostname:
        raise ValueError(f"sentinel address {text!r} has no host")
    return parts.hostname, port or SENTINEL_PORT


def _db(path):
    number = path.removeprefix("/")
    if not number:
        return 0
    if not number.isdigit():
        raise ValueError(f"the database after the sentinels must be a number, not {number!r}")
    return int(number)


def _options(query):
    try:
        values = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError("the query is not name=value pairs separated by &") from None
    unknown = sorted(set(values) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown options {', '.join(unknown)} (known: {', '.join(OPTIONS)})")
    repeated = sorted(name for name, given in values.items() if len(given) > 1)
    if repeated:
        raise ValueError(f"options given more than once: {', '.join(repeated)}")
    options = {name: given[0] or None for name, given in values.items()}
    if not options.get("master_name"):
        raise ValueError("names no master: add ?master_name=NAME, the name the sentinels monitor it by")
    return options
