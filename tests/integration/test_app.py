"""The composition root: every part built and none started; link changes reach the daemon typed."""

from __future__ import annotations

from pathlib import Path

from dialerd.app import assemble
from dialerd.domain.ports import LinkState, LinkStatus
from dialerd.engine.daemon import Daemon
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.process.metrics import PrometheusMetrics
from dialerd.settings import (
    AgiSettings,
    DatabaseSettings,
    MetricsSettings,
    PbxSettings,
    Settings,
)


def _settings(tmp_path: Path, *, agi: bool) -> Settings:
    return Settings(
        instance_id="root-1",
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'd.db'}"),
        pbx=PbxSettings(kind="ami", max_channels=7),
        agi=AgiSettings(enabled=agi, port=0),
        metrics=MetricsSettings(enabled=True, port=0),
    )


def test_assemble_builds_every_part_and_starts_none(tmp_path: Path) -> None:
    parts = assemble(_settings(tmp_path, agi=True))
    try:
        assert isinstance(parts.telephony, AmiTelephony)
        assert parts.telephony.link_status() == LinkStatus(LinkState.DOWN, "AMI not started")
        assert not parts.telephony.is_up() and parts.telephony.in_flight() == 0
        assert parts.agi is not None and parts.runtimes == {}
        assert not parts.scheduler.running and parts.writer.pending() == 0
        assert parts.settings.instance_id == "root-1"
    finally:
        parts.telephony.close()
        parts.database.dispose()
    assert assemble(_settings(tmp_path, agi=False)).agi is None


def test_link_changes_reach_the_daemon_by_state_not_by_wording(tmp_path: Path) -> None:
    parts = assemble(_settings(tmp_path, agi=False))
    daemon = Daemon(parts)
    assert isinstance(parts.metrics, PrometheusMetrics)
    reconnects = parts.metrics.registry.get_sample_value
    assert daemon.status_line().endswith("; PBX not started")
    parts.activity.on_link(LinkStatus(LinkState.UP, "linked to pbx-a"))
    parts.activity.on_link(LinkStatus(LinkState.CONNECTING, "AMI connected? no: lost"))
    assert reconnects("dialerd_pbx_reconnects_total") == 0
    parts.activity.on_link(LinkStatus(LinkState.UP, "linked to pbx-b"))
    assert reconnects("dialerd_pbx_reconnects_total") == 1
    assert daemon.status_line().endswith("; linked to pbx-b")
    parts.telephony.close()
    parts.database.dispose()
