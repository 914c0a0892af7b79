"""Operator commands on a big campaign: `campaign list`, `campaign status`, `status`, `dnc add`.

Run: .venv/bin/python bench/status_1m.py [--contacts N] [--backend sqlite|postgresql|both]

Loads one campaign with N contacts (2 numbers each, one of them queued: half due
now, half later), one finished dial per contact and a few in flight, then times
each command as a subprocess (what an operator waits for, interpreter start-up
included) and a DNC prefix entry that takes a tenth of the numbers out of the
queue (and moves the contacts that lose their queued number on to their next
one). Target: every read command under 2 s at 500k contacts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dialerd.campaignfile.loader import load_file  # noqa: E402
from dialerd.db.engine import make_engine  # noqa: E402
from dialerd.db.migrate import upgrade  # noqa: E402
from dialerd.db.models import Attempt, Campaign, Contact, PhoneNumber  # noqa: E402
from tests.pgcluster import start_cluster  # noqa: E402

NOW = datetime.now(UTC)
# a real campaign's rules, so `dnc add` moves contacts on to their next number as it would
EXAMPLE = load_file(REPO / "campaigns" / "spot-check.toml").model.model_dump(mode="json")
BATCH = 20_000


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def load(engine: Engine, contacts: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(Campaign).values(
                id=1, name="bench", description="", config=EXAMPLE, config_sha256="0" * 64,
                timezone="Asia/Shanghai", max_rounds=4, min_spacing_s=21600, state="active",
                created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
    tables: list[tuple[Any, Iterator[dict[str, Any]]]] = [
        (
            Contact.__table__,
            (
                {"id": c, "campaign_id": 1, "external_id": f"E{c}", "created_at": NOW,
                 "updated_at": NOW, "state": "active" if c % 5 else "completed",
                 "rounds_started": 1, "refusals": 0, "priority": 0}
                for c in range(1, contacts + 1)
            ),
        ),
        (
            PhoneNumber.__table__,
            (
                {"id": c * 2 + p - 2, "contact_id": c, "campaign_id": 1, "position": p,
                 "e164": f"+86{138 + c % 10}{c:08d}", "raw": str(c), "state": "dialable",
                 "dial_count": 0, "priority": 0, "third_party": False, "number_type": "mobile",
                 "next_dial_at": (NOW - timedelta(minutes=1) if c % 2 else NOW + timedelta(hours=6))
                 if p == 1 and c % 5 else None}
                for c in range(1, contacts + 1)
                for p in (1, 2)
            ),
        ),
        (
            Attempt.__table__,
            (
                {"id": c, "key": f"1-{c}-1-1-1", "campaign_id": 1, "contact_id": c,
                 "phone_number_id": c * 2 - 1, "round": 1, "position": 1, "try_no": 1,
                 "number": "+8613800000000", "instance_id": "bench",
                 "status": "dialing" if c % 5000 == 0 else "done", "is_appointment": False,
                 "planned_at": NOW, "claimed_at": NOW - timedelta(seconds=c % 86400),
                 "outcome": None if c % 5000 == 0 else ("no_answer", "busy", "completed")[c % 3]}
                for c in range(1, contacts + 1)
            ),
        ),
    ]  # fmt: skip
    for table, rows in tables:
        for batch in _batches(rows):
            with engine.begin() as conn:
                conn.execute(insert(table), batch)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def timed(url: str, *args: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dialerd", *args],
        env={"DIALERD_DATABASE__URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{args}: exit {proc.returncode}\n{proc.stderr}")
    return elapsed


def bench(url: str, contacts: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    load(engine, contacts)
    engine.dispose()
    print(f"  loaded {contacts:,} contacts, {2 * contacts:,} numbers in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    for args in (
        ("--version",),
        ("campaign", "list"),
        ("campaign", "status", "bench"),
        ("status",),
        ("dnc", "add", "+86139*", "--reason", "bench"),
    ):
        best = min(timed(url, *args) for _ in range(1 if args[0] == "dnc" else 3))
        print(f"  dialerd {' '.join(args):<40} {best:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=500_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    opts = parser.parse_args()
    if opts.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            print("SQLite")
            bench(f"sqlite:///{tmp}/bench.db", opts.contacts)
    if opts.backend in ("postgresql", "both"):
        cluster = start_cluster()
        if cluster is None:
            raise SystemExit("PostgreSQL is not installed")
        try:
            print("PostgreSQL")
            bench(cluster.create_database("bench_status"), opts.contacts)
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
