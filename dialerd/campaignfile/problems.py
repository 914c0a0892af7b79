"""Turn TOML and pydantic failures into ``path:line: field: message`` problems."""

from __future__ import annotations

import json
import re
import tomllib
import types
import typing
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from pydantic_core.core_schema import ErrorType

from dialerd.campaignfile.errors import Problem
from dialerd.campaignfile.fields import hint
from dialerd.campaignfile.locate import KeyLines

_BUILTIN_TYPES = frozenset(get_args(ErrorType))
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
Loc = tuple[str | int, ...]


def field_name(loc: Sequence[str | int]) -> str:
    """``("windows", 0, "start")`` → ``windows[0].start``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def toml_problem(exc: tomllib.TOMLDecodeError, path: str, text: str) -> Problem:
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        return Problem(path, line, "toml", f"{message[: match.start()]} (column {column})")
    line = text.count("\n") + 1 if "end of document" in message else 1
    return Problem(path, line, "toml", re.sub(r"\s*\(at end of document\)$", "", message))


def validation_problems(
    exc: ValidationError, model: type[BaseModel], keys: KeyLines, path: str
) -> list[Problem]:
    """One problem per pydantic error, located at the line where its key is written."""
    errors = exc.errors(include_url=False)
    problems = []
    for err in errors:
        loc: Loc = tuple(p for p in err["loc"] if p != "[key]")
        if err["type"] == "too_short" and _has_inner_errors(loc, errors):
            continue  # pydantic adds it when items failed: the items' errors say more
        at = (err.get("ctx") or {}).get("at")
        if isinstance(at, str):
            loc = (*loc, at)
        problems.append(
            Problem(path, keys.line_of(loc), field_name(loc), _message(err, loc, model))
        )
    return sorted(problems, key=lambda p: p.line)


def _has_inner_errors(loc: Loc, errors: Sequence[ErrorDetails]) -> bool:
    return any(len(e["loc"]) > len(loc) and tuple(e["loc"][: len(loc)]) == loc for e in errors)


def _message(err: ErrorDetails, loc: Loc, model: type[BaseModel]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden" and loc:
        key = str(loc[-1])
        near = hint(key, _fields_at(model, loc[:-1])) or _home_of(model, key)
        return f'unknown key "{key}"{near}'
    if kind == "missing" and loc:
        return f'required key "{loc[-1]}" is missing'
    message = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    if kind in _BUILTIN_TYPES and isinstance(value, str | int | float | bool):
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)
        message = f"{message} (got {shown.lower() if isinstance(value, bool) else shown})"
    return message


def _home_of(model: type[BaseModel], key: str) -> str:
    """``' (it belongs in [dialing])'`` when a table of the file takes ``key``."""
    for name in model.model_fields:
        if key in _fields_at(model, (name,)):
            return f" (it belongs in [{name}])"
    return ""


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the table at ``loc`` accepts (for "did you mean" hints)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (tuple, list):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            tp = (models or members)[0]
        else:
            return tp
