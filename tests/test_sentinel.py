"""REDIS_URL may name a Redis master through Sentinel: its form, and the whole service failing over.

The failover test runs a real master, a replica and three sentinels (both
the master and the sentinels with passwords), then `python -m stack` with
REDIS_URL set to the sentinel:// URL: it starts no Redis of its own, and its
API, worker and scheduler find the master through the sentinels. The master
and the first sentinel are killed; the replica takes over, and a send after
that is accepted and delivered like the one before: once per delivery.
"""

import subprocess
import time
from collections import Counter

import pytest
import redis

from apiclient import add_contact, received, send
from conftest import stack_config
from core.config import Config, ConfigError
from core.keys import Keys
from core.sentinel import SentinelURL, parse
from helpers import free_ports, wait_until
from stack_command import StackCommand
from workers.celery_app import create_celery

MASTER_NAME = "mymaster"
MASTER_PASSWORD = "master p@ss"
SENTINEL_PASSWORD = "sentinel-pass"
CONTACTS = 10
# Telegram and WhatsApp for each contact.
DELIVERIES = 2 * CONTACTS


# The URL's form


def test_a_sentinel_url_names_its_sentinels_the_master_and_both_passwords():
    url = ("sentinel://:master%20p%40ss@10.0.0.1:26379,10.0.0.2,[::1]:26380/2"
           "?master_name=mymaster&sentinel_password=s%26p")
    assert parse(url) == SentinelURL(
        sentinels=(("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380)),
        master_name="mymaster", db=2, password="master p@ss", sentinel_password="s&p",
    )
    assert Config(redis_url=url).redis_url == url


@pytest.mark.parametrize("url, problem", [
    ("sentinel://:secret@h1:26379,h2:26379/0",
     "names no master: add ?master_name=NAME, the name the sentinels monitor it by"),
    ("sentinel://:secret@h1/0?master_name=",
     "names no master: add ?master_name=NAME, the name the sentinels monitor it by"),
    ("sentinel://:secret@h1:26379,,h2/0?master_name=m",
     "a Sentinel URL names each sentinel as host[:port], separated by commas"),
    ("sentinel://:secret@h1:port/0?master_name=m", "sentinel address 'h1:port' is not host[:port]"),
    ("sentinel://:secret@:26379/0?master_name=m", "sentinel address ':26379' has no host"),
    ("sentinel://:secret@h1/zero?master_name=m", "the database after the sentinels must be a number, not 'zero'"),
    ("sentinel://:secret@h1/0?master=m",
     "unknown options master (known: master_name, sentinel_password)"),
    ("sentinel://:secret@h1/0?master_name=a&master_name=b", "options given more than once: master_name"),
    ("sentinel://:secret@h1/0?master_name", "the query is not name=value pairs separated by &"),
    ("sentinels://:secret@h1/0?master_name=m", "must start with one of redis://, rediss://, sentinel://"),
])
def test_a_malformed_redis_url_is_a_config_error_naming_redis_url(url, problem):
    with pytest.raises(ConfigError) as caught:
        Config(redis_url=url)
    assert caught.value.problems == [f"REDIS_URL: {problem}"]
    assert "secret" not in str(caught.value)


def test_the_workers_broker_is_the_batching_transport_on_the_sentinels_master():
    config = Config(redis_url="sentinel://:pw@h1:5000,h2/3?master_name=m&sentinel_password=sp", store_timeout=2.0)
    conf = create_celery(config).conf
    assert conf.broker_transport == "workers.broker:SentinelTransport"
    # One URL: kombu would leave this transport for its own on a switch to another.
    assert conf.broker_url == "sentinel://:pw@h1:5000/3"
    options = conf.broker_transport_options
    assert options["master_name"] == "m"
    assert options["sentinels"] == [["h1", 5000], ["h2", 26379]]
    assert options["sentinel_kwargs"] == {"socket_timeout": 2.0, "socket_connect_timeout": 2.0, "password": "sp"}
    plain = create_celery(Config(redis_url="redis://h1:6379/0")).conf
    assert plain.broker_transport == "workers.broker:Transport"
    assert "master_name" not in plain.broker_transport_options


# A failover under the running service


class RedisGroup:
    """A master, its replica and three sentinels watching them, each a redis-server of its own."""

    def __init__(self, tmp_path):
        self.master_port, self.replica_port, *self.sentinel_ports = free_ports(5)
        self.tmp_path = tmp_path
        self.processes = {}
        auth = ["--requirepass", MASTER_PASSWORD, "--masterauth", MASTER_PASSWORD]
        self._start("master", ["--port", str(self.master_port), *auth])
        self._start("replica", ["--port", str(self.replica_port), *auth,
                                "--replicaof", "127.0.0.1", str(self.master_port)])
        replica = self.server(self.replica_port)
        wait_until(lambda: replica.info("replication")["master_link_status"] == "up", 10, message="replica in sync")
        for number, port in enumerate(self.sentinel_ports, 1):
            self._start(f"sentinel{number}", [self._sentinel_conf(number, port), "--sentinel"])
        # Each sentinel knows the replica (told by the master) and the other
        # two (from their hellos): a failover needs both.
        for port in self.sentinel_ports:
            sentinel = self.sentinel(port)
            wait_until(lambda s=sentinel: (state := s.sentinel_master(MASTER_NAME))["num-slaves"] == 1
                       and state["num-other-sentinels"] == 2, 15, interval=0.2, message="sentinels acquainted")

    def _sentinel_conf(self, number, port):
        conf = self.tmp_path / f"sentinel{number}.conf"
        conf.write_text("\n".join([
            f"port {port}",
            "bind 127.0.0.1",
            f"dir {self.tmp_path}",
            f'requirepass "{SENTINEL_PASSWORD}"',
            f'sentinel sentinel-pass "{SENTINEL_PASSWORD}"',
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 2",
            f'sentinel auth-pass {MASTER_NAME} "{MASTER_PASSWORD}"',
            f"sentinel down-after-milliseconds {MASTER_NAME} 1000",
            f"sentinel failover-timeout {MASTER_NAME} 4000",
            "",
        ]))
        return str(conf)

    def _start(self, name, args):
        folder = self.tmp_path / name
        folder.mkdir(parents=True)
        argv = ["redis-server", *args] if args[-1] == "--sentinel" else [
            "redis-server", *args, "--bind", "127.0.0.1", "--dir", str(folder), "--save", "", "--appendonly", "no"]
        with open(folder / "out.log", "wb") as out:
            self.processes[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def url(self):
        """The service's REDIS_URL for this group."""
        sentinels = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return (f"sentinel://:master%20p%40ss@{sentinels}/0"
                f"?master_name={MASTER_NAME}&sentinel_password={SENTINEL_PASSWORD}")

    def server(self, port):
        """A client of one of the Redis servers."""
        return redis.Redis(port=port, password=MASTER_PASSWORD, socket_timeout=5, decode_responses=True)

    def sentinel(self, port):
        """A client of one sentinel."""
        return redis.Redis(port=port, password=SENTINEL_PASSWORD, socket_timeout=5, decode_responses=True)

    def master_port_said_by(self, port):
        """The master's port as one sentinel tells it."""
        return int(self.sentinel(port).sentinel_get_master_addr_by_name(MASTER_NAME)[1])

    def kill(self, name):
        """SIGKILL one server, as a crash would."""
        process = self.processes[name]
        process.kill()
        process.wait()

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


class Supervisor(StackCommand):
    """`python -m stack --memory-mongo` with every part listed and REDIS_URL set: it starts all but Redis."""

    def __init__(self, config, tmp_path):
        self.config = config
        # MONGO_URL and GATEWAY_URL unset: those parts are the stack's own.
        settings = {k: v for k, v in config.to_env().items() if k not in ("MONGO_URL", "GATEWAY_URL")}
        super().__init__(["--memory-mongo", "--services", "redis,mongo,gateway,api,worker,scheduler"],
                         settings, tmp_path / "stack.out")

    @property
    def api_url(self):
        return f"http://127.0.0.1:{self.config.api_port}"

    @property
    def gateway_url(self):
        return f"http://127.0.0.1:{self.config.gateway_port}"


@pytest.fixture
def group(tmp_path):
    """The master, replica and sentinels, stopped at teardown."""
    running = RedisGroup(tmp_path / "redis")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def service(group, tmp_path):
    """The stack's parts on the group's master, through the sentinels, at the shipped settings."""
    config = stack_config(tmp_path / "data", shipped=True, redis_url=group.url())
    supervisor = Supervisor(config, tmp_path)
    try:
        assert supervisor.wait_up() == {"mongo", "gateway", "api", "proxy", "worker", "scheduler"}
        assert "(from REDIS_URL, not started here)" in supervisor.output()
        yield supervisor
    finally:
        supervisor.stop()


def send_to_all(service, text):
    """Send text to every contact; check it was accepted for every delivery."""
    reply = send(service, "alice", [f"c{i}" for i in range(CONTACTS)], text)
    assert reply.status_code == 200, reply.text
    assert reply.json()["success"] is True, reply.text
    assert reply.json()["deliveries"] == DELIVERIES


def arrived(service, text):
    """How many times each (messenger, recipient) got text at the gateway."""
    return Counter((r["messenger"], r["to"]) for r in received(service) if r["text"] == text)


def delivered_once(service, text):
    """Wait for every delivery of text to arrive; check none arrives twice."""
    wait_until(lambda: len(arrived(service, text)) == DELIVERIES, 30, interval=0.1, message=f"{text!r} delivered")
    time.sleep(0.5)  # a duplicate would arrive by now
    counts = arrived(service, text)
    assert len(counts) == DELIVERIES and set(counts.values()) == {1}, counts


def settled(group, config, port):
    """Whether the master on this port holds nothing queued, unacknowledged or scheduled."""
    client = group.server(port)
    return not (client.llen(config.delivery_queue) + client.hlen("unacked")
                + client.zcard(Keys(config.redis_prefix).schedule()))


def test_the_service_carries_on_when_sentinel_fails_the_master_over(group, service):
    for i in range(CONTACTS):
        add_contact(service, "alice", f"c{i}", telegram=f"@c{i}", whatsapp=f"+7900{i:03d}")
    send_to_all(service, "before")
    delivered_once(service, "before")
    wait_until(lambda: settled(group, service.config, group.master_port), 10, message="settled before")
    # Everything written so far is on the replica before the master dies.
    assert group.server(group.master_port).execute_command("WAIT", 1, 5000) == 1

    # The master crashes, and with it the sentinel every client asked first.
    group.kill("master")
    group.kill("sentinel1")
    promoted = group.replica_port
    for port in group.sentinel_ports[1:]:
        wait_until(lambda p=port: group.master_port_said_by(p) == promoted, 20, interval=0.2,
                   message="replica promoted")

    send_to_all(service, "after")
    delivered_once(service, "after")
    assert sum(arrived(service, "before").values()) + sum(arrived(service, "after").values()) == len(received(service))
    wait_until(lambda: settled(group, service.config, promoted), 10, message="settled after")
    assert service.popen.poll() is None
