"""CPU per dial of the write path, in process: the claim (and Originate), the result write.

The real Dispatcher and ResultWriter, one thread, against bench/dispatch.py's
instant PBX (every call busy at once) and a queue of N contacts all due. Each round
is one ``Dispatcher.tick`` claiming up to ``--batch`` dials, then the writer
writing their results in one transaction. Reported: thread CPU per dial in the
tick (claim, attempt rows, Originate) and in the writer (the result write), the
median over rounds, on each backend.

    .venv/bin/python bench/write_path.py [--dials 4000] [--batch 100] [--backends sqlite postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.databases import fresh_databases
from bench.dispatch import DUE_RATE, InstantPbx, populate, runtime
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.domain.clock import SystemClock
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.writer import ResultWriter
from dialerd.logconfig import configure_logging
from dialerd.settings import LogSettings


def measure(url: str, dials: int, batch: int) -> tuple[float, float, int]:
    """Median µs per dial in the tick and in the writer, and the dials made."""
    engine = make_engine(url)
    upgrade(engine)
    t0 = datetime.now(UTC) - timedelta(days=1)  # every streamed contact is due at once
    cid = populate(engine, dials, t0, dials / DUE_RATE)
    rt = runtime(cid)
    pbx = InstantPbx()
    writer = ResultWriter(engine, SystemClock(), {cid: rt}.get)
    pbx.start(writer.submit)
    disp = Dispatcher(
        engine,
        pbx,
        SystemClock(),
        instance_id="bench",
        max_channels=100_000,
        calls_per_second=1_000_000,
        batch=batch,
        tick_s=1.0,
    )
    disp.set_campaigns({cid: replace(rt, calls_per_second=1_000_000)})
    tick_us: list[float] = []
    write_us: list[float] = []
    made = 0
    while made < dials:
        started = time.thread_time()
        report = disp.tick()
        claimed = time.thread_time()
        while writer.drain():
            pass
        written = time.thread_time()
        if not report.sent:
            break
        made += report.sent
        tick_us.append(1e6 * (claimed - started) / report.sent)
        write_us.append(1e6 * (written - claimed) / report.sent)
    engine.dispose()
    return statistics.median(tick_us), statistics.median(write_us), made


def main() -> None:
    configure_logging(LogSettings(format="json", level="warning"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dials", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    with fresh_databases(args.backends) as fresh:
        print(f"{'backend':<11}{'dials':>7}{'claim µs/dial':>15}{'write µs/dial':>15}")
        for backend in args.backends:
            url = fresh(backend, f"bench_write_{time.time_ns()}")
            tick, write, made = measure(url, args.dials, args.batch)
            print(f"{backend:<11}{made:>7}{tick:>15.0f}{write:>15.0f}", flush=True)


if __name__ == "__main__":
    main()
