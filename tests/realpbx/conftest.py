"""Fixtures of the real-Asterisk tier: skipped unless DIALERD_TEST_ASTERISK names run-asterisk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realpbx.pbx import ENV, DialerSite, RealPbx, run_asterisk


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.realpbx)
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def real_pbx(tmp_path: Path) -> Iterator[RealPbx]:
    script = run_asterisk()
    if script is None:
        pytest.skip(f"{ENV} does not name a run-asterisk script")
    pbx = RealPbx(script=script, root=tmp_path / "pbx")
    pbx.start()
    try:
        yield pbx
    finally:
        pbx.stop()


@pytest.fixture
def site(tmp_path: Path, real_pbx: RealPbx) -> Iterator[DialerSite]:
    made = DialerSite(root=tmp_path / "site", pbx=real_pbx)
    made.root.mkdir()
    try:
        yield made
    finally:
        made.close()
