"""A compact set of 64-bit keys, for duplicate checks over a whole campaign.

A Python ``set`` of a million ints costs about 100 MB (an int object plus a hash
slot each); this open-addressing table in an ``array('q')`` costs 8 bytes per slot,
at most half full: 16-32 MB per million keys.

Numbers are keyed exactly by the int of their E.164 digits. External ids are keyed
by their 64-bit string hash (:func:`text_key`): two different ids share a key with
probability about n²/2⁶⁵ (3·10⁻⁸ for a million ids). A hit against the campaign's
ids is confirmed in the database; a collision inside one file shows up as a
duplicate in the rejects file, never as a silent loss.
"""

from __future__ import annotations

from array import array

_MIN_SLOTS = 1024
_MAX_FILL = 0.5


def text_key(text: str) -> int:
    """A non-zero 64-bit key for a string (stable within one process)."""
    return hash(text) or 1


class KeySet:
    """Non-zero signed 64-bit ints; ``add`` tells whether the key was new."""

    def __init__(self, expected: int = 0) -> None:
        slots = _MIN_SLOTS
        while slots * _MAX_FILL < expected:
            slots *= 2
        self._table = array("q", bytes(8 * slots))
        self._mask = slots - 1
        self._count = 0
        self._limit = int(slots * _MAX_FILL)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: int) -> bool:
        table, mask = self._table, self._mask
        i = (key ^ (key >> 23)) & mask
        while True:
            found = table[i]
            if found == key:
                return True
            if found == 0:
                return False
            i = (i + 1) & mask

    def add(self, key: int) -> bool:
        """Insert ``key`` (non-zero); False when it was already there."""
        if key == 0:
            raise ValueError("KeySet keys must be non-zero")
        table, mask = self._table, self._mask
        i = (key ^ (key >> 23)) & mask
        while True:
            found = table[i]
            if found == key:
                return False
            if found == 0:
                table[i] = key
                self._count += 1
                if self._count > self._limit:
                    self._grow()
                return True
            i = (i + 1) & mask

    def _grow(self) -> None:
        old = self._table
        slots = len(old) * 2
        self._table = array("q", bytes(8 * slots))
        self._mask = slots - 1
        self._limit = int(slots * _MAX_FILL)
        self._count = 0
        for key in old:
            if key:
                self.add(key)
