"""Protocol-level AMI simulator that talks like the recorded Asterisk 22 (see server.py)."""

from __future__ import annotations

from dialerd.pbx.simulator.faults import Faults
from dialerd.pbx.simulator.queue import Break, QueueScript
from dialerd.pbx.simulator.records import OriginateRecord, SessionRecord
from dialerd.pbx.simulator.scenario import Scenario
from dialerd.pbx.simulator.server import AmiSimulator

__all__ = [
    "AmiSimulator",
    "Break",
    "Faults",
    "OriginateRecord",
    "QueueScript",
    "Scenario",
    "SessionRecord",
]
