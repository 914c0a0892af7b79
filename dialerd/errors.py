"""One exception base for the package; the docstring is the default message."""

from __future__ import annotations


class DialerdError(Exception):
    """dialerd failed."""

    exit_status = 1  # what the CLI exits with (docs/operations.md lists them)
    code = "error"  # the ``error`` field of a JSON error object

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(DialerdError):
    """The configuration is invalid."""


class SchemaOutOfDate(DialerdError):
    """The database schema is not at the latest revision; run `dialerd db upgrade`."""

    exit_status = 5
    code = "schema_not_current"


class DatabaseUnavailable(DialerdError):
    """The database cannot be reached."""

    exit_status = 4
    code = "database_unreachable"


class DatabaseLocked(DialerdError):
    """The database is locked by another connection past the busy timeout."""

    exit_status = 6
    code = "database_locked"


class CampaignNotFound(DialerdError):
    """No such campaign."""


class TelephonyUnavailable(DialerdError):
    """The PBX link is down; no dial can be started."""


class UnsafeDialInput(DialerdError):
    """A value bound for the PBX wire holds characters it must not carry."""
