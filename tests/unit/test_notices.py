"""`dialerd status` keeps each holiday-notice warning per stored file and day, and no longer."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialerd.actions.overview import holiday_notice
from dialerd.cli.notices import NoticeCache, cache_file

DAY = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
NEXT_DAY = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)
DEMO_FILE = Path(__file__).resolve().parents[2] / "campaigns" / "demo" / "demo.toml"
DEMO: dict[str, object] = {
    "name": "demo",
    "holidays": {"country": "CN"},
    "timezone": "Asia/Shanghai",
}


class Counted:
    """``holiday_notice``, counting the files it works out."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, config: dict[str, object], *, now: datetime) -> str:
        self.calls += 1
        return f"notice for {config.get('name')} on {now.date()}"


def _cache(path: Path, now: datetime, work_out: Counted) -> NoticeCache:
    return NoticeCache(path, now=now, work_out=work_out)


def test_a_warning_is_worked_out_once_per_file_and_day(tmp_path: Path) -> None:
    path, counted = tmp_path / "notices.json", Counted()
    first = _cache(path, DAY, counted)
    assert first.notice(DEMO) == "notice for demo on 2026-12-07"
    first.save()
    again = _cache(path, DAY, counted)
    assert again.notice(dict(DEMO)) == "notice for demo on 2026-12-07"
    assert counted.calls == 1
    assert again.notice({**DEMO, "name": "other"}) == "notice for other on 2026-12-07"
    assert _cache(path, NEXT_DAY, counted).notice(DEMO) == "notice for demo on 2026-12-08"
    assert counted.calls == 3


def test_other_code_or_a_broken_file_means_working_it_out_again(tmp_path: Path) -> None:
    path, counted = tmp_path / "notices.json", Counted()
    cache = _cache(path, DAY, counted)
    cache.notice(DEMO)
    cache.save()
    doc = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**doc, "stamp": "older code"}), encoding="utf-8")
    _cache(path, DAY, counted).notice(DEMO)
    path.write_text("{not json", encoding="utf-8")
    _cache(path, DAY, counted).notice(DEMO)
    assert counted.calls == 3


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    cache = _cache(tmp_path / "file" / "notices.json", DAY, Counted())
    assert cache.notice(DEMO) == "notice for demo on 2026-12-07"
    cache.save()


def test_the_cached_warning_is_the_one_worked_out(tmp_path: Path) -> None:
    with DEMO_FILE.open("rb") as file:
        config = {**tomllib.load(file), "end": "2035-12-31"}  # years no holidays release knows
    expected = holiday_notice(config, now=DAY)
    assert "no official CN holidays" in expected
    path = tmp_path / "notices.json"
    cache = NoticeCache(path, now=DAY, work_out=holiday_notice)
    assert cache.notice(config) == expected
    cache.save()
    assert NoticeCache(path, now=DAY, work_out=Counted()).notice(config) == expected


def test_the_file_is_in_the_users_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_file() == tmp_path / "dialerd" / "holiday-notices.json"
