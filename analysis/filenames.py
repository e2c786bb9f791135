"""File names the kit makes from people's text (region folders, one CRM list per action): the names no file may
have on some system. The one list of them.

Windows refuses a file or folder named after a device — ``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM0``–``COM9``,
``LPT0``–``LPT9`` — in any letter case and with any extension (``con.csv``, ``Nul.North``): a run folder or a CRM
list of that name could not be copied to a Windows share or unzipped there.
"""

from __future__ import annotations

#: Windows device names (lower case); reserved with any extension too.
DEVICE_NAMES: frozenset[str] = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)


def is_device_name(name: str) -> bool:
    """Whether ``name`` (a file or folder name) is a Windows device name, in any case, with or without an extension:
    ``CON``, ``con.csv`` and ``Lpt1.txt`` are; ``console`` and ``com10`` are not."""
    return str(name).split(".", 1)[0].strip().lower() in DEVICE_NAMES
