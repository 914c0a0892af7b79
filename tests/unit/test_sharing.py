from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialerd.domain.sharing import Demand, share


def test_priority_first() -> None:
    got = share(10, [Demand(1, 0, 1, 10), Demand(2, 5, 1, 6)])
    assert got == {1: 4, 2: 6}


def test_weights_split_and_leftover_moves_on() -> None:
    # 7.5 and 2.5: the tied remainder goes to the lower id
    assert share(10, [Demand(1, 0, 3, 100), Demand(2, 0, 1, 100)]) == {1: 8, 2: 2}
    assert share(10, [Demand(1, 0, 3, 2), Demand(2, 0, 1, 100)]) == {1: 2, 2: 8}


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


@given(st.integers(0, 200), demands)
def test_never_over_capacity_or_limit_and_no_waste(capacity: int, ds: list[Demand]) -> None:
    got = share(capacity, ds)
    assert sum(got.values()) <= capacity
    assert all(0 <= got[d.campaign_id] <= d.limit for d in ds)
    assert sum(got.values()) == min(capacity, sum(d.limit for d in ds))
