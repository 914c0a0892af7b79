"""The result path's caches and shortcuts give what the plain code gives (cached == uncached)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime, time, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from dialerd.db import bulk
from dialerd.db.types import UtcDateTime
from dialerd.domain import calendar as calendar_module
from dialerd.domain import classify as classify_module
from dialerd.domain.calendar import ALL_DAYS, WORKDAYS, CallingCalendar, Window
from dialerd.domain.classify import Classification, classify
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import PbxSignals
from dialerd.domain.treatments import Treatment, TreatmentKind, _bucket, bucket_of
from dialerd.domain.views import ContactView, NumberView
from dialerd.engine import due_rows
from dialerd.engine.rowwrites import _signals_json

CALENDARS = [
    CallingCalendar("UTC", (Window(WORKDAYS, time(9), time(17)),)),
    CallingCalendar(
        "Asia/Shanghai",
        (Window(WORKDAYS, time(9), time(12)), Window(WORKDAYS, time(13, 30), time(18))),
        holiday_country="CN",
    ),
    CallingCalendar("America/New_York", (Window(ALL_DAYS, time(20), time(0)),)),
    CallingCalendar(
        "UTC", (Window(WORKDAYS, time(10), time(16)),), end=datetime(2026, 3, 12).date()
    ),
]
ZONES = st.sampled_from([None, "UTC", "Asia/Shanghai", "America/New_York", "Europe/London"])
OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])
INSTANTS = st.builds(
    lambda minutes, tz: (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes)).astimezone(
        tz
    ),
    st.integers(0, 60 * 24 * 20),
    OFFSETS,
)
DURATIONS = st.sampled_from([timedelta(0), timedelta(seconds=30), timedelta(hours=2)])


def _uncached(cal: CallingCalendar, at: datetime, tz: str | None, duration: timedelta) -> object:
    return cal._next_open(at.astimezone(UTC), tz, duration)


@given(
    st.sampled_from(CALENDARS),
    st.lists(st.tuples(INSTANTS, ZONES, DURATIONS), min_size=1, max_size=30),
)
def test_next_open_cached_equals_uncached(
    cal: CallingCalendar, asks: list[tuple[datetime, str | None, timedelta]]
) -> None:
    for at, tz, duration in asks + asks:  # each asked twice: the second answer is the kept one
        assert cal.next_open(at, tz=tz, duration=duration) == _uncached(cal, at, tz, duration)


def test_next_open_keeps_a_bounded_number_of_answers() -> None:
    cal = CallingCalendar("UTC", (Window(WORKDAYS, time(9), time(17)),))
    start = datetime(2026, 3, 2, tzinfo=UTC)
    for minute in range(calendar_module._OPENS_MAX + 10):
        at = start + timedelta(minutes=minute)
        assert cal.next_open(at) == _uncached(cal, at, None, timedelta(0))
    assert len(cal._opens) <= calendar_module._OPENS_MAX


def test_the_kept_answers_are_no_part_of_a_calendars_value() -> None:
    a = CallingCalendar("UTC", (Window(WORKDAYS, time(9), time(17)),))
    b = CallingCalendar("UTC", (Window(WORKDAYS, time(9), time(17)),))
    a.next_open(datetime(2026, 3, 2, tzinfo=UTC))
    assert a == b and hash(a) == hash(b) and repr(a) == repr(b)


def test_a_naive_instant_is_still_refused_and_never_kept() -> None:
    cal = CALENDARS[0]
    naive = datetime(2026, 3, 2, 10)
    for _ in range(2):
        try:
            cal.next_open(naive)
        except ValueError:
            pass
        else:  # pragma: no cover
            raise AssertionError("a naive datetime was accepted")


_TO_TEXT = UtcDateTime().bind_processor(sqlite.dialect())


@given(st.lists(INSTANTS, min_size=1, max_size=50), st.integers(0, 999_999))
def test_sqlite_timestamp_text_cached_equals_the_types_own(
    moments: list[datetime], micro: int
) -> None:
    assert _TO_TEXT is not None
    for at in moments + moments:
        at = at.replace(microsecond=micro)
        assert bulk._utc_text(at) == _TO_TEXT(at)
        utc = at.astimezone(UTC)
        assert bulk._utc_text(utc) == _TO_TEXT(utc)
    assert bulk._utc_text(None) is None
    assert len(bulk._TEXTS) <= bulk._TEXTS_MAX


def test_bucket_cached_equals_uncached_for_every_outcome_and_treatment() -> None:
    for _ in range(2):
        for outcome in Outcome:
            for kind in TreatmentKind:
                assert bucket_of(outcome, Treatment(kind)) == _bucket(outcome, kind)


def test_decide_builds_every_field_of_the_views() -> None:
    """policy.decide builds the views after a result field by field (dataclasses.replace
    costs several times more): a new field must be added there too."""
    assert [f.name for f in fields(ContactView)] == [
        "state",
        "rounds_started",
        "round_started_at",
        "refusals",
        "numbers",
        "round_results",
        "not_before",
        "appointment_at",
        "recent_dials",
        "appointment_position",
    ]
    assert [f.name for f in fields(NumberView)] == [
        "position",
        "state",
        "last_dialed_at",
        "recent_dials",
        "last_outcome",
    ]


def _signals_json_plain(signals: PbxSignals, rule: str, known: bool) -> dict[str, object]:
    """The stored signals as first written: asdict, less ``raw``, ``lost`` only when true."""
    data: dict[str, object] = {k: v for k, v in asdict(signals).items() if v is not None}
    data.pop("raw")
    if not signals.lost:
        del data["lost"]
    data = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}
    data["raw"] = {
        str(k): v if isinstance(v, str | int | float | bool | None) else str(v)
        for k, v in signals.raw.items()
    }
    return {**data, "rule": rule, "known": known}


SIGNALS = st.builds(
    PbxSignals,
    originate_response=st.sampled_from([None, "Success", "Failure", "Error"]),
    reason=st.sampled_from([None, 0, 1, 3, 4, 5, 8]),
    hangup_cause=st.sampled_from([None, 16, 17, 19, 34]),
    dial_status=st.sampled_from([None, "ANSWER", "BUSY"]),
    rang=st.booleans(),
    answered_at=st.one_of(st.none(), INSTANTS),
    ended_at=st.one_of(st.none(), INSTANTS),
    lost=st.booleans(),
    dial_s=st.one_of(st.none(), st.floats(0, 60)),
    raw=st.dictionaries(
        st.sampled_from(["message", "behaviour", "recording_file"]),
        st.one_of(st.none(), st.text(max_size=5), st.integers(), INSTANTS),
        max_size=3,
    ),
)


@given(SIGNALS, st.text(max_size=10), st.booleans())
def test_stored_signals_are_what_the_plain_conversion_gives(
    signals: PbxSignals, rule: str, known: bool
) -> None:
    built = _signals_json(signals, rule, known)
    plain = _signals_json_plain(signals, rule, known)
    assert built == plain and list(built) == list(plain)  # the same keys in the same order


def test_the_due_query_reads_the_fields_of_a_due_row_in_order() -> None:
    """select_due builds each DueRow from its row by position."""
    names = {
        "id": "number_id",
        "next_dial_at": "due_at",
        "next_round": "round",
        "next_try": "try_no",
        "next_is_appointment": "is_appointment",
        "timezone": "contact_tz",
    }
    columns = [names.get(c.name, c.name) for c in due_rows._DUE.selected_columns]
    assert columns == list(due_rows.DueRow._fields)


def _classify_plain(signals: PbxSignals, early_hangup_s: float) -> Classification:
    """Every rule in order, the first match wins."""
    facts = classify_module._facts(signals, early_hangup_s)
    rule = next(r for r in classify_module.RULES if r.when(facts))
    return Classification(rule.outcome, rule.known, rule.name, rule.soon)


CLASSIFIED = st.builds(
    PbxSignals,
    originate_response=st.sampled_from([None, "Success", "Failure", "Error", "error"]),
    reason=st.sampled_from([None, 0, 1, 3, 4, 5, 8]),
    hangup_cause=st.sampled_from([None, 0, 1, 16, 17, 19, 21, 34, 40, 99, 127, 200]),
    callee_cause=st.sampled_from([None, 0, 17, 34]),
    dial_status=st.sampled_from([None, "ANSWER", "BUSY", "NOANSWER", "CONGESTION", "CHANUNAVAIL"]),
    rang=st.booleans(),
    amd_status=st.sampled_from([None, "HUMAN", "MACHINE", "HANGUP", "NOTSURE"]),
    answered_at=st.one_of(st.none(), INSTANTS),
    ended_at=st.one_of(st.none(), INSTANTS),
    disposition=st.one_of(st.none(), st.sampled_from([o.value for o in Outcome]), st.text()),
    callback_at=st.one_of(st.none(), INSTANTS),
    error=st.sampled_from([None, "boom"]),
    dial_s=st.one_of(st.none(), st.floats(0, 60)),
    ring_timeout_s=st.sampled_from([None, 30.0]),
    raw=st.fixed_dictionaries({}, optional={"message": st.sampled_from(["shutting down", "x"])}),
)


@given(CLASSIFIED, st.sampled_from([0.0, 5.0, 30.0]))
def test_classify_skipping_the_disposition_rules_equals_every_rule_in_order(
    signals: PbxSignals, early_hangup_s: float
) -> None:
    assert classify(signals, early_hangup_s=early_hangup_s) == _classify_plain(
        signals, early_hangup_s
    )
