"""The HTML report renders in headless Chromium with its four charts, offline, in Chinese.

Chromium is Debian's ``chromium`` package and the CJK font ``fonts-noto-cjk`` (.ci/setup
installs both); without Chromium the tests are skipped, except in CI where they must run.
Without a CJK font they fail: the glyph check below tells real glyphs from tofu boxes.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dialerd.domain.outcomes import OUTCOMES
from dialerd.reporting import render_html
from dialerd.reporting.figures import FIGURES
from dialerd.reporting.queries import load_report
from tests.integration import reportdata

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WINDOW = (1280, 2000)


def _chromium(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
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
    return subprocess.run(cmd, capture_output=True, timeout=120, check=True, cwd=tmp_path, env=env)


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


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _png_gray(png: bytes) -> list[bytes]:
    """The image as rows of grey levels (0 black .. 255 white): 8-bit RGB(A) PNGs only."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (width, _height), raw = _png_size_and_bytes(png)
    depth, colour = png[24], png[25]  # IHDR: bit depth, colour type
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 4 if colour == 6 else 3
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for start in range(0, len(raw), stride + 1):
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]) & 0xFF
        rows.append(bytes(sum(line[x : x + 3]) // 3 for x in range(0, stride, bpp)))
        prev = line
    return rows


# The glyph check. Tofu (the box drawn for a character no font has) is one shape for
# every character, so distinct characters that render alike are boxes; a code point no
# font covers shows what a box looks like here. Each character gets its own cell.
CELL, FONT_PX, GLYPHS = 64, 48, 10
MISSING = "\U0010fffd"  # private use, plane 16: no font has it


def _sample_chars() -> str:
    """Distinct characters of the report's own Chinese labels."""
    seen: list[str] = []
    for text in [f.label_zh for f in FIGURES] + [o.label_zh for o in OUTCOMES.values()]:
        seen += [ch for ch in text if "\u4e00" <= ch <= "\u9fff" and ch not in seen]
    return "".join(seen[:GLYPHS])


def _glyph_page(chars: str) -> str:
    cells = "".join(
        f'<div style="position:absolute;left:{i * CELL}px;top:0;width:{CELL}px;'
        f'height:{CELL}px;line-height:{CELL}px;text-align:center">{ch}</div>'
        for i, ch in enumerate(chars)
    )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
        f"body{{margin:0;background:#fff;color:#000;font-family:{render_html.FONT_STACK};"
        f"font-size:{FONT_PX}px}}</style></head><body>{cells}</body></html>"
    )


def _render_cells(tmp_path: Path, chars: str, env: dict[str, str] | None) -> list[bytes]:
    """Each character's cell as a black-and-white bitmap."""
    page = tmp_path / "glyphs.html"
    page.write_text(_glyph_page(chars), encoding="utf-8")
    shot = tmp_path / "glyphs.png"
    size = f"--window-size={max(CELL * len(chars), 500)},{CELL * 2}"
    _chromium(tmp_path, size, f"--screenshot={shot}", page.as_uri(), env=env)
    rows = _png_gray(shot.read_bytes())[:CELL]
    return [
        bytes(1 if v < 128 else 0 for row in rows for v in row[i * CELL : (i + 1) * CELL])
        for i in range(len(chars))
    ]


def _tofu_problems(chars: str, cells: list[bytes], box: bytes) -> list[str]:
    """Why ``cells`` are not real glyphs of ``chars``; empty when they are."""
    problems = [f"{ch}: nothing drawn" for ch, cell in zip(chars, cells, strict=True)
                if sum(cell) < 20]  # fmt: skip
    problems += [f"{ch}: drawn as the missing-glyph box" for ch, cell in
                 zip(chars, cells, strict=True) if cell == box]  # fmt: skip
    if len(set(cells)) < len(chars):
        problems.append(f"{len(chars)} distinct characters, {len(set(cells))} distinct shapes")
    return problems


def _fontconfig_without_cjk(tmp_path: Path) -> dict[str, str]:
    """An environment whose fontconfig hides every font that covers Chinese."""
    listed = subprocess.run(
        ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=True
    ).stdout
    files = sorted({line.split(":")[0].strip() for line in listed.splitlines() if line.strip()})
    rejects = "".join(f"<glob>{escape(f)}</glob>" for f in files)
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">'
        '<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<selectfont><rejectfont>{rejects}</rejectfont></selectfont>"
        f"<cachedir>{escape(str(tmp_path / 'fc-cache'))}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


def test_chinese_labels_render_as_glyphs(tmp_path: Path) -> None:
    chars = _sample_chars()
    *cells, box = _render_cells(tmp_path, chars + MISSING, env=None)
    problems = _tofu_problems(chars, cells, box)
    assert not problems, (
        "Chinese labels do not render as glyphs: no CJK font (apt-get install fonts-noto-cjk; "
        f".ci/setup does): {problems}"
    )


def test_glyph_check_fails_when_the_cjk_font_is_missing(tmp_path: Path) -> None:
    """The check above is not blind: with every CJK font hidden it finds the boxes."""
    if shutil.which("fc-list") is None:
        pytest.skip("fc-list is missing (fontconfig)")
    chars = _sample_chars()
    *cells, box = _render_cells(tmp_path, chars + MISSING, env=_fontconfig_without_cjk(tmp_path))
    assert _tofu_problems(chars, cells, box)


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
    assert '<html lang="zh-CN">' in dom


def test_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", page.as_uri())
    size, raw = _png_size_and_bytes(shot.read_bytes())
    assert size == WINDOW
    # A blank page inflates to bytes that are all 0 or 255 whatever the row filters
    # (constant rows filter to zeros); text and coloured bars give every other value.
    other = sum(1 for b in raw if b not in (0, 255))
    assert other / len(raw) > 0.005
