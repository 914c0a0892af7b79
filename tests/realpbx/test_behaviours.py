"""The reference dialplan's ten callee behaviours, dialled by `dialerd run` on a real Asterisk."""

from __future__ import annotations

import pytest

from tests.realpbx.pbx import DialerSite, wait_for
from tests.recordings import LAST_DIGIT_OUTCOMES

pytestmark = pytest.mark.timeout(240)

EXPECTED = LAST_DIGIT_OUTCOMES


def test_the_ten_behaviours_are_recorded_as_asterisk_played_them(site: DialerSite) -> None:
    site.write_campaign("ten", [f"1380000000{d}" for d in EXPECTED], ring_timeout="8s")
    daemon = site.start()
    wait_for(lambda: len(site.done()) >= len(EXPECTED), "ten recorded results", 150)
    assert site.stop(daemon) == 0
    got = {str(a["number"])[-1]: a["outcome"] for a in site.done()}
    assert got == EXPECTED
    assert len(site.attempts()) == len(EXPECTED)  # one dial each, none doubled
