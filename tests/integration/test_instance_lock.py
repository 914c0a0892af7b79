"""The default instance id is stable across processes; one daemon per id and host."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dialerd.process.instance_lock import InstanceLock, InstanceLocked
from dialerd.settings import default_instance_id

PRINT_ID = "from dialerd.settings import default_instance_id; print(default_instance_id())"
TRY_LOCK = """
import sys
from pathlib import Path
from dialerd.process.instance_lock import InstanceLock, InstanceLocked
held = InstanceLock(Path(sys.argv[1]), sys.argv[2])
try:
    held.acquire()
except InstanceLocked as exc:
    print(exc)
    sys.exit(3)
"""


def child(code: str, *args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STATE_DIRECTORY": str(state)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_default_id_is_the_same_in_every_process_of_a_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "a"))
    here = default_instance_id()
    assert child(PRINT_ID, state=tmp_path / "a").stdout.strip() == here
    assert child(PRINT_ID, state=tmp_path / "b").stdout.strip() != here
    host, _, digest = here.rpartition(":")
    assert host and len(digest) == 8 and int(digest, 16) >= 0


def test_a_second_daemon_with_the_same_id_is_refused(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path, "pbx1:0badcafe")
    lock.acquire()
    try:
        refused = child(TRY_LOCK, str(tmp_path), "pbx1:0badcafe", state=tmp_path)
        assert refused.returncode == 3, refused.stderr
        assert "'pbx1:0badcafe' is in use by another daemon" in refused.stdout
        assert f"pid {os.getpid()}" in refused.stdout
        other = child(TRY_LOCK, str(tmp_path), "pbx2:0badcafe", state=tmp_path)
        assert other.returncode == 0, other.stdout + other.stderr
    finally:
        lock.release()
    after = child(TRY_LOCK, str(tmp_path), "pbx1:0badcafe", state=tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr


def test_the_lock_goes_with_a_killed_process(tmp_path: Path) -> None:
    hold = TRY_LOCK + "\nsys.stdout.write('held\\n')\nsys.stdout.flush()\nsys.stdin.read()\n"
    with subprocess.Popen(
        [sys.executable, "-c", hold, str(tmp_path), "pbx1:1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with pytest.raises(InstanceLocked):
                InstanceLock(tmp_path, "pbx1:1").acquire()
        finally:
            holder.kill()  # SIGKILL: no clean-up runs in the holder
            holder.wait(timeout=60)
    lock = InstanceLock(tmp_path, "pbx1:1")
    lock.acquire()
    lock.release()
