"""AMI sessions recorded from a real Asterisk 22.10.1, shipped as package data.

A recording ``NAME`` is three files: ``NAME.txt`` (every byte received, CRLF
kept), ``NAME.sent.txt`` (every byte sent) and ``NAME.timing.json`` (each socket
read and write as ``[t_seconds, "recv"|"sent", offset, length]``). The
agent-queue recordings are ``queue/NAME``. ``README.md`` beside them says how
they were made and what each one shows; ``manager.conf``, ``extensions.conf``,
``amd.conf`` and ``queue/queues.conf`` are the configuration they were recorded
with. Read them only through this module (``importlib.resources``), never by path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["QUEUE", "Chunk", "Transcript", "load", "names", "read_bytes", "read_text"]

QUEUE = "queue"  # the folder of the agent-queue recordings
_TIMING = ".timing.json"


@dataclass(frozen=True, slots=True)
class Chunk:
    """One socket read (``recv``) or write (``sent``) of a recording."""

    at_s: float
    direction: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Transcript:
    """One recorded AMI session: what was received, what was sent, and when."""

    name: str
    received: bytes
    sent: bytes
    chunks: tuple[Chunk, ...]

    def data(self, chunk: Chunk) -> bytes:
        """The bytes one chunk read or wrote."""
        source = self.received if chunk.direction == "recv" else self.sent
        return source[chunk.offset : chunk.offset + chunk.length]


def _file(filename: str) -> Traversable:
    node = resources.files(__name__)
    for part in filename.split("/"):
        node = node.joinpath(part)
    return node


def read_bytes(filename: str) -> bytes:
    """A file beside the recordings: ``"busy.txt"``, ``"amd.conf"``, ``"queue/queues.conf"``."""
    return _file(filename).read_bytes()


def read_text(filename: str) -> str:
    """A file of the recordings as text (UTF-8)."""
    return read_bytes(filename).decode("utf-8")


def names(folder: str = "") -> list[str]:
    """The recordings in ``folder`` ("" or :data:`QUEUE`), sorted; queue ones as ``queue/NAME``."""
    prefix = f"{folder}/" if folder else ""
    entries = _file(folder).iterdir() if folder else resources.files(__name__).iterdir()
    return sorted(prefix + e.name[: -len(_TIMING)] for e in entries if e.name.endswith(_TIMING))


@cache
def load(name: str) -> Transcript:
    """One recording by name (``"busy"``, ``"queue/queue-status"``); read once per process."""
    chunks = json.loads(read_bytes(name + _TIMING))["chunks"]
    return Transcript(
        name=name,
        received=read_bytes(f"{name}.txt"),
        sent=read_bytes(f"{name}.sent.txt"),
        chunks=tuple(Chunk(float(t), str(d), int(o), int(n)) for t, d, o, n in chunks),
    )
