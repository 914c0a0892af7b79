"""A contact file's encoding and line ends, guessed from its first 64 KiB.

Contact lists come as UTF-8 (with or without a BOM) or, when exported by Excel on
Chinese Windows, as GBK/GB18030 (sometimes with a UTF-8 BOM in front, which is
dropped). The first 64 KiB after any BOM are decoded as strict UTF-8; if that
fails the file is read as GB18030 (a superset of GBK and GB2312). ASCII-only
files are UTF-8 either way. ``encoding=`` forces a codec; it must keep ASCII as
ASCII (UTF-16 and the like are refused), since lines are split on bytes.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from dialerd.importer.lines import BOM

SAMPLE_BYTES = 64 * 1024
FALLBACK_ENCODING = "gb18030"
_ASCII_PROBE = 'external_id,"0\r\n'


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (reads files with and without a BOM alike) or ``gb18030``."""
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    body = sample.removeprefix(BOM)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(body, final=len(sample) < SAMPLE_BYTES)
    except UnicodeDecodeError:
        return FALLBACK_ENCODING
    return "utf-8-sig"


def cr_line_ends(path: Path) -> bool:
    """True when the file's lines end with ``\\r`` alone (no ``\\n`` in its first 64 KiB)."""
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    return b"\n" not in sample and b"\r" in sample


def canonical_encoding(name: str) -> str:
    """Check a user-given codec name; ``utf-8`` is read as ``utf-8-sig`` (BOM tolerated)."""
    try:
        found = codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}") from None
    plain = "utf-8" if found == "utf-8-sig" else found
    try:
        compatible = _ASCII_PROBE.encode(plain) == _ASCII_PROBE.encode("ascii")
    except (UnicodeError, LookupError):
        compatible = False
    if not compatible:
        raise ValueError(f"encoding {name!r} is not supported: use UTF-8, GBK or GB18030")
    return "utf-8-sig" if found == "utf-8" else found
