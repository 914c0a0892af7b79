"""Campaign files: TOML → validated model → domain objects, with ``path:line`` problems.

``load_file(path)`` gives a :class:`LoadedCampaign` (``.policy``, ``.calendar``,
``.caller_ids``) or raises :class:`CampaignFileError`; ``check_file`` returns the
problems instead. Reading a whole folder and recording campaigns in the database
is :mod:`dialerd.engine.registry` (this package never writes).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialerd.campaignfile.errors import CampaignFileError, FileProblems, Problem
    from dialerd.campaignfile.loader import LoadedCampaign, check_file, load_file
    from dialerd.campaignfile.models import CampaignFile

# Imported on first use: a reader of stored campaigns (`dialerd status`) needs the models
# and their conversion, not the loader with its carriers table and list readers.
_WHERE = {
    "CampaignFile": "models",
    "CampaignFileError": "errors",
    "FileProblems": "errors",
    "LoadedCampaign": "loader",
    "Problem": "errors",
    "check_file": "loader",
    "load_file": "loader",
}

__all__ = [
    "CampaignFile",
    "CampaignFileError",
    "FileProblems",
    "LoadedCampaign",
    "Problem",
    "check_file",
    "load_file",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
