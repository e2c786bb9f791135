"""Folder names for runs: distinct regions always get distinct folders.

The all-regions run lives in ``all`` (reserved). A region whose name is already a plain folder name (letters, digits,
``.``, ``-``, ``_``, not starting with ``.`` or ``_``, not a reserved or Windows device name) keeps it: ``North`` →
``North``. Any other name becomes a slug plus ``~`` and six hex characters of its SHA-256: ``a/b`` → ``a_b~c1f0e2``,
``a b`` → ``a_b~6c4e11``, a region literally named ``all`` → ``all~…``. Plain names never contain ``~``, so a plain
name can never equal a hashed one, and two hashed names differ unless their SHA-256 prefixes do.
"""

from __future__ import annotations

import hashlib
import re

ALL_FOLDER = "all"
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_RESERVED = {
    ALL_FOLDER,
    "index.html",
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


def region_folder(region: str, *, all_regions: bool = False) -> str:
    """The folder name of a run's region (``all`` for the all-regions run); see the module docstring."""
    if all_regions:
        return ALL_FOLDER
    name = str(region)
    if _PLAIN.match(name) and name.lower() not in _RESERVED:
        return name
    slug = re.sub(r"[^\w.-]+", "_", name, flags=re.ASCII).strip("._")[:40] or "region"
    return f"{slug}~{hashlib.sha256(name.encode('utf-8')).hexdigest()[:6]}"
