"""The supervisor: retrying within the bound, giving up past it, silence, probes, thread deaths."""

from __future__ import annotations

import threading

from dialerd.process.supervisor import Failure, Supervisor


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_retrying_is_alive_until_the_bound_then_a_failure() -> None:
    clock = Ticker()
    sup = Supervisor(monotonic=clock)
    writer = sup.register("results", give_up_s=60)
    writer.retrying("database unavailable: refused")
    clock.now += 59
    writer.retrying("database unavailable: refused again")  # the clock runs from the first
    assert sup.check() is None and sup.healthy()
    assert sup.troubles() == ["results retrying: database unavailable: refused again"]
    clock.now += 1
    assert sup.check() == Failure(
        "results", "still failing after 60s: database unavailable: refused again"
    )
    assert not sup.healthy()


def test_recovery_resets_the_bound() -> None:
    clock = Ticker()
    sup = Supervisor(monotonic=clock)
    job = sup.register("dispatch", give_up_s=10)
    job.retrying("locked")
    clock.now += 9
    job.recovered()
    job.retrying("locked")
    clock.now += 9
    assert sup.check() is None and sup.troubles() == ["dispatch retrying: locked"]


def test_a_silent_worker_is_unhealthy_but_not_failed() -> None:
    clock = Ticker()
    sup = Supervisor(monotonic=clock)
    writer = sup.register("results", stale_s=30)
    clock.now += 31
    assert sup.check() is None
    assert not sup.healthy() and sup.troubles() == ["results silent"]
    writer.beat()
    assert sup.healthy() and sup.troubles() == []


def test_a_probe_fails_its_worker() -> None:
    sup = Supervisor()
    answers: list[str | None] = [None, "the database file was deleted"]
    sup.watch("database file", lambda: answers.pop(0) if len(answers) > 1 else answers[0])
    assert sup.check() is None
    assert sup.check() == Failure("database file", "the database file was deleted")
    assert sup.check() == Failure("database file", "the database file was deleted")  # stays


def test_an_uncaught_exception_fails_the_thread_owner_while_installed() -> None:
    sup = Supervisor()
    sup.register("pbx", threads=("ami-",))
    before = threading.excepthook
    sup.install()
    try:

        def crash() -> None:
            raise ValueError("bad frame")

        for name in ("ami-supervisor", "stray"):
            thread = threading.Thread(target=crash, name=name)
            thread.start()
            thread.join()
    finally:
        sup.uninstall()
    assert threading.excepthook is before
    assert sup.check() == Failure("pbx", "thread ami-supervisor died: ValueError: bad frame")
    assert "thread stray failed: thread stray died: ValueError: bad frame" in sup.troubles()


def test_a_probe_failure_is_reported_before_the_errors_it_caused() -> None:
    # a deleted SQLite file: a job's query fails ("no such table") before the next check
    # asks the file watch; the watch's reason is the one the daemon reports
    sup = Supervisor()
    sup.register("reap").failed("OperationalError: no such table: instances")
    sup.watch("database file", lambda: "dialerd.db: the database file was deleted")
    assert sup.check() == Failure("database file", "dialerd.db: the database file was deleted")
