"""One exception base for the package; the docstring is the default message."""

from __future__ import annotations


class DialerdError(Exception):
    """dialerd failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(DialerdError):
    """The configuration is invalid."""


class SchemaOutOfDate(DialerdError):
    """The database schema is not at the latest revision; run `dialerd db upgrade`."""


class CampaignNotFound(DialerdError):
    """No such campaign."""


class TelephonyUnavailable(DialerdError):
    """The PBX link is down; no dial can be started."""


class UnsafeDialInput(DialerdError):
    """A value bound for the PBX wire holds characters it must not carry."""
