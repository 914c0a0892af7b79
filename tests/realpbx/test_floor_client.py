"""The throughput bench's floor client (bench/floor_client.py) against a real Asterisk:
its figures stand for a dialer only if it records every dial, once, with what the PBX
said, whether it sends every batch at once or at a pace."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.asterisk_throughput import floor_run
from tests.realpbx.pbx import RealPbx, filtered_manager_conf

pytestmark = pytest.mark.timeout(240)

CALLS = 120  # more than two of the floor's batches of 50, the last one short


@pytest.mark.parametrize("pace", [None, 400.0])
def test_the_floor_client_records_every_dial_once_with_the_pbxs_cause(
    real_pbx: RealPbx, tmp_path: Path, pace: float | None
) -> None:
    real_pbx.restart_with(filtered_manager_conf(tmp_path, real_pbx.script, real_pbx.ami_port))
    db = tmp_path / "floor.db"
    _rate, outcomes = floor_run(real_pbx, CALLS, 1, db, pace)
    assert outcomes == {"vacant": CALLS}  # Hangup(1) in [callee-sim] for a last digit 3
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT status, reason, count(*), count(DISTINCT number) FROM attempts "
            "GROUP BY status, reason"
        ).fetchall()
    assert rows == [("done", "0", CALLS, CALLS)]  # OriginateResponse Failure, reason 0
