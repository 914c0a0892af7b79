"""`dialerd simulate` on the shipped example campaigns: the whole life, the rules kept."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dialerd.campaignfile.loader import load_file
from dialerd.cli import cli
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, Contact
from dialerd.engine.simulation import (
    REPORT_INDEXES,
    drop_report_indexes,
    restore_indexes,
    start_of,
)

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"
START = "2026-11-23"  # a Monday


def _simulate(tmp_path: Path, name: str, *extra: str) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    args = ["simulate", str(CAMPAIGNS / f"{name}.toml"), "--database", url, "--start", START]
    result = CliRunner().invoke(cli, [*args, *extra])
    assert result.exit_code == 0, result.output
    return result.stdout, url


@pytest.mark.timeout(120)  # 1-4 s, but 18 s seen with both cores busy
@pytest.mark.parametrize("name", ["new-policy-callback", "satisfaction-survey", "spot-check"])
def test_simulate_example_campaign(name: str, tmp_path: Path) -> None:
    output, url = _simulate(tmp_path, name, "--seed", "3")
    assert "dials per hour" in output and "round by round" in output
    engine = make_engine(url)
    with engine.connect() as conn:
        attempts = conn.execute(select(Attempt.__table__).order_by(Attempt.id)).all()
        contacts = {c.id: c for c in conn.execute(select(Contact.__table__))}
    assert attempts, "the simulation dialled nobody"
    assert all(a.status == "done" and a.outcome for a in attempts)
    rounds: dict[int, dict[int, object]] = defaultdict(dict)
    for a in attempts:
        rounds[a.contact_id].setdefault(a.round, a.started_at)
    config_rounds = {"new-policy-callback": 4, "satisfaction-survey": 3, "spot-check": 4}[name]
    for contact_id, starts in rounds.items():
        normal = [
            r
            for r in starts
            if not any(
                a.is_appointment for a in attempts if a.contact_id == contact_id and a.round == r
            )
        ]
        assert len(normal) <= config_rounds
        times = sorted(starts.values())  # type: ignore[type-var]
        for earlier, later in pairwise(times):
            assert later - earlier >= timedelta(hours=6)  # type: ignore[operator]
        assert contacts[contact_id].state in {"active", "completed", "closed", "paused"}
    labels = re.findall(r"^\s+(\d+) of (\d+)\s", output, flags=re.MULTILINE)
    assert labels and all(int(n) <= int(of) == config_rounds for n, of in labels)


def test_the_preview_reads_like_a_plan(tmp_path: Path) -> None:
    output, _ = _simulate(tmp_path, "new-policy-callback", "--contact", "NP-0011")
    first = output.splitlines()[0]
    assert "from Mon 2026-11-23 00:00" in first and "callees: typical (seed 1)" in first
    hours = output.split("dials per hour\n")[1].split("\n\n")[0].splitlines()
    assert hours[0].startswith("  Mon 2026-11-23 09:00")
    assert any(re.fullmatch(r"  \w{3} \d{4}-\d\d-\d\d \d\d:00\s+0", h) for h in hours), (
        "empty hours inside a dialling day are shown"
    )
    assert "  appointment " in output, "NP-0011's appointment is a round of its own"
    timeline = output.split("contact NP-0011")[1].splitlines()
    assert timeline[1].startswith("  Wed 2026-11-25 14:30  appointment"), (
        "the list's appointment time is kept"
    )
    assert again_equal(tmp_path, output), "the same seed gives the same plan"


def again_equal(tmp_path: Path, output: str) -> bool:
    other = tmp_path / "again"
    other.mkdir()
    again, _ = _simulate(other, "new-policy-callback", "--contact", "NP-0011")
    strip = re.compile(r"(generated .*|simulated in .*)")
    return strip.sub("", again) == strip.sub("", output)


def test_the_last_digit_preset_stays_available(tmp_path: Path) -> None:
    output, _ = _simulate(tmp_path, "spot-check", "--scenario", "last-digit")
    assert "callees: last-digit" in output.splitlines()[0]


def test_a_preview_starts_now_unless_a_day_is_given() -> None:
    loaded = load_file(CAMPAIGNS / "spot-check.toml")  # start = 2026-11-23, a week back
    now = datetime(2026, 12, 1, 3, 4, 5, 6, tzinfo=UTC)
    assert start_of(loaded, None, now=now) == datetime(2026, 12, 1, 3, 4, tzinfo=UTC)
    local_midnight = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 00:00 in Asia/Shanghai
    assert start_of(loaded, date(2026, 12, 1), now=now) == local_midnight


def _indexes(url: str) -> list[tuple[str, str]]:
    with make_engine(url).connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).all()
    return sorted((str(name), str(sql)) for name, sql in rows)


def test_report_indexes_dropped_for_the_loop_come_back_as_they_were(tmp_path: Path) -> None:
    migrated = f"sqlite:///{tmp_path / 'migrated.db'}"
    engine = make_engine(migrated)
    upgrade(engine)
    expected = _indexes(migrated)
    assert {n for n, _ in expected} >= set(REPORT_INDEXES)
    definitions = drop_report_indexes(engine)
    assert len(definitions) == len(REPORT_INDEXES)
    assert not {n for n, _ in _indexes(migrated)} & set(REPORT_INDEXES)
    restore_indexes(engine, definitions)
    assert _indexes(migrated) == expected
    # a history the simulation creates gets them back before its report; an existing
    # database keeps them throughout, and both print the same plan
    fresh, url = _simulate(tmp_path, "spot-check")
    assert _indexes(url) == expected
    kept = tmp_path / "kept"
    kept.mkdir()
    upgrade(make_engine(f"sqlite:///{kept / 'sim.db'}"))
    existing, _ = _simulate(kept, "spot-check")
    strip = re.compile(r"(generated .*|simulated in .*)")
    assert strip.sub("", existing) == strip.sub("", fresh)
