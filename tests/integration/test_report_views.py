"""The reporting views, on both backends, against figures counted by hand (see reportdata)."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.integration import reportdata


def _rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    reportdata.load(engine)
    return engine


def test_campaign_figures(loaded: Engine) -> None:
    (f,) = _rows(loaded, "SELECT * FROM v_campaign_figures WHERE campaign = 'c1'")
    expected = {
        "account_size": 8,  # K1..K8
        "rejected_at_import": 5,  # 2 bad_number + 1 missing_id + 1 duplicate + 1 DNC
        "undialable_accounts": 1,  # K5: its only number is dead, never reached
        "useless_data": 6,  # 5 + 1
        "valid_accounts": 7,  # 8 - 1
        "accounts_called": 6,  # K1 K2 K3 K4 K5 K7 (K8's only dial never reached the PBX)
        "calls_made": 10,  # 12 attempts - K4's interrupted - K8's internal_failure
        "our_fault_dials": 2,  # those two
        "unreached_dials": 5,  # K4: 2, K5: 1, K7: 2
        "unreached_called": 3,  # K4 K5 K7
        "reachable_accounts": 3,  # K1 K2 (completed), K3 (refused)
        "unreachable_accounts": 1,  # K4: active, number still dialable
        "exhausted_accounts": 1,  # K7: rounds used up
        "not_called_accounts": 2,  # K6, K8
        "completed_accounts": 2,  # K1 K2
        "successful_accounts": 1,  # K1 (K2 was completed by an answer with no disposition)
        "answered_calls": 3,  # K1, K2 round 2, K3
    }
    assert {k: f[k] for k in expected} == expected
    assert f["corruption_rate"] == pytest.approx(6 / 13)  # useless ÷ (loaded + rejected)
    assert f["average_calling_attempt"] == pytest.approx(5 / 3)
    assert f["reachable_rate"] == pytest.approx(3 / 7)
    assert f["completed_rate"] == pytest.approx(2 / 3)
    assert f["hit_rate"] == pytest.approx(1 / 2)
    assert f["answer_rate"] == pytest.approx(3 / 10)
    # UTC hours with a started dial: 11-02 01..05, 11-03 01, 03, 05 (K8's never started)
    assert f["dialling_hours"] == 8
    assert f["completed_per_hour"] == pytest.approx(2 / 8)
    # ring: 10 + 30 + 5 + 20 + 5 + 30 + 2 + 3 + 4 + 30 = 139 s over 10 dials
    assert f["avg_ring_s"] == pytest.approx(13.9, abs=1e-3)
    # talk: K1 120 s, K2 300 s, K3 30 s
    assert f["avg_talk_s"] == pytest.approx(150, abs=1e-3)


def test_contact_categories_partition_the_campaign(loaded: Engine) -> None:
    rows = _rows(
        loaded, "SELECT external_id, category, dials FROM v_contact_status WHERE campaign_id = 1"
    )
    got = {r["external_id"]: (r["category"], r["dials"]) for r in rows}
    assert got == {
        "K1": ("reached", 1),
        "K2": ("reached", 3),
        "K3": ("reached", 1),
        "K4": ("unreachable", 2),
        "K5": ("undialable", 1),
        "K6": ("not_called", 0),
        "K7": ("exhausted", 2),
        "K8": ("not_called", 0),
    }


def test_campaign_daily(loaded: Engine) -> None:
    rows = _rows(loaded, "SELECT * FROM v_campaign_daily WHERE campaign_id = 1 ORDER BY day")
    cols = (
        "day calls_made accounts_called answered_calls reached_calls our_fault_dials "
        "new_reached_accounts"
    ).split()
    assert [tuple(r[c] for c in cols) for r in rows] == [
        # 11-02: K1, K2 x2, K3, K4, K5, K7; answered K1 K3; K8 failed; K1 K3 first reached
        ("2026-11-02", 7, 6, 2, 2, 1, 2),
        # 11-03: K2, K4 powered_off, K7; answered/reached K2; K4 interrupted; K2 first reached
        ("2026-11-03", 3, 3, 1, 1, 1, 1),
    ]
    assert [round(r["ring_seconds"], 3) for r in rows] == [87, 52]  # 10+30+5+5+30+3+4, 20+2+30
    assert [round(r["talk_seconds"], 3) for r in rows] == [150, 300]
    assert rows[0]["answer_rate"] == pytest.approx(2 / 7)


def test_campaign_hourly(loaded: Engine) -> None:
    rows = _rows(
        loaded,
        "SELECT hour_utc, calls_made, our_fault_dials FROM v_campaign_hourly "
        "WHERE campaign_id = 1 ORDER BY hour_utc",
    )
    got = [(r["hour_utc"], r["calls_made"], r["our_fault_dials"]) for r in rows]
    assert got[:2] == [("2026-11-02 01:00", 3, 0), ("2026-11-02 02:00", 1, 0)]
    assert ("2026-11-02 06:00", 0, 1) in got  # K8's failed claim, by its claim time
    assert sum(r[1] for r in got) == 10


def test_outcomes(loaded: Engine) -> None:
    rows = _rows(loaded, "SELECT * FROM v_outcomes WHERE campaign_id = 1")
    by = {r["outcome"]: r for r in rows}
    assert {k: r["dials"] for k, r in by.items()} == {
        "completed": 1,
        "answered": 1,
        "no_answer": 3,
        "busy": 2,
        "refused": 1,
        "interrupted": 1,
        "powered_off": 1,
        "vacant": 1,
        "internal_failure": 1,
    }
    assert by["no_answer"]["share"] == pytest.approx(3 / 12)  # 12 finished attempts
    assert (by["vacant"]["label_zh"], by["vacant"]["group_code"]) == ("空号", "dead_number")
    assert by["interrupted"]["bucket"] == "not_counted"
    daily = _rows(
        loaded,
        "SELECT day, dials FROM v_outcomes_daily WHERE campaign_id = 1 AND outcome = 'no_answer'"
        " ORDER BY day",
    )
    assert [(r["day"], r["dials"]) for r in daily] == [("2026-11-02", 2), ("2026-11-03", 1)]


def test_round_funnel(loaded: Engine) -> None:
    rows = _rows(loaded, "SELECT * FROM v_round_funnel WHERE campaign_id = 1 ORDER BY round")
    cols = "round contacts_entered first_reached_accounts completed_accounts closed_accounts"
    cols += " finished_accounts"
    got = [tuple(r[c] for c in cols.split()) for r in rows]
    assert got == [
        # entered: rounds_started >= round (K6 never started one; K8's dial failed on our side)
        (1, 7, 2, 1, 1, 2),  # K1..K5 K7 K8 entered; K1 K3 reached; K1 completed; K5 closed
        (2, 3, 1, 1, 1, 2),  # K2 K4 K7 entered; K2 reached and completed; K7 closed
        (3, 0, 0, 0, 0, 0),  # rounds up to the campaign's max_rounds (4) all have a row
        (4, 0, 0, 0, 0, 0),
    ]


def test_dispatch_lateness(loaded: Engine) -> None:
    (r,) = _rows(loaded, "SELECT * FROM v_dispatch_lateness WHERE campaign_id = 1")
    # started - planned over the 11 started dials: 2,0,1,10,0,30,0,60,0,60,0 (to 10 ms)
    assert r["dials"] == 11
    assert r["avg_s"] == pytest.approx(163 / 11, abs=1e-3)
    assert r["p50_s"] == pytest.approx(1, abs=1e-3)  # nearest rank 6 of 11
    assert r["p95_s"] == pytest.approx(60, abs=1e-3)  # nearest rank 11 of 11
    assert r["max_s"] == pytest.approx(60, abs=1e-3)


def test_other_campaign_is_separate(loaded: Engine) -> None:
    (f,) = _rows(loaded, "SELECT * FROM v_campaign_figures WHERE campaign = 'c2'")
    assert (f["account_size"], f["calls_made"], f["rejected_at_import"]) == (1, 1, 0)
    assert f["hit_rate"] is None  # nothing completed: no ratio rather than a division by zero


def test_empty_campaign_has_a_row(engine: Engine) -> None:
    reportdata.load(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM attempts"))
        conn.execute(text("DELETE FROM contacts"))
    (f,) = _rows(engine, "SELECT * FROM v_campaign_figures WHERE campaign = 'c1'")
    assert (f["account_size"], f["calls_made"], f["useless_data"]) == (0, 0, 5)


@pytest.mark.skipif(
    importlib.util.find_spec("dialerd.domain.outcomes") is None,
    reason="dialerd.domain.outcomes is not written yet",
)
def test_outcome_labels_match_the_domain(engine: Engine) -> None:
    from dialerd.domain import outcomes

    rows = _rows(engine, "SELECT * FROM outcome_labels")
    table = {r["code"]: (r["label_en"], r["label_zh"], r["group_code"], r["bucket"]) for r in rows}
    domain = {
        str(code): (
            info.label_en,
            info.label_zh,
            str(info.group),
            str(outcomes.default_bucket(code)),
        )
        for code, info in outcomes.OUTCOMES.items()
    }
    assert table == domain


def test_figures_agree_with_contact_status(loaded: Engine) -> None:
    """v_campaign_figures folds the categories in its own pass: the counts must match."""
    counts = {
        r["category"]: r["n"]
        for r in _rows(
            loaded,
            "SELECT category, COUNT(*) AS n FROM v_contact_status WHERE campaign_id = 1 "
            "GROUP BY category",
        )
    }
    (f,) = _rows(loaded, "SELECT * FROM v_campaign_figures WHERE campaign_id = 1")
    assert counts == {
        "reached": f["reachable_accounts"],
        "undialable": f["undialable_accounts"],
        "not_called": f["not_called_accounts"],
        "unreachable": f["unreachable_accounts"],
        "exhausted": f["exhausted_accounts"],
    }
