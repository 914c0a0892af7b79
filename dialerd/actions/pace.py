"""A campaign's pace set through the database: ``dialerd campaign set|reset``.

An override replaces one ``[dialing]`` pace key of the campaign file
(:data:`KEYS`) for every daemon sharing the database, without a file edit or a
SIGHUP: the dispatcher applies :func:`pace_overrides` on each tick (one small
query). Values are checked with the campaign file's own field constraints, so a
bad value gets the message the file would get.

Storage: the ``campaign_overrides`` table (migration 0005), one row per campaign
and key, holding the value, the file's value when it was set, who and when. The
override holds until ``reset_pace`` or until the loaded file says something else
for that key: :func:`pace_overrides` skips such a row from then on, and
:func:`drop_stale` deletes it with an audit event when the campaigns are loaded
(``dialerd campaign load``; a daemon's start and SIGHUP reload, through the
dispatcher's ``on_load`` hook the composition root wires to
:func:`drop_stale_overrides`), so the file edited back later does not revive it.
Every set, reset and drop is written to ``campaign_events`` (``pace_set``,
``pace_reset``, ``pace_override_dropped``).

The three functions the rest of the tree uses: ``set_pace``, ``reset_pace`` and
``pace_overrides(conn) -> {campaign_id: {key: value}}``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pydantic import ValidationError, create_model
from sqlalchemy import Connection, Engine, Table, delete, select
from sqlalchemy.orm import Session

from dialerd.actions.control import find_campaign, record_event
from dialerd.campaignfile.locate import KeyLines
from dialerd.campaignfile.models import Dialing
from dialerd.campaignfile.problems import validation_problems
from dialerd.db.models import Campaign, CampaignOverride
from dialerd.errors import DialerdError

KEYS = ("max_concurrent", "calls_per_second", "priority", "weight")
Value = int | float


class PaceError(DialerdError):
    """The pace change was refused."""


@dataclass(frozen=True)
class Override:
    """One override as stored, and whether it still applies (the file kept its value)."""

    key: str
    value: Value
    file_value: Value
    set_at: datetime
    set_by: str
    applies: bool


@dataclass(frozen=True)
class PaceChange:
    """What ``set_pace`` or ``reset_pace`` did, key by key: (before, after) in effect."""

    campaign: str
    changes: dict[str, tuple[Value, Value]]


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["max_concurrent=10", "calls_per_second=2"]`` → values read as TOML values."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise PaceError(f"{item!r}: write KEY=VALUE (keys: {', '.join(KEYS)})")
        try:
            values[key] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            values[key] = text.strip()  # the field check says what is wrong with it
    return values


def validate(values: Mapping[str, Any]) -> dict[str, Value]:
    """Check ``values`` with the campaign file's ``[dialing]`` field constraints.

    Raises ``PaceError`` with one ``dialing.KEY: message`` line per problem.
    """
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise PaceError(
            "; ".join(f"dialing.{k}: cannot be set here (keys: {', '.join(KEYS)})" for k in unknown)
        )
    if not values:
        raise PaceError(f"nothing to set (keys: {', '.join(KEYS)})")
    fields: Any = {k: (Dialing.model_fields[k].annotation, Dialing.model_fields[k]) for k in values}
    model = create_model("Pace", __config__=Dialing.model_config, **fields)
    try:
        checked = model.model_validate(dict(values))
    except ValidationError as exc:
        problems = validation_problems(exc, model, KeyLines(""), "campaign set")
        raise PaceError("; ".join(f"dialing.{p.field}: {p.message}" for p in problems)) from None
    return {k: getattr(checked, k) for k in values}


def _file_value(campaign: Campaign, key: str) -> Value:
    value = (campaign.config or {}).get("dialing", {}).get(key, Dialing.model_fields[key].default)
    return value  # type: ignore[no-any-return]


def _stored(session: Session, campaign_id: int) -> dict[str, CampaignOverride]:
    rows = session.scalars(
        select(CampaignOverride).where(CampaignOverride.campaign_id == campaign_id)
    )
    return {row.key: row for row in rows}


def _in_effect(campaign: Campaign, row: CampaignOverride | None, key: str) -> Value:
    file_value = _file_value(campaign, key)
    if row is not None and row.file_value == file_value:
        return row.value  # type: ignore[no-any-return]
    return file_value


def set_pace(
    session: Session, name: str, values: Mapping[str, Any], *, who: str, now: datetime
) -> PaceChange:
    """Store ``values`` (checked by :func:`validate`) as campaign ``name``'s overrides."""
    checked = validate(values)
    campaign = find_campaign(session, name, for_update=True)
    stored = _stored(session, campaign.id)
    changes: dict[str, tuple[Value, Value]] = {}
    for key, value in checked.items():
        before = _in_effect(campaign, stored.get(key), key)
        if key in stored:
            session.delete(stored[key])
            session.flush()
        session.add(
            CampaignOverride(
                campaign_id=campaign.id,
                key=key,
                value=value,
                file_value=_file_value(campaign, key),
                set_at=now,
                set_by=who[:100],
            )
        )
        changes[key] = (before, value)
    record_event(
        session,
        campaign_id=campaign.id,
        kind="pace_set",
        who=who,
        now=now,
        details={
            k: {"from": a, "to": b, "file": _file_value(campaign, k)}
            for k, (a, b) in changes.items()
        },
    )
    return PaceChange(name, changes)


def reset_pace(
    session: Session, name: str, keys: Sequence[str], *, who: str, now: datetime
) -> PaceChange:
    """Drop campaign ``name``'s overrides of ``keys`` (all of them when empty): the file rules."""
    unknown = sorted(set(keys) - set(KEYS))
    if unknown:
        raise PaceError(
            "; ".join(f"dialing.{k}: not a pace key ({', '.join(KEYS)})" for k in unknown)
        )
    campaign = find_campaign(session, name, for_update=True)
    stored = _stored(session, campaign.id)
    changes: dict[str, tuple[Value, Value]] = {}
    for key in keys or sorted(stored):
        row = stored.get(key)
        if row is None:
            continue
        changes[key] = (_in_effect(campaign, row, key), _file_value(campaign, key))
        session.delete(row)
    if changes:
        record_event(
            session,
            campaign_id=campaign.id,
            kind="pace_reset",
            who=who,
            now=now,
            details={k: {"from": a, "to": b} for k, (a, b) in changes.items()},
        )
    return PaceChange(name, changes)


# built once, in Core: an ORM statement built on each tick cost ten times its run
_co = cast(Table, CampaignOverride.__table__)
_ca = cast(Table, Campaign.__table__)
_IN_FORCE = select(_co.c.campaign_id, _co.c.key, _co.c.value, _co.c.file_value, _ca.c.config).join(
    _ca, _ca.c.id == _co.c.campaign_id
)


def pace_overrides(conn: Connection) -> dict[int, dict[str, Value]]:
    """The overrides in force, by campaign id: what the dispatcher applies on each tick.

    A row whose ``file_value`` is no longer the loaded file's value is left out.
    """
    out: dict[int, dict[str, Value]] = {}
    for cid, key, value, file_value, config in conn.execute(_IN_FORCE):
        current = (config or {}).get("dialing", {}).get(key, Dialing.model_fields[key].default)
        if current == file_value:
            out.setdefault(int(cid), {})[key] = value
    return out


def overrides_of(session: Session, campaign_id: int) -> list[Override]:
    """Campaign ``campaign_id``'s stored overrides, for ``dialerd campaign status``."""
    campaign = session.get_one(Campaign, campaign_id)
    return [
        Override(
            key,
            row.value,
            row.file_value,
            row.set_at,
            row.set_by,
            row.file_value == _file_value(campaign, key),
        )
        for key, row in sorted(_stored(session, campaign_id).items())
    ]


def drop_stale(session: Session, *, who: str, now: datetime) -> list[tuple[str, str]]:
    """Delete the overrides whose key the file has changed since; (campaign, key) of each."""
    dropped: list[tuple[str, str]] = []
    rows = session.execute(
        select(CampaignOverride, Campaign).join(
            Campaign, Campaign.id == CampaignOverride.campaign_id
        )
    ).all()
    for row, campaign in rows:
        file_value = _file_value(campaign, row.key)
        if row.file_value == file_value:
            continue
        session.execute(
            delete(CampaignOverride).where(
                CampaignOverride.campaign_id == row.campaign_id, CampaignOverride.key == row.key
            )
        )
        record_event(
            session,
            campaign_id=campaign.id,
            kind="pace_override_dropped",
            who=who,
            now=now,
            details={
                row.key: {"override": row.value, "file_was": row.file_value, "file": file_value}
            },
        )
        dropped.append((campaign.name, row.key))
    return dropped


def drop_stale_overrides(engine: Engine, *, who: str, now: datetime) -> list[tuple[str, str]]:
    """:func:`drop_stale` in its own transaction: what a daemon runs after loading its files."""
    with Session(engine) as session, session.begin():
        return drop_stale(session, who=who, now=now)
