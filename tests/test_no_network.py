"""The suite must never reach beyond this machine: the socket guard is on."""

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_a_connection_to_a_public_address_is_refused_by_the_guard():
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 443), timeout=1)


def test_loopback_stays_allowed_for_local_test_doubles():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=1)
    client.close()
    server.close()
