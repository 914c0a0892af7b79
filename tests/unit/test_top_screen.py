"""``dialerd top``'s screen from given figures: what ops staff read on it."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from dialerd.actions.live import CampaignLive, DaemonLive, LiveFigures
from dialerd.cli.top_cmd import render

AT = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


def _text(figures: LiveFigures, selected: int = 0, message: str = "") -> str:
    console = Console(record=True, width=160, color_system="truecolor")
    console.print(render(figures, selected, message))
    return console.export_text(styles=True)


def test_rows_labels_and_selection() -> None:
    figures = LiveFigures(
        AT,
        5,
        [
            CampaignLive("spring", "active", 12, 4, 30, True, {"busy": 3, "vacant": 1}),
            CampaignLive("autumn", "paused", 0, 0, 7, False, {}, {"calls_per_second": 2.0}),
        ],
        [DaemonLive("desk-a", "vm", True, "ami", True, 4, 0.2, AT)],
    )
    text = _text(figures, selected=1, message="autumn: active -> paused")
    assert "PBX up" in text and "desk-a" in text and "alive" in text
    assert "忙音/占线 3  空号 1" in text and "calls_per_second=2.0" in text
    assert "autumn: active -> paused" in text
    reversed_lines = [line for line in text.splitlines() if "\x1b[7m" in line]
    assert len(reversed_lines) == 1 and "autumn" in reversed_lines[0]


def test_no_live_daemon_means_the_pbx_link_is_down() -> None:
    figures = LiveFigures(AT, 5, [], [DaemonLive("desk-a", "vm", False, "ami", True, 0, None, AT)])
    text = _text(figures)
    assert "PBX DOWN" in text and "gone" in text
