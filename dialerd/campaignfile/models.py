"""The campaign file schema: pydantic models, every table closed to unknown keys.

docs/campaigns.md documents every key; keep the two in step.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dialerd.campaignfile.columns import ColumnsTable
from dialerd.campaignfile.durations import Duration, parse_duration
from dialerd.campaignfile.fields import (
    AppData,
    Application,
    CallerId,
    CampaignName,
    ChannelTemplate,
    ClockTime,
    Context,
    Days,
    DialPrefix,
    Exten,
    HolidayCountry,
    NumberPrefix,
    Priority,
    Region,
    Strict,
    TimeZoneName,
    hint,
    parse_clock,
)
from dialerd.campaignfile.pacing import Pacing
from dialerd.domain.outcomes import Outcome
from dialerd.domain.treatments import TreatmentKind
from dialerd.domain.workdays import parse_reminder, parse_working_days

OUTCOME_CODES = tuple(o.value for o in Outcome)
TREATMENT_NAMES = tuple(t.value for t in TreatmentKind)
_DELAYABLE = frozenset({TreatmentKind.retry.value, TreatmentKind.callback.value})
# Never redial at once (docs/rulebook.md §1, seed 004: 不要马上二次拨打,保证通话间隔时间); the
# fastest rulebook deadline (004: a service callback within 30 min, at most 3 h)
# still fits several rounds 30 min apart.
MIN_SPACING_FLOOR = timedelta(minutes=30)


class HolidayCalendar(Strict):
    country: HolidayCountry | None = None
    closed: tuple[date, ...] = ()
    open: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _disjoint(self) -> Self:
        both = sorted(set(self.closed) & set(self.open))
        if both:
            raise PydanticCustomError(
                "holiday_overlap",
                "{day} is both closed and open",
                {"day": both[0].isoformat(), "at": "open"},
            )
        return self


class Window(Strict):
    days: Days
    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if parse_clock(self.start) >= parse_clock(self.end):
            raise PydanticCustomError(
                "window_order",
                "start {start} must be before end {end}",
                {"start": self.start, "end": self.end, "at": "end"},
            )
        return self


class AnsweredTarget(Strict):
    """Where an answered call goes: context/exten/priority, or application/data."""

    context: Context | None = None
    exten: Exten | None = None
    priority: Priority = "1"
    application: Application | None = None
    data: AppData | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        dialplan = self.context is not None or self.exten is not None
        app = self.application is not None
        if dialplan == app:
            raise PydanticCustomError(
                "answered_target", "give either context and exten, or application (not both)"
            )
        if dialplan and (self.context is None or self.exten is None):
            raise PydanticCustomError("answered_target", "context and exten go together")
        if not app and self.data is not None:
            raise PydanticCustomError("answered_target", "data goes with application")
        return self


class RollingCap(Strict):
    """At most ``count`` dials in any ``window``."""

    count: int = Field(ge=1)
    window: Duration

    @field_validator("window")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise PydanticCustomError("cap_window", "window must be longer than 0s")
        return value


class Dialing(Strict):
    max_rounds: int = Field(4, ge=1, le=50)
    min_spacing: Duration = timedelta(hours=6)
    spacing: Literal["wall", "open_hours"] = "wall"
    ring_timeout: Duration = timedelta(seconds=30)
    early_hangup: Duration = timedelta(seconds=5)
    max_refusals: int = Field(3, ge=1, le=100)
    number_cap: RollingCap | None = None
    contact_cap: RollingCap | None = None
    max_concurrent: int = Field(10, ge=1, le=10_000)
    # the PBX-wide pbx.calls_per_second caps the sum; 10,000/s is far above any one
    # Asterisk (BENCHMARKS.md, "Against a real Asterisk")
    calls_per_second: float = Field(1.0, gt=0, le=10_000)
    priority: int = Field(0, ge=-100, le=100)
    weight: int = Field(1, ge=1, le=1_000)
    channel: ChannelTemplate
    dial_prefix: DialPrefix = ""
    caller_id: CallerId
    answered: AnsweredTarget
    record: bool = True
    on_deadline: Literal["close", "pause"] = "close"  # a contact's deadline passed unreached
    # seed 001: "3 working days before due" (a `due` column), "72h" / "2 working days"
    reminder: str | None = Field(None, max_length=64)
    callback_within: str | None = Field(None, max_length=64)

    @field_validator("reminder")
    @classmethod
    def _reminder(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_reminder(value)
            except ValueError as exc:
                raise PydanticCustomError("reminder", str(exc)) from None
        return value

    @field_validator("callback_within")
    @classmethod
    def _within(cls, value: str | None) -> str | None:
        if value is None or parse_working_days(value) is not None:
            return value
        try:
            delay = parse_duration(value)
        except ValueError:
            raise PydanticCustomError(
                "callback_within",
                '"{value}" is not a delay like "72h" or "N working days"',
                {"value": value},
            ) from None
        if delay <= timedelta(0):
            raise PydanticCustomError("callback_within", "callback_within must be positive")
        return value

    @field_validator("min_spacing")
    @classmethod
    def _spacing(cls, value: timedelta) -> timedelta:
        if value < MIN_SPACING_FLOOR:
            raise PydanticCustomError(
                "min_spacing",
                "min_spacing must be at least 30m: the rulebooks never redial at once",
            )
        return value

    @field_validator("ring_timeout")
    @classmethod
    def _ring(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=10):
            raise PydanticCustomError("ring_timeout", "ring_timeout must be between 1s and 10m")
        return value

    @field_validator("early_hangup")
    @classmethod
    def _early(cls, value: timedelta) -> timedelta:
        if value > timedelta(minutes=1):
            raise PydanticCustomError("early_hangup", "early_hangup must be at most 1m")
        return value


class CallerIdRule(Strict):
    """Numbers matching ``carrier`` and/or ``prefix`` get this caller ID and/or channel."""

    carrier: str | None = Field(None, min_length=1, max_length=64)
    prefix: NumberPrefix | None = None
    caller_id: CallerId | None = None
    channel: ChannelTemplate | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.carrier is None and self.prefix is None:
            raise PydanticCustomError("caller_id_rule", "a rule needs carrier or prefix")
        if self.caller_id is None and self.channel is None:
            raise PydanticCustomError("caller_id_rule", "a rule needs caller_id or channel")
        return self


class OutcomeRule(Strict):
    """A per-outcome override of the default treatment."""

    treatment: str
    after: Duration | None = None

    @field_validator("treatment")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in TREATMENT_NAMES:
            raise PydanticCustomError(
                "treatment",
                'unknown treatment "{value}"{hint}; one of: {names}',
                {
                    "value": value,
                    "hint": hint(value, TREATMENT_NAMES),
                    "names": ", ".join(TREATMENT_NAMES),
                },
            )
        return value

    @model_validator(mode="after")
    def _after_only_with_retry(self) -> Self:
        if self.after is not None and self.treatment not in _DELAYABLE:
            raise PydanticCustomError(
                "after",
                '"after" goes only with treatment = "retry" (or "callback")',
                {"at": "after"},
            )
        return self


def _outcome_code(value: str) -> str:
    if value not in OUTCOME_CODES:
        raise PydanticCustomError(
            "outcome",
            'unknown outcome "{value}"{hint}',
            {"value": value, "hint": hint(value, OUTCOME_CODES)},
        )
    return value


OutcomeCode = Annotated[str, AfterValidator(_outcome_code)]


class CampaignFile(Strict):
    """One campaign file, as written."""

    name: CampaignName
    description: str = ""
    contacts: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    region: Region = "CN"
    timezone: TimeZoneName
    holidays: HolidayCalendar = HolidayCalendar()
    start: date | None = None
    end: date | None = None
    dialing: Dialing
    windows: tuple[Window, ...] = Field(min_length=1)
    caller_id_rules: tuple[CallerIdRule, ...] = ()
    outcomes: dict[OutcomeCode, OutcomeRule] = Field(default_factory=dict)
    columns: ColumnsTable | None = None
    pacing: Pacing = Pacing()

    def column_map(self) -> dict[str, tuple[str, ...]] | None:
        """``[columns]`` as field -> headers, or None when the file has no such table."""
        return None if self.columns is None else self.columns.mapping()

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.start and self.end and self.start > self.end:
            raise PydanticCustomError(
                "dates",
                "start {start} is after end {end}",
                {"start": self.start.isoformat(), "end": self.end.isoformat(), "at": "end"},
            )
        return self
