"""Carrier names as ``phonenumbers`` gives them (``"China Mobile"``), for checking rules."""

from __future__ import annotations

from functools import cache

import phonenumbers
from phonenumbers.carrierdata import CARRIER_DATA


@cache
def all_carrier_names() -> frozenset[str]:
    """Every English carrier name, case-folded (about 0.1 s, once per process)."""
    return frozenset(names["en"].casefold() for names in CARRIER_DATA.values() if names.get("en"))


@cache
def region_carrier_names(region: str) -> tuple[str, ...]:
    """The English carrier names of one region's country code, e.g. CN → China Mobile..."""
    code = str(phonenumbers.country_code_for_region(region))
    return tuple(
        sorted(
            {
                n["en"]
                for prefix, n in CARRIER_DATA.items()
                if prefix.startswith(code) and n.get("en")
            }
        )
    )
