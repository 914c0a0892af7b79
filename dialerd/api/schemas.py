"""Request bodies: unknown fields are refused (``extra="forbid"``), every field bounded."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(max_length=2000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Cell = Annotated[str, StringConstraints(max_length=1000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DispositionIn(Strict):
    """An agent's call summary: an outcome code or its Chinese label (docs/outcomes.md)."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    callback_at: AwareDatetime | None = Field(None, description="the time the callee asked for")
    note: Text | None = None
    agent: Name | None = Field(None, description="who summarises; default: the token's name")


class ContactRowIn(Strict):
    """One contact, in the columns of a contact CSV (docs/contacts.md)."""

    external_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    name: Cell | None = None
    phone1: Cell | None = None
    phone2: Cell | None = None
    phone3: Cell | None = None
    phone4: Cell | None = None
    phone1_third_party: Cell | None = None
    phone2_third_party: Cell | None = None
    phone3_third_party: Cell | None = None
    phone4_third_party: Cell | None = None
    timezone: Cell | None = None
    priority: Cell | int | None = None
    deadline: Cell | None = None
    not_before: Cell | None = None
    appointment: Cell | None = None


class ContactsIn(Strict):
    contacts: list[ContactRowIn] = Field(min_length=1, max_length=10_000)


class PaceIn(Strict):
    """The campaign's pace, overriding its file (omitted: unchanged)."""

    max_concurrent: int | None = Field(None, ge=1, le=10_000)
    calls_per_second: float | None = Field(None, gt=0, le=1_000)


class DncIn(Strict):
    """Exactly one of ``number``, ``prefix`` (ends in ``*``) or ``contact`` (an external id)."""

    number: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    prefix: Annotated[str, StringConstraints(min_length=2, max_length=40)] | None = None
    contact: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    campaign: Name | None = Field(None, description="only this campaign (default: all)")
    reason: Text = ""
    source: Annotated[str, StringConstraints(max_length=64)] = "api"
    region: Annotated[str, StringConstraints(min_length=2, max_length=2)] = "CN"


class FieldProblem(BaseModel):
    field: str
    message: str


class ProblemOut(BaseModel):
    """Every refusal's body (docs/api.md, Errors)."""

    error: str = Field(description="a stable code: unauthorized, invalid, conflict...")
    message: str
    field: str | None = Field(None, description="the field at fault, e.g. contacts[3].phone1")
    problems: list[FieldProblem] | None = Field(None, description="each invalid field (422)")


REFUSALS: dict[int | str, dict[str, object]] = {
    status: {"model": ProblemOut, "description": text}
    for status, text in (
        (401, "no token, or an unknown or revoked one"),
        (403, "the token's scope does not allow this"),
        (404, "no such campaign, attempt, contact or entry"),
        (409, "the current state refuses it"),
        (413, "the body is over the size limit"),
        (422, "a field is missing, unknown or invalid"),
        (429, "too many writes: see Retry-After"),
    )
}
