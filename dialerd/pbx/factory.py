"""Build the PBX side from settings: the AMI adapter, against Asterisk or the built-in simulator.

With ``pbx.kind = "simulator"`` the daemon starts the protocol-level AMI simulator in
a thread and talks to it through the very same AMI adapter it uses with Asterisk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dialerd.domain.ports import Clock
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.settings import Settings

SIMULATOR_SECRET = "simulator"


@dataclass
class Pbx:
    telephony: AmiTelephony
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        self.telephony.close()
        for cleanup in reversed(self.cleanups):
            cleanup()


def make_pbx(settings: Settings, *, clock: Clock, on_status: Callable[[str], None]) -> Pbx:
    ami = settings.ami
    cleanups: list[Callable[[], None]] = []
    if settings.pbx.kind == "simulator":
        from pydantic import SecretStr

        from dialerd.pbx.simulator import AmiSimulator

        sim = AmiSimulator(
            host=settings.simulator.host,
            port=settings.simulator.port,
            username=ami.username,
            secret=SIMULATOR_SECRET,
            time_scale=settings.simulator.time_scale,
        )
        host, port = sim.start_in_thread()
        cleanups.append(sim.stop)
        ami = ami.model_copy(
            update={"host": host, "port": port, "secret": SecretStr(SIMULATOR_SECRET)}
        )
    telephony = AmiTelephony(ami, clock=clock, on_status=on_status)
    return Pbx(telephony=telephony, cleanups=cleanups)
