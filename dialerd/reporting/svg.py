"""Small inline SVG charts with no script and nothing to fetch: bars, horizontal bars, a line."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H = 640, 240  # chart size, px
PAD_L, PAD_B, PAD_T = 48, 32, 16
PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#e53e3e", "#319795", "#d69e2e")


def _frame(chart_id: str, title: str, body: str, height: int = H) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'width="{W}" height="{height}" viewBox="0 0 {W} {height}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _axis(top: float, height: int, suffix: str = "") -> str:
    base = height - PAD_B
    return (
        f'<line x1="{PAD_L}" y1="{base}" x2="{W - 8}" y2="{base}" stroke="#444"/>'
        f'<text x="{PAD_L - 6}" y="{base}" text-anchor="end" font-size="11">0</text>'
        f'<text x="{PAD_L - 6}" y="{PAD_T + 10}" text-anchor="end" font-size="11">'
        f"{escape(_num(top))}{escape(suffix)}</text>"
    )


def _num(value: float) -> str:
    """Short enough for an axis: 7, 0.25, 263k, 1.0M."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.2f}"


def bars(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Sequence[float]],
         names: Sequence[str] = ()) -> str:  # fmt: skip
    """Grouped vertical bars: one group per label, one bar per series."""
    top = max((v for s in series for v in s), default=0) or 1
    plot_h = H - PAD_B - PAD_T
    group_w = (W - PAD_L - 8) / max(1, len(labels))
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    out = [_axis(top, H)]
    for i, label in enumerate(labels):
        x0 = PAD_L + i * group_w + group_w * 0.1
        for j, s in enumerate(series):
            h = plot_h * s[i] / top
            out.append(
                f'<rect class="bar" x="{x0 + j * bar_w:.1f}" y="{H - PAD_B - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(label)}: {escape(_num(s[i]))}</title></rect>"
            )
        out.append(
            f'<text x="{x0 + group_w * 0.4:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>'
        )
    out.append(_legend(names))
    return _frame(chart_id, title, "".join(out))


def _legend(names: Sequence[str]) -> str:
    return "".join(
        f'<rect x="{PAD_L + 130 * j}" y="{H - 12}" width="10" height="10" '
        f'fill="{PALETTE[j % len(PALETTE)]}"/><text x="{PAD_L + 14 + 130 * j}" y="{H - 3}" '
        f'font-size="11">{escape(n)}</text>'
        for j, n in enumerate(names)
    )


def hbars(chart_id: str, title: str, items: Sequence[tuple[str, float, str]]) -> str:
    """Horizontal bars: (label, value, value text) per row, longest first as given."""
    row_h, label_w = 22, 230
    height = max(40, row_h * len(items) + 16)
    top = max((v for _, v, _ in items), default=0) or 1
    out = []
    for i, (label, value, shown) in enumerate(items):
        y = 8 + i * row_h
        w = (W - label_w - 140) * value / top
        out.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" font-size="11">{escape(shown)}</text>'
        )
    return _frame(chart_id, title, "".join(out), height)


def line(chart_id: str, title: str, labels: Sequence[str], values: Sequence[float],
         as_percent: bool = False) -> str:  # fmt: skip
    """One line over labelled points (e.g. days); values in [0, 1] shown as % when asked."""
    top = (1.0 if as_percent else max(values, default=0)) or 1
    plot_h = H - PAD_B - PAD_T
    step = (W - PAD_L - 24) / max(1, len(values) - 1)
    pts = [(PAD_L + 8 + i * step, H - PAD_B - plot_h * v / top) for i, v in enumerate(values)]
    out = [_axis(100, H, " %") if as_percent else _axis(top, H)]
    if pts:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        out.append(f'<polyline class="line" points="{path}" fill="none" stroke="{PALETTE[0]}" '
                   'stroke-width="2"/>')  # fmt: skip
    every = max(1, len(labels) // 8)
    for i, ((x, y), label, v) in enumerate(zip(pts, labels, values, strict=True)):
        shown = f"{v * 100:.1f} %" if as_percent else _num(v)
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {escape(shown)}</title></circle>"
        )
        if i % every == 0:
            out.append(
                f'<text x="{x:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" font-size="10">'
                f"{escape(label[5:])}</text>"
            )
    return _frame(chart_id, title, "".join(out))
