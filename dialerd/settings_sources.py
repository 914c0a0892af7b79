"""Where each effective setting came from, for `dialerd config show` (secrets masked)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource, TomlConfigSettingsSource

from dialerd.redact import redact
from dialerd.settings import Settings, settings_class


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


def _leaf_items(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _leaf_items(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def describe(settings: Settings, config_file: Path | None) -> list[tuple[str, str, str]]:
    """Rows of (key, value with secrets masked, source) in field order."""
    cls = settings_class(config_file)
    sources: list[tuple[str, Any]] = [
        ("env", EnvSettingsSource(cls)),
        (".env", DotEnvSettingsSource(cls)),
    ]
    if config_file is not None:
        sources.append((str(config_file), TomlConfigSettingsSource(cls)))
    origin: dict[str, str] = {}
    for label, source in sources:
        for key, _ in _flatten(source()):
            origin.setdefault(key.lower(), label)
    rows = []
    for key, value in _leaf_items(settings):
        empty_secret = isinstance(value, SecretStr) and not value.get_secret_value()
        shown = "(empty)" if empty_secret else str(redact(value))
        if isinstance(value, list):  # lists_dirs: as the environment writes it
            shown = os.pathsep.join(str(item) for item in value) or "(none)"
        rows.append((key, shown, origin.get(key.lower(), "default")))
    return rows
