"""dialerd.service: systemd-analyze accepts it, and it keeps what operators rely on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dialerd.settings import SchedulerSettings

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "dialerd.service"
EXEC_PATH = "/opt/dialerd/venv/bin/dialerd"
MAX_EXPOSURE = 2.0  # systemd-analyze security: 0 = locked down, 10 = exposed


def _pairs(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment, repeated keys kept."""
    section, out = "", []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def _settings() -> dict[str, str]:
    return {k: v for _s, k, v in _pairs(UNIT.read_text())}


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", value)
    assert match, value
    return int(match[1]) * (60 if match[2] == "min" else 1)


@pytest.fixture
def analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing: .ci/setup installs Debian's systemd")
        pytest.skip("systemd-analyze is not installed")
    return path


@pytest.fixture
def unit_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at an executable stub (verify checks it exists)."""
    stub = tmp_path / "dialerd"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    text = UNIT.read_text()
    assert EXEC_PATH in text
    copy = tmp_path / "dialerd.service"
    copy.write_text(text.replace(EXEC_PATH, str(stub)))
    return copy


def test_systemd_analyze_verify_is_silent(analyze: str, unit_copy: Path) -> None:
    # verify exits 0 on unknown keys and bad values: any output at all is a failure
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(unit_copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout + proc.stderr == ""


def test_exposure_is_low(analyze: str, unit_copy: Path) -> None:
    proc = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(unit_copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    assert float(match[1]) <= MAX_EXPOSURE


def test_the_promises_operators_rely_on() -> None:
    s = _settings()
    assert s["Type"] == "notify"
    assert s["NotifyAccess"] == "main"
    assert s["ExecStart"] == f"{EXEC_PATH} run"  # no wrapper shell: NotifyAccess=main needs it
    assert s["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert s["Restart"] == "on-failure"
    assert s["User"] == s["Group"] == "dialerd"
    assert s["StateDirectory"] == s["ConfigurationDirectory"] == "dialerd"
    assert s["EnvironmentFile"] == "-/etc/default/dialerd"
    assert _seconds(s["WatchdogSec"]) == 30
    drain = SchedulerSettings().drain_timeout_s
    assert _seconds(s["TimeoutStopSec"]) >= drain + 15
    assert s["RestrictAddressFamilies"] == "AF_UNIX AF_INET AF_INET6"
    assert s["CapabilityBoundingSet"] == ""
    assert s["UMask"] == "0077"
    for key in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "MemoryDenyWriteExecute"):
        assert s[key] == "yes", key
    assert s["StartLimitBurst"] and s["StartLimitIntervalSec"]
