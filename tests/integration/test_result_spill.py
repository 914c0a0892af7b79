"""The spill file: what goes in comes back, a live writer's file is left alone, torn lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dialerd.domain.ports import DialResult, PbxSignals
from dialerd.engine.spill import Spill, decode, encode

T = datetime(2026, 11, 23, 2, 0, 30, tzinfo=UTC)


def _result(n: int) -> DialResult:
    signals = PbxSignals(
        originate_response="Success",
        hangup_cause=16,
        dial_status="ANSWER",
        rang=True,
        answered_at=T,
        ended_at=T,
        disposition="completed",
        raw={"behaviour": "answered", "frames": 3},
    )
    return DialResult(key=f"1-{n}-1-1-1", attempt_id=n, signals=signals)


def test_a_result_comes_back_as_it_went_in() -> None:
    assert decode(encode(_result(7))) == _result(7)


def test_take_and_consume_then_the_empty_file_is_removed(tmp_path: Path) -> None:
    spill = Spill(tmp_path, "host-1")
    spill.append([_result(n) for n in range(5)])
    assert spill.pending() == 5 and spill.path.name == "results-host-1.jsonl"
    assert [r.attempt_id for r in spill.take(3)] == [0, 1, 2]
    assert [r.attempt_id for r in spill.take(3)] == [0, 1, 2]  # not consumed: again
    spill.consumed()
    assert [r.attempt_id for r in spill.take(3)] == [3, 4]
    spill.consumed()
    assert spill.pending() == 0 and not spill.path.exists()
    spill.close()


def test_a_live_writers_file_is_left_alone_and_a_dead_ones_taken(tmp_path: Path) -> None:
    live = Spill(tmp_path, "live")
    live.append([_result(1)])
    (tmp_path / "results-dead.jsonl").write_text(encode(_result(2)) + "\n")
    fresh = Spill(tmp_path, "fresh")
    assert fresh.adopt_leftovers() == 1  # the live writer holds its file
    assert [r.attempt_id for r in fresh.take(10)] == [2]
    fresh.consumed()
    assert not (tmp_path / "results-dead.jsonl").exists()
    live.close()  # results left: the file stays for the next start
    assert fresh.adopt_leftovers() == 1
    fresh.close()


def test_a_line_torn_by_a_crash_is_skipped_and_the_next_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / "results-a.jsonl"
    path.write_text(encode(_result(1)) + "\n" + encode(_result(2))[:20])
    spill = Spill(tmp_path, "a")
    assert spill.adopt_leftovers() == 2  # one whole, one torn
    spill.append([_result(3)])
    taken = spill.take(10)
    assert [r.attempt_id for r in taken] == [1, 3]  # the torn line is logged and skipped
    spill.consumed()
    assert spill.pending() == 0 and not path.exists()
    spill.close()
