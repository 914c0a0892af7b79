"""Hostile campaign files: oversized files, contact lists outside the folder, no traceback."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from dialerd.campaignfile.loader import MAX_FILE_BYTES, check_file
from dialerd.cli import cli
from dialerd.engine.campaigns import load_campaigns
from tests.conftest import REPO

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "campaigns"
    target.mkdir()
    for name in ("spot-check.toml", "spot-check.csv"):
        shutil.copy(REPO / "campaigns" / name, target / name)
    return target


def _oversize(path: Path) -> None:
    """Ten times the limit, with a TOML error at the end that only a parse would see."""
    text = path.read_text(encoding="utf-8")
    tail = "# " + "x" * (MAX_FILE_BYTES * 10) + "\nbroken = = =\n"
    path.write_text(text + tail, encoding="utf-8")


def _contacts(folder: Path, value: str) -> Path:
    path = folder / "spot-check.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"spot-check.csv"', value), encoding="utf-8")
    return path


def _validate(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["campaign", "validate", *args], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_an_oversized_file_is_refused_unread(folder: Path) -> None:
    path = folder / "spot-check.toml"
    _oversize(path)
    loaded, problems = check_file(path)
    assert loaded is None
    assert [str(p) for p in problems] == [
        f"{path}:1: file: larger than 1024 KiB: not a campaign file (not read)"
    ]
    code, out = _validate(str(path))
    assert code == 1 and f"{path}:1: file: larger than 1024 KiB" in out


def test_a_file_just_under_the_limit_is_read(folder: Path) -> None:
    path = folder / "spot-check.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "#" * (MAX_FILE_BYTES - len(text.encode()) - 1) + "\n")
    assert path.stat().st_size == MAX_FILE_BYTES
    loaded, _ = check_file(path)
    assert loaded is not None


def test_load_refuses_an_oversized_file_and_writes_nothing(
    engine: Engine, folder: Path, tmp_path: Path
) -> None:
    _oversize(folder / "spot-check.toml")
    config = tmp_path / "dialerd.toml"
    url = engine.url.render_as_string(hide_password=False)
    config.write_text(f"[database]\nurl = {url!r}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "campaign", "load", str(folder)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "larger than 1024 KiB" in result.output and "nothing loaded" in result.output


def test_reload_keeps_the_previous_version_of_an_oversized_file(
    engine: Engine, folder: Path
) -> None:
    first = load_campaigns(engine, folder, now=NOW, actor="test")
    assert len(first.runtimes) == 1
    _oversize(folder / "spot-check.toml")
    again = load_campaigns(engine, folder, now=NOW, actor="test", previous=first)
    assert again.runtimes.keys() == first.runtimes.keys()
    (refused,) = again.problems
    assert refused.problems[0].field == "file"
    assert "larger than 1024 KiB" in refused.problems[0].message


@pytest.mark.parametrize("value", ['"../../etc/passwd"', '"/etc/shadow"'])
def test_contact_lists_outside_the_folder_are_refused(folder: Path, value: str) -> None:
    path = _contacts(folder, value)
    loaded, problems = check_file(path)
    assert loaded is None
    (problem,) = problems
    assert (problem.line, problem.field) == (15, "contacts[0]")
    assert "outside the campaign's folder" in problem.message
    assert "lists_dirs" in problem.message
    code, out = _validate(str(path))
    assert code == 1 and f"{path}:15: contacts[0]: " in out
    assert "root:" not in out  # the file was never opened as a contact list


def test_a_symlink_out_of_the_folder_is_refused(folder: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(folder / "spot-check.csv", elsewhere / "list.csv")
    (folder / "link.csv").symlink_to(elsewhere / "list.csv")
    path = _contacts(folder, '"link.csv"')
    loaded, problems = check_file(path)
    assert loaded is None and "outside the campaign's folder" in problems[0].message
    loaded, problems = check_file(path, lists_dirs=[elsewhere])
    assert loaded is not None and problems == []


def test_lists_dirs_allows_a_folder(folder: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared-lists"
    shared.mkdir()
    shutil.copy(folder / "spot-check.csv", shared / "list.csv")
    path = _contacts(folder, f'"{shared / "list.csv"}"')
    assert check_file(path)[0] is None
    loaded, problems = check_file(path, lists_dirs=[shared])
    assert loaded is not None and problems == []
    assert loaded.contact_paths == (shared / "list.csv",)
    env = {"DIALERD_LISTS_DIRS": f"{tmp_path / 'other'}{os.pathsep}{shared}"}
    code, out = _validate(str(path), env=env)
    assert "outside the campaign's folder" not in out
    code, out = _validate(str(path))
    assert code == 1 and "outside the campaign's folder" in out
