"""Streaming CSV contact import: read, check, reject, bulk load (docs/contacts.md)."""

from __future__ import annotations

from dialerd.importer.reader import ContactFileError, check_file
from dialerd.importer.service import ImportSummary, import_contacts
from dialerd.problems import Problem

__all__ = ["ContactFileError", "ImportSummary", "Problem", "check_file", "import_contacts"]
