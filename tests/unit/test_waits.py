"""Why a contact waits: the bounds ``explain`` names are the ones behind ``plan_next``'s time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from dialerd.domain.calendar import ALL_DAYS, CallingCalendar, Window
from dialerd.domain.outcomes import Outcome
from dialerd.domain.policy import DialPolicy, RollingCap, plan_next
from dialerd.domain.states import ContactState, NumberState
from dialerd.domain.treatments import Treatment, TreatmentKind
from dialerd.domain.views import ContactView, NumberView
from dialerd.domain.waits import duration_text, explain

TZ = "Asia/Shanghai"
DAYTIME = CallingCalendar(TZ, (Window(ALL_DAYS, time(9), time(21)),))
H = timedelta(hours=1)
# 2026-12-06 18:12 and 19:00 in Shanghai
DIALED = datetime(2026, 12, 6, 10, 12, tzinfo=UTC)
NOW = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)


def view(
    *,
    results: dict[int, Outcome] | None = None,
    dialed: dict[int, datetime] | None = None,
    numbers: int = 1,
    outcomes: dict[int, Outcome] | None = None,
    **kw: object,
) -> ContactView:
    dialed = dialed if dialed is not None else {1: DIALED}
    outcomes = outcomes or {}
    return ContactView(
        state=ContactState.active,
        rounds_started=int(kw.pop("rounds", 1)),  # type: ignore[call-overload]
        round_started_at=kw.pop("started", DIALED),  # type: ignore[arg-type]
        refusals=0,
        numbers=tuple(
            NumberView(
                p,
                NumberState.dialable,
                dialed.get(p),
                (dialed[p],) if p in dialed else (),
                outcomes.get(p),
            )
            for p in range(1, numbers + 1)
        ),
        round_results=results if results is not None else {1: Outcome.busy},
        **kw,  # type: ignore[arg-type]
    )


def test_spacing_then_the_window_as_ops_staff_read_it() -> None:
    wait = explain(view(), now=NOW, policy=DialPolicy(), calendar=DAYTIME, tz=TZ)
    assert wait.window and [b.kind for b in wait.binding] == ["min_spacing"]
    assert wait.describe(TZ, now=NOW) == (
        "next dial 2026-12-07 09:00, number 1, new round (window opens; min_spacing 6h since 18:12)"
    )


def test_a_treatment_delay_longer_than_the_spacing_is_the_reason() -> None:
    policy = DialPolicy(
        overrides={Outcome.busy: Treatment(TreatmentKind.retry, after=timedelta(days=1))}
    )
    c = view(outcomes={1: Outcome.busy})
    wait = explain(c, now=NOW, policy=policy, calendar=DAYTIME, tz=TZ)
    assert not wait.window
    assert wait.describe(TZ, now=NOW) == (
        "next dial 2026-12-07 18:12, number 1, new round (after busy 1d since 18:12)"
    )


def test_the_next_number_of_an_open_round_is_due_now() -> None:
    c = view(numbers=2, started=NOW - H)
    wait = explain(c, now=NOW, policy=DialPolicy(), calendar=DAYTIME, tz=TZ)
    assert wait.binding == () and wait.describe(TZ, now=NOW) == (
        "due now, number 2 (nothing holds it back)"
    )


def test_caps_and_not_before() -> None:
    cap = RollingCap(2, timedelta(days=1))
    c = view(
        numbers=2,
        dialed={1: DIALED, 2: DIALED + H},
        results={},
        started=None,
        rounds=1,
        recent_dials=(DIALED - 10 * H, DIALED),
        not_before=NOW + 2 * H,
    )
    policy = DialPolicy(contact_cap=cap, min_spacing=timedelta(0))
    wait = explain(c, now=NOW, policy=policy, calendar=DAYTIME, tz=TZ)
    assert [b.kind for b in wait.binding] == ["contact_cap"]
    assert wait.describe(TZ, now=NOW) == (
        "next dial 2026-12-07 09:00, number 1 (window opens; contact_cap 2 per 1d since 08:12)"
    )


def test_closed_contact_says_why() -> None:
    c = view(rounds=4)
    wait = explain(c, now=NOW + 7 * H, policy=DialPolicy(), calendar=DAYTIME, tz=TZ)
    assert wait.describe(TZ, now=NOW) == "no next dial: closed: max_rounds"


def test_appointment() -> None:
    at = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
    c = view(appointment_at=at, appointment_position=1)
    wait = explain(c, now=NOW, policy=DialPolicy(), calendar=DAYTIME, tz=TZ)
    assert wait.describe(TZ, now=NOW) == (
        "next dial 2026-12-07 10:30, number 1, appointment (appointment at 12-07 10:30)"
    )


CASES: list[dict[str, object]] = [
    {},
    {"numbers": 3, "results": {1: Outcome.no_answer}},
    {"numbers": 2, "started": NOW + 3 * H, "results": {}, "dialed": {}},
    {"outcomes": {1: Outcome.busy}},
    {"not_before": NOW + 30 * H},
    {"numbers": 2, "dialed": {1: DIALED, 2: DIALED}, "results": {1: Outcome.busy, 2: Outcome.busy}},
    {"appointment_at": NOW + 20 * H, "appointment_position": 1},
]
POLICIES = [
    DialPolicy(),
    DialPolicy(spacing="open_hours", min_spacing=8 * H),
    DialPolicy(number_cap=RollingCap(1, timedelta(days=2))),
    DialPolicy(overrides={Outcome.busy: Treatment(TreatmentKind.retry, after=30 * H)}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("policy", POLICIES, ids=range(len(POLICIES)))
def test_the_named_bounds_give_plan_next_time(case: int, policy: DialPolicy) -> None:
    """The latest named bound, fitted to the window, is exactly the planner's due time."""
    c = view(**CASES[case])  # type: ignore[arg-type]
    for now in (NOW, NOW + 3 * H, NOW + 16 * H):
        step = plan_next(c, now=now, policy=policy, calendar=DAYTIME, tz=TZ)
        wait = explain(c, now=now, policy=policy, calendar=DAYTIME, tz=TZ)
        assert wait.step == step
        if step.at is None:
            continue
        latest = max([now, *(b.at for b in wait.bounds)])
        assert DAYTIME.next_open(latest, tz=TZ, duration=policy.ring_timeout) == step.at
        assert wait.window == (step.at > latest)


def test_duration_text() -> None:
    assert [duration_text(d) for d in (6 * H, timedelta(days=1, hours=12), timedelta(0))] == [
        "6h",
        "1d12h",
        "0s",
    ]
