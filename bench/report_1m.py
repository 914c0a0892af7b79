"""`dialerd report` on a 1M-contact campaign with ~2M dials, on PostgreSQL.

Run: .venv/bin/python bench/report_1m.py [--contacts N]

Starts a throwaway cluster (tests/pgcluster.py), migrates, loads the campaign with
COPY, runs VACUUM ANALYZE (as autovacuum would have), then times `dialerd report`
in each format as a subprocess (what an operator waits for), plus a streamed
`dialerd attempts` export with its peak memory. Target: the report under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dialerd.db.engine import make_engine  # noqa: E402
from dialerd.db.migrate import upgrade  # noqa: E402
from tests.pgcluster import start_cluster  # noqa: E402

T0 = datetime(2026, 11, 2, 1, tzinfo=UTC)
OFFSET_S = 8 * 3600  # Asia/Shanghai (no DST): what the dispatcher writes per attempt
# outcome, weight, answered
OUTCOMES = [
    ("no_answer", 30, False),
    ("busy", 10, False),
    ("powered_off", 8, False),
    ("rejected", 5, False),
    ("out_of_service_area", 4, False),
    ("vacant", 4, False),
    ("answering_machine", 3, True),
    ("answered", 6, True),
    ("completed", 18, True),
    ("refused", 6, True),
    ("callback_requested", 3, True),
    ("interrupted", 1, False),
    ("internal_failure", 1, False),
]
CODES = [o[0] for o in OUTCOMES]
WEIGHTS = [o[1] for o in OUTCOMES]
ANSWERED = {o[0] for o in OUTCOMES if o[2]}


def _copy(engine: Engine, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        raw.commit()
    finally:
        raw.close()


def load(engine: Engine, contacts: int) -> int:
    """One campaign, ``contacts`` contacts with 1-2 numbers, ~2 dials each; returns dials."""
    rnd = random.Random(7)
    now = T0
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO campaigns (id, name, description, config, config_sha256, timezone, "
            "max_rounds, min_spacing_s, state, created_at, updated_at) VALUES "
            "(1, 'bench', '', '{}', repeat('0', 64), 'Asia/Shanghai', 4, 21600, 'active', "
            "now(), now())"
        )
        conn.exec_driver_sql(
            "INSERT INTO imports (id, campaign_id, path, sha256, started_at, rows, loaded, "
            "numbers, already_loaded, rejected, duplicates, dnc_suppressed) VALUES "
            f"(1, 1, 'bench.csv', repeat('1', 64), now(), {contacts + 3000}, {contacts}, 0, 0, "
            '\'{"bad_number": 2000, "missing_id": 500}\', 400, 100)'
        )
    plans: list[list[tuple[int, int, int, str, datetime]]] = []  # per contact
    states: list[tuple[str, int]] = []
    for cid in range(1, contacts + 1):
        dials = rnd.choice((1, 1, 2, 2, 2, 3, 4))
        seq = []
        for n in range(dials):
            pos = 1 + (n % 2 if cid % 3 == 0 else 0)
            day = n  # one round a day
            at = now + timedelta(days=day, seconds=rnd.randrange(8 * 3600))
            seq.append((cid, pos, n + 1, rnd.choices(CODES, WEIGHTS)[0], at))
        last = seq[-1][3]
        state = "completed" if last == "completed" else "closed" if dials == 4 else "active"
        plans.append(seq)
        states.append((state, dials))
    _copy(
        engine,
        "contacts",
        "id, campaign_id, external_id, name, state, rounds_started, refusals, priority, "
        "import_id, created_at, updated_at",
        (
            (cid, 1, f"E{cid}", f"Name {cid}", st, rounds, 0, 0, 1, now, now)
            for cid, (st, rounds) in enumerate(states, start=1)
        ),
    )
    numbers = (
        (cid * 2 + pos - 2, cid, 1, pos, f"+86138{cid:08d}", f"138{cid:08d}",
         "dead" if pos == 1 and cid % 25 == 0 else "dialable", 0, 0, False, "mobile")
        for cid in range(1, contacts + 1)
        for pos in ((1, 2) if cid % 3 == 0 else (1,))
    )  # fmt: skip
    _copy(
        engine,
        "phone_numbers",
        "id, contact_id, campaign_id, position, e164, raw, state, dial_count, priority, "
        "third_party, number_type",
        numbers,
    )
    # Dials in time order, as the dispatcher writes them (ids grow with time).
    log = sorted((d for seq in plans for d in seq), key=lambda d: d[4])
    del plans

    def attempts() -> Iterator[tuple[Any, ...]]:
        for aid, (cid, pos, rnd_no, code, at) in enumerate(log, start=1):
            started = at + timedelta(seconds=rnd.random() * 3)
            answered = started + timedelta(seconds=8) if code in ANSWERED else None
            ended = (answered or started) + timedelta(seconds=25 if answered else 30)
            # the answered-call flow reports its outcome as the disposition
            disposition = code if answered and code != "answered" else None
            yield (aid, f"1-{cid}-{pos}-{rnd_no}-1", 1, cid, cid * 2 + pos - 2, rnd_no, pos,
                   1, f"+86138{cid:08d}", "bench", "done", False, at, at, started, answered,
                   ended, code, "retryable", "retry", disposition, OFFSET_S)  # fmt: skip

    _copy(
        engine,
        "attempts",
        "id, key, campaign_id, contact_id, phone_number_id, round, position, try_no, number, "
        "instance_id, status, is_appointment, planned_at, claimed_at, started_at, answered_at, "
        "ended_at, outcome, bucket, treatment, disposition, utc_offset_s",
        attempts(),
    )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    return len(log)


def _timed(args: list[str], env: dict[str, str], out: str = os.devnull) -> tuple[float, int]:
    """Wall time of one `dialerd` run and that process's peak RSS (KiB)."""
    started = time.perf_counter()
    with open(out, "w") as sink:
        proc = subprocess.Popen([str(REPO / ".venv/bin/dialerd"), *args], env=env, stdout=sink)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"dialerd {' '.join(args)} failed ({proc.returncode})")
    return time.perf_counter() - started, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--load-into", metavar="URL", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.load_into:  # the loading child: keeps the timed runs' parent small
        print(load(make_engine(opts.load_into), opts.contacts))
        return
    cluster = start_cluster()
    if cluster is None:
        raise SystemExit("PostgreSQL is not installed")
    try:
        url = cluster.create_database("bench")
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        # A forked child starts with its parent's memory, so the parent must stay small
        # for the per-run peak RSS to mean anything: the data is generated in a child.
        loader = [sys.executable, __file__, "--contacts", str(opts.contacts), "--load-into", url]
        dials = int(subprocess.run(loader, check=True, capture_output=True, text=True).stdout)
        print(f"loaded {opts.contacts:,} contacts, {dials:,} dials "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        env = {**os.environ, "DIALERD_DATABASE__URL": url}
        results: dict[str, Any] = {}
        for fmt in ("table", "json", "html"):
            args = ["report", "bench", "--format", fmt, "--daily"]
            if fmt == "html":
                args += ["--output", "/tmp/dialerd-bench-report.html"]
            runs = [_timed(args, env) for _ in range(3)]
            results[f"report --daily --format {fmt}: s"] = [round(t, 2) for t, _ in runs]
            peak = max(r for _, r in runs) // 1024
            results[f"report --daily --format {fmt}: peak RSS MiB"] = peak
        runs = [_timed(["report", "bench"], env) for _ in range(3)]
        results["report (table, no --daily): s"] = [round(t, 2) for t, _ in runs]
        secs, rss = _timed(["attempts", "bench", "--format", "csv"], env)
        results["attempts --format csv: s"] = round(secs, 1)
        results["attempts --format csv: rows/s"] = round(dials / secs)
        results["attempts --format csv: peak RSS MiB"] = rss // 1024
        print(json.dumps(results, indent=2))
        engine.dispose()
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
