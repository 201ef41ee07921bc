"""The ports tests, benchmarks and soaks give the stacks they start."""

import contextlib
import socket

from stack.ports import _ephemeral_start, free_ports


def test_ports_are_distinct_and_never_ones_an_outgoing_connection_could_hold():
    handed = [port for _ in range(50) for port in free_ports(4)]
    assert len(set(handed)) == len(handed)
    assert all(1024 < port < _ephemeral_start() for port in handed)


def test_a_port_someone_listens_on_is_passed_over():
    last, = free_ports(1)
    with contextlib.ExitStack() as held:
        taken = []
        for port in range(last + 1, last + 6):
            sock = held.enter_context(socket.socket())
            with contextlib.suppress(OSError):
                sock.bind(("127.0.0.1", port))
                sock.listen()
                taken.append(port)
        assert taken
        assert not set(free_ports(3)) & set(taken)
