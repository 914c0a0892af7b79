"""The HTML report renders in headless Chromium with its four charts, offline.

Chromium is Debian's ``chromium`` package (.ci/setup installs it); without it the
test is skipped, except in CI where it must run.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dialerd.reporting import render_html
from dialerd.reporting.queries import load_report
from tests.integration import reportdata

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WINDOW = (1280, 2000)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/setup installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, timeout=60, check=True, cwd=tmp_path)


def _png_size_and_bytes(png: bytes) -> tuple[tuple[int, int], bytes]:
    """The image size (IHDR) and its inflated, still filtered, scanlines (IDAT)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, size, idat = 8, (0, 0), b""
    while pos < len(png):
        (length,), kind = struct.unpack(">I", png[pos : pos + 4]), png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    return size, zlib.decompress(idat)


@pytest.fixture
def page(engine: Engine, tmp_path: Path) -> Path:
    if engine.dialect.name != "sqlite":
        pytest.skip("rendering does not depend on the backend; the views are tested on both")
    reportdata.load(engine)
    target = tmp_path / "report.html"
    target.write_text(render_html.render(load_report(engine, "c1")), encoding="utf-8")
    return target


def test_dom_has_the_charts(page: Path, tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout.decode()
    for chart in ("chart-hours", "chart-outcomes", "chart-funnel", "chart-reachable"):
        assert f'id="{chart}"' in dom
    assert dom.count('class="bar"') >= 24 + 8 + 6  # hours, outcomes, 2 rounds x 3 series
    assert "<polyline" in dom and "空号" in dom


def test_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", page.as_uri())
    size, raw = _png_size_and_bytes(shot.read_bytes())
    assert size == WINDOW
    # A blank page inflates to bytes that are all 0 or 255 whatever the row filters
    # (constant rows filter to zeros); text and coloured bars give every other value.
    other = sum(1 for b in raw if b not in (0, 255))
    assert other / len(raw) > 0.005
