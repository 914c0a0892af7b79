"""Helpers for engine tests: a campaign file and contact list on disk, loaded into a database."""

from __future__ import annotations

import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from dialerd.app import assemble
from dialerd.campaignfile.loader import load_file
from dialerd.domain.clock import VirtualClock
from dialerd.engine.campaigns import install
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.writer import ResultWriter
from dialerd.pbx.agitoken import AgiTokens
from dialerd.pbx.scenario import Scenario
from dialerd.pbx.virtual import VirtualPbx
from dialerd.process.supervisor import Supervisor
from dialerd.settings import (
    AgiSettings,
    CarrierSettings,
    PbxSettings,
    ResultsSettings,
    Settings,
)

# Monday 2026-11-23 10:00 in Shanghai
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def write_campaign(
    folder: Path,
    rows: list[str],
    *,
    name: str = "test-campaign",
    dialing: str = "",
    max_concurrent: int = 20,
    calls_per_second: int = 50,
    extra: str = "",
    windows: str = '[[windows]]\ndays = "daily"\nstart = "00:00"\nend = "24:00"\n',
    columns: str = "external_id,name,phone1,phone2,phone3,phone4",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.csv").write_text(
        columns + "\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    body = (
        textwrap.dedent(f"""\
        name = "{name}"
        contacts = ["{name}.csv"]
        region = "CN"
        timezone = "Asia/Shanghai"
        [dialing]
        max_rounds = 4
        min_spacing = "6h"
        ring_timeout = "30s"
        max_concurrent = {max_concurrent}
        calls_per_second = {calls_per_second}
        channel = "PJSIP/{{number}}@carrier"
        caller_id = "4006589888"
        answered = {{ context = "dialerd-answered", exten = "s" }}
        """)
        + dialing
        + "\n"
        + windows
        + extra
    )
    path = folder / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    return path


@dataclass
class Rig:
    """Campaigns loaded into a database, a virtual PBX and the real engine parts.

    ``runtime`` is the first campaign; ``runtimes`` has every one, by name.
    """

    engine: Engine
    clock: VirtualClock
    runtime: CampaignRuntime
    pbx: VirtualPbx
    writer: ResultWriter
    dispatcher: Dispatcher
    supervisor: Supervisor
    runtimes: dict[str, CampaignRuntime] = field(default_factory=dict)

    def step(self) -> int:
        """Deliver due results, write them, run one tick; returns dials sent."""
        self.pbx.deliver_until(self.clock.now())
        while self.writer.drain():
            pass
        return self.dispatcher.tick().sent

    def settle(self) -> None:
        """Let every call in flight end and its result be written."""
        nxt = self.pbx.next_event_at()
        while nxt is not None:
            self.clock.advance_to(nxt)
            self.pbx.deliver_until(nxt)
            nxt = self.pbx.next_event_at()
        while self.writer.drain():
            pass


def rig_settings(
    instance_id: str,
    *,
    max_channels: int = 100,
    calls_per_second: float = 1000,
    results: ResultsSettings | None = None,
) -> Settings:
    """Settings for an engine test: its instance, its PBX limits, no FastAGI, no metrics.

    ``results`` defaults to a spill folder under the temporary folder, never ./var.
    """
    return Settings(
        instance_id=instance_id,
        pbx=PbxSettings(kind="ami", max_channels=max_channels, calls_per_second=calls_per_second),
        agi=AgiSettings(enabled=False),
        results=results or ResultsSettings(spill_dir=Path(tempfile.mkdtemp(prefix="spill-"))),
    )


def make_rig(
    engine: Engine,
    campaign_file: Path,
    *,
    start: datetime = MONDAY_10,
    scenario: Scenario | None = None,
    instance_id: str = "test-1",
    max_channels: int = 100,
    calls_per_second: float = 1000,
    agi_tokens: AgiTokens | None = None,
    results: ResultsSettings | None = None,
    more: Sequence[Path] = (),
    pbx_class: type[VirtualPbx] = VirtualPbx,
    ported_file: Path | None = None,
) -> Rig:
    """The rig for ``campaign_file`` (and the campaigns of ``more``, sharing the PBX);
    ``ported_file`` is the setting ``carriers.ported_file``."""
    clock = VirtualClock(start)
    pbx = pbx_class(clock, scenario or Scenario())
    results = results or ResultsSettings(spill_dir=campaign_file.parent / "state")
    settings = rig_settings(
        instance_id, max_channels=max_channels, calls_per_second=calls_per_second, results=results
    )
    if ported_file is not None:
        settings = settings.model_copy(
            update={"carriers": CarrierSettings(ported_file=ported_file)}
        )
    parts = assemble(
        settings,
        clock=clock,
        telephony=pbx,
        database=engine,
        monotonic=lambda: clock.now().timestamp(),
        agi_tokens=agi_tokens,
    )
    runtimes = [
        install(engine, load_file(path), now=clock.now(), actor="test")
        for path in (campaign_file, *more)
    ]
    for runtime in runtimes:
        parts.runtimes[runtime.id] = runtime
    pbx.start(parts.writer.submit)
    parts.dispatcher.set_campaigns({rt.id: rt for rt in runtimes})
    by_name = {rt.name: rt for rt in runtimes}
    return Rig(
        engine, clock, runtimes[0], pbx, parts.writer, parts.dispatcher, parts.supervisor, by_name
    )
