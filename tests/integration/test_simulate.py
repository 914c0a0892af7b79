"""`dialerd simulate` on the shipped example campaigns: the whole life, the rules kept."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dialerd.cli import cli
from dialerd.db.engine import make_engine
from dialerd.db.models import Attempt, Contact

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"


@pytest.mark.timeout(120)  # 1-4 s, but 18 s seen with both cores busy
@pytest.mark.parametrize("name", ["new-policy-callback", "satisfaction-survey", "spot-check"])
def test_simulate_example_campaign(name: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    result = CliRunner().invoke(
        cli, ["simulate", str(CAMPAIGNS / f"{name}.toml"), "--database", url, "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "dials per hour" in result.output and "round by round" in result.output
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
