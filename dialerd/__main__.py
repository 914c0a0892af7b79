"""``python -m dialerd``: the same entry point as the ``dialerd`` script."""

from __future__ import annotations

from dialerd.cli import main

main()
