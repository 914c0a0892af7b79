"""TickLoop: the dispatcher's own thread; a failing run is logged and the loop goes on."""

from __future__ import annotations

import threading

from dialerd.engine.jobs import TickLoop

DEADLINE_S = 30.0


def test_the_loop_survives_a_failing_run_and_stops_when_told() -> None:
    runs: list[int] = []
    third = threading.Event()

    def tick() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("a bad tick")
        if len(runs) >= 3:
            third.set()

    loop = TickLoop("test-loop", tick, 0.001)
    loop.start()
    assert third.wait(DEADLINE_S) and loop.running
    loop.stop(DEADLINE_S)
    assert not loop.running
    done = len(runs)
    assert done >= 3 and runs == list(range(done))
