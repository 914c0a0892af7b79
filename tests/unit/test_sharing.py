"""domain.sharing: capacity by what each campaign can start now; priority, then weight."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from dialerd.domain.sharing import Demand, Sharer, share


def test_priority_first() -> None:
    got = share(10, [Demand(1, 0, 1, 10), Demand(2, 5, 1, 6)])
    assert got == {1: 4, 2: 6}


def test_an_idle_high_priority_campaign_takes_nothing() -> None:
    # the audit's case: an empty priority-10 campaign beside a priority-0 one
    assert share(30, [Demand(1, 10, 1, 0), Demand(2, 0, 1, 500)]) == {1: 0, 2: 30}


def test_weights_split_and_leftover_moves_on() -> None:
    assert share(8, [Demand(1, 0, 3, 100), Demand(2, 0, 1, 100)]) == {1: 6, 2: 2}
    assert share(10, [Demand(1, 0, 3, 2), Demand(2, 0, 1, 100)]) == {1: 2, 2: 8}


def test_weights_hold_when_each_tick_has_one_dial() -> None:
    sharer = Sharer()
    got: Counter[int] = Counter()
    for _ in range(400):
        got.update(
            k for k, n in sharer.share(1, [Demand(1, 0, 3, 9), Demand(2, 0, 1, 9)]).items() if n
        )
    assert got == {1: 300, 2: 100}


def test_a_campaign_that_was_idle_does_not_burst_when_it_comes_back() -> None:
    sharer = Sharer()
    for _ in range(50):  # campaign 2 has nothing due: campaign 1 takes everything
        assert sharer.share(1, [Demand(1, 0, 1, 9), Demand(2, 0, 1, 0)]) == {1: 1, 2: 0}
    got: Counter[int] = Counter()
    for _ in range(10):
        got.update(
            k for k, n in sharer.share(1, [Demand(1, 0, 1, 9), Demand(2, 0, 1, 9)]).items() if n
        )
    assert got == {1: 5, 2: 5}


def test_nothing_to_share() -> None:
    assert share(0, [Demand(1, 0, 1, 5)]) == {1: 0}
    assert share(5, [Demand(1, 0, 1, 0)]) == {1: 0}


demands = st.lists(
    st.builds(
        Demand, st.integers(1, 10**6), st.integers(-2, 2), st.integers(0, 5), st.integers(0, 50)
    ),
    max_size=6,
    unique_by=lambda d: d.campaign_id,
)


@given(st.lists(st.tuples(st.integers(0, 200), demands), min_size=1, max_size=5))
def test_never_over_capacity_or_limit_and_no_waste(ticks: list[tuple[int, list[Demand]]]) -> None:
    sharer = Sharer()  # carried credit never costs capacity or breaks a limit
    for capacity, ds in ticks:
        got = sharer.share(capacity, ds)
        assert all(0 <= got[d.campaign_id] <= d.limit for d in ds)
        assert sum(got.values()) == min(capacity, sum(d.limit for d in ds))


@given(st.integers(0, 200), demands)
def test_a_lower_priority_gets_a_dial_only_when_every_higher_one_is_served(
    capacity: int, ds: list[Demand]
) -> None:
    got = share(capacity, ds)
    for low in ds:
        if got[low.campaign_id] > 0:
            for high in ds:
                if high.priority > low.priority:
                    assert got[high.campaign_id] == high.limit


@given(
    st.lists(st.integers(1, 6), min_size=1, max_size=5),
    st.integers(1, 7),
    st.integers(20, 60),
)
def test_weights_give_proportional_shares_over_many_ticks(
    weights: list[int], per_tick: int, ticks: int
) -> None:
    sharer = Sharer()
    ds = [Demand(i + 1, 0, w, 1000) for i, w in enumerate(weights)]
    got: Counter[int] = Counter()
    for _ in range(ticks):
        got.update(sharer.share(per_tick, ds))
    total, weight = per_tick * ticks, sum(weights)
    for d in ds:  # each within one dial of its exact share
        assert abs(got[d.campaign_id] - total * d.weight / weight) <= 1
