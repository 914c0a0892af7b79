"""Campaign files: TOML → validated model → domain objects, with ``path:line`` problems.

``load_file(path)`` gives a :class:`LoadedCampaign` (``.policy``, ``.calendar``,
``.caller_ids``) or raises :class:`CampaignFileError`; ``check_file`` returns the
problems instead. Reading a whole folder and recording campaigns in the database
is :mod:`dialerd.engine.registry` (this package never writes).
"""

from __future__ import annotations

from dialerd.campaignfile.errors import CampaignFileError, FileProblems, Problem
from dialerd.campaignfile.loader import LoadedCampaign, check_file, load_file
from dialerd.campaignfile.models import CampaignFile

__all__ = [
    "CampaignFile",
    "CampaignFileError",
    "FileProblems",
    "LoadedCampaign",
    "Problem",
    "check_file",
    "load_file",
]
