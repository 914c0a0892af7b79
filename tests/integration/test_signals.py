"""SignalRouter with real signals sent to this process."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from dialerd.process.signals import SignalRouter


@pytest.fixture
def router() -> Iterator[SignalRouter]:
    r = SignalRouter().install()
    yield r
    r.restore()


def _send(signum: int) -> None:
    os.kill(os.getpid(), signum)


def test_first_sigterm_asks_for_a_graceful_stop_the_second_forces(router: SignalRouter) -> None:
    assert not router.stop_requested
    _send(signal.SIGTERM)
    assert router.stop_requested
    assert not router.force_requested
    _send(signal.SIGTERM)
    assert router.force_requested
    assert router.last_signal == signal.SIGTERM


def test_sigint_counts_like_sigterm(router: SignalRouter) -> None:
    _send(signal.SIGINT)
    assert router.stop_requested
    _send(signal.SIGTERM)
    assert router.force_requested


def test_sighup_asks_for_one_reload(router: SignalRouter) -> None:
    assert not router.take_reload()
    _send(signal.SIGHUP)
    _send(signal.SIGHUP)
    assert not router.stop_requested
    assert router.take_reload()
    assert not router.take_reload()


def test_a_signal_wakes_wait_early(router: SignalRouter) -> None:
    timer = threading.Timer(0.05, _send, args=(signal.SIGHUP,))
    started = time.monotonic()
    timer.start()
    woken = router.wait(60.0)
    timer.join()
    assert woken
    assert time.monotonic() - started < 30.0  # woken by the signal, long before the timeout
    assert router.take_reload()


def test_wait_times_out_without_a_signal(router: SignalRouter) -> None:
    started = time.monotonic()
    assert router.wait(0.05) is False
    assert time.monotonic() - started >= 0.04


def test_request_stop_from_code(router: SignalRouter) -> None:
    router.request_stop()
    assert router.stop_requested
    assert router.wait(0)


def test_restore_puts_the_previous_handlers_back() -> None:
    seen: list[int] = []

    def previous(signum: int, _frame: object) -> None:
        seen.append(signum)

    old = signal.signal(signal.SIGHUP, previous)
    try:
        with SignalRouter() as router:
            assert signal.getsignal(signal.SIGHUP) != previous
            _send(signal.SIGHUP)
            assert router.take_reload()
        assert signal.getsignal(signal.SIGHUP) == previous
        _send(signal.SIGHUP)
        assert seen == [signal.SIGHUP]
    finally:
        signal.signal(signal.SIGHUP, old)
