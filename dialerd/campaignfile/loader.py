"""Read and validate one campaign file; every failure becomes a located :class:`Problem`."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from dialerd.campaignfile.carriers import all_carrier_names, region_carrier_names
from dialerd.campaignfile.columns import PHONE_FIELDS, read_header, resolve
from dialerd.campaignfile.durations import format_duration
from dialerd.campaignfile.errors import CampaignFileError, Problem, has_errors
from dialerd.campaignfile.fields import hint
from dialerd.campaignfile.locate import KeyLines
from dialerd.campaignfile.models import CampaignFile
from dialerd.campaignfile.problems import toml_problem, validation_problems

if TYPE_CHECKING:
    from dialerd.domain.calendar import CallingCalendar
    from dialerd.domain.callerid import CallerIdRules
    from dialerd.domain.pacing import PacingConfig
    from dialerd.domain.policy import DialPolicy

MAX_FILE_BYTES = 1 << 20  # a campaign file is a few KiB; anything near this is not one


@dataclass(frozen=True)
class LoadedCampaign:
    """A valid campaign file: the model, where it came from, and its contact lists."""

    model: CampaignFile
    path: Path
    sha256: str
    contact_paths: tuple[Path, ...]
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.model.name

    @cached_property
    def policy(self) -> DialPolicy:
        from dialerd.campaignfile.convert import to_policy

        return to_policy(self.model)

    @cached_property
    def calendar(self) -> CallingCalendar:
        from dialerd.campaignfile.convert import to_calendar

        return to_calendar(self.model)

    @cached_property
    def pacing(self) -> PacingConfig:
        from dialerd.campaignfile.convert import to_pacing

        return to_pacing(self.model)

    @cached_property
    def caller_ids(self) -> CallerIdRules:
        from dialerd.campaignfile.convert import to_caller_id_rules

        return to_caller_id_rules(self.model)


def parse_bytes(data: bytes, path: str) -> tuple[CampaignFile | None, list[Problem]]:
    """Decode, parse and validate a file's content. Pure: touches no file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = (
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at column {column}); save as UTF-8"
        )
        return None, [Problem(path, line, "file", message)]
    return parse_text(text, path)


def parse_text(text: str, path: str) -> tuple[CampaignFile | None, list[Problem]]:
    """Parse and validate TOML text; returns the model (None on errors) and all problems."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [toml_problem(exc, path, text)]
    keys = KeyLines(text)
    try:
        model = CampaignFile.model_validate(raw)
    except ValidationError as exc:
        return None, validation_problems(exc, CampaignFile, keys, path)
    problems = _cross_checks(model, keys, path)
    return (None if has_errors(problems) else model), problems


def _cross_checks(model: CampaignFile, keys: KeyLines, path: str) -> list[Problem]:
    """What a single field cannot tell: dead carrier rules, `after` below min_spacing..."""
    found = _carrier_problems(model, keys, path)
    spacing = model.dialing.min_spacing
    for code, rule in model.outcomes.items():
        if rule.after is not None and rule.after < spacing:
            loc = ("outcomes", code, "after")
            found.append(
                Problem(
                    path,
                    keys.line_of(loc),
                    f"outcomes.{code}.after",
                    f"{format_duration(rule.after)} is shorter than dialing.min_spacing "
                    f"{format_duration(spacing)}: min_spacing wins",
                    severity="warning",
                )
            )
    if model.holidays.country is None:
        found.append(
            Problem(
                path,
                keys.line_of(("holidays",)),
                "holidays.country",
                "no public holiday calendar: the campaign dials on public holidays",
                severity="warning",
            )
        )
    else:
        found.extend(_notice_problems(model, keys, path))
    return found


def _notice_problems(model: CampaignFile, keys: KeyLines, path: str) -> list[Problem]:
    """Years the campaign dials in whose official make-up days are not known yet: a warning."""
    from dialerd.campaignfile.convert import to_calendar
    from dialerd.domain.calendar import unannounced_message, unannounced_years

    calendar = to_calendar(model)
    years = unannounced_years(calendar, today=datetime.now(UTC).date())
    if not years:
        return []
    line = keys.line_of(("holidays", "country"))
    message = unannounced_message(calendar, years)
    return [Problem(path, line, "holidays.country", message, severity="warning")]


def _carrier_problems(model: CampaignFile, keys: KeyLines, path: str) -> list[Problem]:
    """A carrier name no number can ever have makes its rule dead: an error, with a hint."""
    found = []
    for index, rule in enumerate(model.caller_id_rules):
        if rule.carrier is None or rule.carrier.strip().casefold() in all_carrier_names():
            continue
        near = hint(rule.carrier, region_carrier_names(model.region))
        loc = ("caller_id_rules", index, "carrier")
        message = (
            f'no {model.region} number has carrier "{rule.carrier}"{near}: the rule never matches'
        )
        found.append(Problem(path, keys.line_of(loc), f"caller_id_rules[{index}].carrier", message))
    return found


def read_limited(path: Path) -> tuple[bytes | None, list[Problem]]:
    """The file's bytes, or why not: unreadable, or over :data:`MAX_FILE_BYTES` (never parsed)."""
    shown = str(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [Problem(shown, 1, "file", f"cannot read: {exc.strerror or exc}")]
    if len(data) > MAX_FILE_BYTES:
        message = f"larger than {MAX_FILE_BYTES // 1024} KiB: not a campaign file (not read)"
        return None, [Problem(shown, 1, "file", message)]
    return data, []


def check_file(
    path: Path, *, lists_dirs: Sequence[Path] = ()
) -> tuple[LoadedCampaign | None, list[Problem]]:
    """Validate one campaign file and its contact lists' paths.

    A contact list must be a file inside the campaign file's folder (symbolic
    links resolved), or inside one of ``lists_dirs`` (the ``lists_dirs`` setting).
    """
    shown = str(path)
    data, problems = read_limited(path)
    if data is None:
        return None, problems
    model, problems = parse_bytes(data, shown)
    if model is None:
        return None, problems
    keys = KeyLines(data.decode("utf-8-sig"))
    contact_paths = tuple((path.parent / name) for name in model.contacts)
    allowed = [path.parent.resolve(), *(d.resolve() for d in lists_dirs)]
    for index, contact in enumerate(contact_paths):
        if not any(contact.resolve().is_relative_to(folder) for folder in allowed):
            message = (
                f"{model.contacts[index]} is outside the campaign's folder "
                f"{path.parent}; allow its folder with the lists_dirs setting"
            )
        elif not contact.is_file():
            message = f"no such file: {contact}"
        else:
            continue
        line = keys.line_of(("contacts", index))
        problems.append(Problem(shown, line, f"contacts[{index}]", message))
    if model.columns is not None and not has_errors(problems):
        for index, contact in enumerate(contact_paths):
            problems.extend(_column_problems(model, contact, keys, shown, index))
    if has_errors(problems):
        return None, problems
    loaded = LoadedCampaign(
        model=model,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        contact_paths=contact_paths,
        warnings=tuple(problems),
    )
    return loaded, problems


def _column_problems(
    model: CampaignFile, contact: Path, keys: KeyLines, path: str, index: int
) -> list[Problem]:
    """``[columns]`` against the list's real header: each mapped header must be there."""
    mapping = model.column_map() or {}
    try:
        header = read_header(contact)
    except OSError as exc:
        line = keys.line_of(("contacts", index))
        return [Problem(path, line, f"contacts[{index}]", f"cannot read: {exc.strerror or exc}")]
    found = resolve(header, mapping)
    problems = [
        Problem(
            path,
            keys.line_of(("columns", gap.field)),
            f"columns.{gap.field}",
            gap.message(contact.name),
        )
        for gap in found.missing
    ]
    problems.sort(key=lambda p: p.line)
    missing = {gap.field for gap in found.missing}
    line = keys.line_of(("columns",))
    if "external_id" not in found.index and "external_id" not in missing:
        message = f'{contact.name} has no external_id column: map one, e.g. external_id = "保单号"'
        problems.append(Problem(path, line, "columns.external_id", message))
    if not any(f in found.index or f in missing for f in PHONE_FIELDS):
        message = f'{contact.name} has no phone column: map one, e.g. phone1 = ["手机", "手机号码"]'
        problems.append(Problem(path, line, "columns.phone1", message))
    return problems


def load_file(path: Path, *, lists_dirs: Sequence[Path] = ()) -> LoadedCampaign:
    """Like :func:`check_file`, raising :class:`CampaignFileError` when the file is invalid."""
    loaded, problems = check_file(path, lists_dirs=lists_dirs)
    if loaded is None:
        raise CampaignFileError(problems)
    return loaded
