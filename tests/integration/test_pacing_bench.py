"""bench/pacing.py's call centre on one small scenario: the bench keeps working."""

from __future__ import annotations

import pytest

from bench.pacing import BASELINES, Scenario, simulate, verdict


@pytest.mark.timeout(120)  # CPU-bound: 0.8 s on an idle machine, 12 s seen under load
def test_predictive_holds_the_abandon_cap_and_beats_ratio_one() -> None:
    scenario = Scenario(agents=10, answer_rate=0.3, hours=1.0, seed=7)
    ours = simulate(scenario, "dialerd predictive")
    ratio1 = simulate(scenario, "ratio 1.0")
    assert ours.human_answers > 100
    assert ours.abandon_rate <= 0.03
    assert ours.worst_hour <= 0.05
    assert ratio1.abandoned == 0
    assert ours.occupancy > ratio1.occupancy
    assert verdict([ours, ratio1]) == ""
    assert "ratio 1.0" in BASELINES
