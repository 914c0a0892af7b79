"""The unit tier's guard (tests/unit/conftest.py) refuses sockets, sleeps, processes, signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from tests.unit.conftest import NotInAUnitTest


def test_a_socket_is_refused() -> None:
    with pytest.raises(NotInAUnitTest, match="a socket"):
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with pytest.raises(NotInAUnitTest):
        socket.create_connection(("127.0.0.1", 9))


def test_a_sleep_is_refused() -> None:
    with pytest.raises(NotInAUnitTest, match=r"time\.sleep"):
        time.sleep(0)


def test_a_subprocess_is_refused() -> None:
    with pytest.raises(NotInAUnitTest, match="a subprocess"):
        subprocess.run(["true"], check=False)


def test_a_signal_is_refused() -> None:
    with pytest.raises(NotInAUnitTest, match="signal"):
        os.kill(os.getpid(), signal.SIGHUP)


def test_a_thread_the_test_starts_is_refused_too() -> None:
    caught: list[BaseException] = []

    def nap() -> None:
        try:
            time.sleep(0)
        except NotInAUnitTest as exc:
            caught.append(exc)

    thread = threading.Thread(target=nap)
    thread.start()
    thread.join()
    assert len(caught) == 1
