"""The Originates' even pace on the wire (``dialerd.pbx.ami.pacer``): never faster than
its rate, never holding an action back longer than the rate needs."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialerd.pbx.ami.pacer import SLICE_S, Pacer

rates = st.floats(min_value=0.5, max_value=100_000, allow_nan=False)
#: (seconds since the previous call, actions queued meanwhile)
steps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=2, allow_nan=False), st.integers(0, 3000)),
    max_size=60,
)


@given(rates, steps)
def test_never_more_than_one_slice_plus_the_rate(
    rate: float, calls: list[tuple[float, int]]
) -> None:
    pacer, now, queued, sent = Pacer(rate), 0.0, 0, 0
    for gap, more in calls:
        now += gap
        queued += more
        n, wait = pacer.take(now, queued)
        assert 0 <= n <= queued
        queued -= n
        sent += n
        # everything released by `now`: one slice at the start, then the rate
        assert sent <= pacer.burst + rate * now + 1e-6 * max(1.0, rate * now)
        assert (wait is None) == (queued == 0)
        if wait is not None:
            assert wait > 0


@given(rates, st.integers(1, 20_000))
def test_a_queue_leaves_as_fast_as_the_rate_allows(rate: float, queued: int) -> None:
    """Called back when it says, the pacer sends the lot in (queued - one slice) / rate."""
    pacer, now, sent = Pacer(rate), 0.0, 0
    n, wait = pacer.take(now, queued)
    sent += n
    calls = 1
    while wait is not None:
        now += wait
        n, wait = pacer.take(now, queued - sent)
        assert n >= min(1, queued - sent)  # at the time it named, something leaves
        sent += n
        calls += 1
        assert calls <= queued + 1
    assert sent == queued
    assert now <= max(0.0, queued - pacer.burst) / rate * (1 + 1e-9) + 1e-9


@pytest.mark.parametrize(
    ("rate", "burst"), [(50, 1), (249, 1), (250, 1), (2_500, 10), (100_000, 400)]
)
def test_a_slice_is_four_milliseconds_of_the_rate_or_one_action(rate: float, burst: int) -> None:
    assert SLICE_S == 0.004
    assert Pacer(rate).burst == burst
    n, _ = Pacer(rate).take(0.0, 10_000)
    assert n == burst


def test_an_idle_pacer_holds_no_more_than_one_slice() -> None:
    pacer = Pacer(2_500)
    assert pacer.take(0.0, 10)[0] == 10
    assert pacer.take(3600.0, 1_000)[0] == 10  # an hour idle: still one slice


@pytest.mark.parametrize("rate", [0, -1, math.inf, math.nan])
def test_a_rate_must_be_a_positive_number(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(rate)
