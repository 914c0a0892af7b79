"""Build the PBX side from settings: the AMI adapter, against Asterisk or the built-in simulator.

With ``pbx.kind = "simulator"`` the protocol-level AMI simulator is started in a
thread (with ``simulator.team.agents`` > 0, a queue of simulated agents) and the
very same AMI adapter used with Asterisk talks to it; closing the telephony stops
the simulator too.
"""

from __future__ import annotations

from pydantic import SecretStr

from dialerd.domain.ports import Clock, StatusHook, Telephony
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.pbx.simulator import AmiSimulator, QueueScript
from dialerd.settings import AmiSettings, Settings, default_recording_prefix

SIMULATOR_SECRET = "simulator"


class _SimulatedAsterisk(AmiTelephony):
    """The AMI adapter bound to the simulator it started; closing stops both."""

    def __init__(
        self,
        settings: AmiSettings,
        simulator: AmiSimulator,
        *,
        clock: Clock,
        on_status: StatusHook,
        recording_prefix: str,
        pace: float,
    ) -> None:
        super().__init__(
            settings,
            clock=clock,
            on_status=on_status,
            recording_prefix=recording_prefix,
            pace=pace,
        )
        self._simulator = simulator

    def close(self) -> None:
        super().close()
        self._simulator.stop()


def make_pbx(settings: Settings, *, clock: Clock, on_status: StatusHook) -> Telephony:
    """The telephony ``settings.pbx.kind`` asks for; link changes go to ``on_status``."""
    ami = settings.ami
    pace = settings.pbx.calls_per_second  # the Originates leave evenly at the PBX's rate
    prefix = settings.pbx.recording_prefix
    if prefix is None:
        prefix = default_recording_prefix(settings.database.url)
    if settings.pbx.kind != "simulator":
        return AmiTelephony(
            ami, clock=clock, on_status=on_status, recording_prefix=prefix, pace=pace
        )
    team = settings.simulator.team
    queues = [
        QueueScript(
            name=team.queue,
            agents=team.agents,
            context=team.context,
            timeout_s=team.timeout_s,
            talk_s=team.talk_s,
            talk_sigma=team.talk_sigma,
            wrapup_s=team.wrapup_s,
            wrapup_sigma=team.wrapup_sigma,
            seed=team.seed,
        )
    ]
    sim = AmiSimulator(
        queues=queues if team.agents > 0 else [],
        host=settings.simulator.host,
        port=settings.simulator.port,
        username=ami.username,
        secret=SIMULATOR_SECRET,
        time_scale=settings.simulator.time_scale,
        cdr_csv=settings.pbx.cdr_csv,  # the built-in PBX keeps records where dialerd reads them
    )
    host, port = sim.start_in_thread()
    ami = ami.model_copy(update={"host": host, "port": port, "secret": SecretStr(SIMULATOR_SECRET)})
    return _SimulatedAsterisk(
        ami, sim, clock=clock, on_status=on_status, recording_prefix=prefix, pace=pace
    )
