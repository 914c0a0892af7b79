"""`dialerd status` keeps each holiday-notice warning per stored file and years looked at."""

from __future__ import annotations

import inspect
import json
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialerd.actions.overview import holiday_notice
from dialerd.cli.notices import HORIZON_DAYS, NoticeCache, cache_file, period

DAY = datetime(2026, 6, 7, 4, 0, tzinfo=UTC)
NEXT_DAY = datetime(2026, 6, 8, 4, 0, tzinfo=UTC)
NEXT_YEAR = datetime(2027, 6, 8, 4, 0, tzinfo=UTC)
DEMO_FILE = Path(__file__).resolve().parents[2] / "campaigns" / "demo" / "demo.toml"
DEMO: dict[str, object] = {
    "name": "demo",
    "holidays": {"country": "CN"},
    "timezone": "Asia/Shanghai",
}


with DEMO_FILE.open("rb") as _file:
    DEMO_CONFIG: dict[str, object] = tomllib.load(_file)


class Counted:
    """``holiday_notice``, counting the files it works out."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, config: dict[str, object], *, now: datetime) -> str:
        self.calls += 1
        return f"notice for {config.get('name')} on {now.date()}"


def _cache(path: Path, now: datetime, work_out: Counted) -> NoticeCache:
    return NoticeCache(path, now=now, work_out=work_out)


def test_a_warning_is_worked_out_once_per_file_and_years_looked_at(tmp_path: Path) -> None:
    path, counted = tmp_path / "notices.json", Counted()
    first = _cache(path, DAY, counted)
    assert first.notice(DEMO) == "notice for demo on 2026-06-07"
    first.save()
    again = _cache(path, DAY, counted)
    assert again.notice(dict(DEMO)) == "notice for demo on 2026-06-07"
    assert counted.calls == 1
    assert again.notice({**DEMO, "name": "other"}) == "notice for other on 2026-06-07"
    assert _cache(path, NEXT_DAY, counted).notice(DEMO) == "notice for demo on 2026-06-07"
    assert counted.calls == 2  # the next day looks at the same years
    assert _cache(path, NEXT_YEAR, counted).notice(DEMO) == "notice for demo on 2027-06-08"
    assert counted.calls == 3


def test_the_horizon_is_the_calendars() -> None:
    from dialerd.domain.calendar import unannounced_years

    default = inspect.signature(unannounced_years).parameters["horizon_days"].default
    assert default == HORIZON_DAYS


@settings(max_examples=40)
@given(
    day=st.dates(min_value=date(2019, 1, 1), max_value=date(2033, 12, 31)),
    later=st.integers(min_value=1, max_value=400),
    start=st.none() | st.dates(min_value=date(2019, 1, 1), max_value=date(2034, 12, 31)),
    end=st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2036, 12, 31)),
)
def test_a_warning_depends_on_the_day_only_through_its_period(
    day: date, later: int, start: date | None, end: date | None
) -> None:
    if start is not None and end is not None and end < start:
        start, end = end, start
    config: dict[str, object] = {**DEMO_CONFIG}
    config.update({k: v.isoformat() for k, v in (("start", start), ("end", end)) if v})
    one = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    other = one + timedelta(days=later)
    if period(one) == period(other):
        assert holiday_notice(config, now=one) == holiday_notice(config, now=other)


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
    assert cache.notice(DEMO) == "notice for demo on 2026-06-07"
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
