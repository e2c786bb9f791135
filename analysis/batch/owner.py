"""Which params file an output folder belongs to, so one params file's runs never overwrite another's.

A batch writes ``<output_dir>/<period>/<region>/`` and one ``<output_dir>/index.html``. Two params files that
share an ``output_dir`` (say ``monthly.yaml`` in English and ``monthly_zh.yaml`` in Chinese with ¥) would
overwrite each other's runs and mix languages and currencies in one index. So the first batch claims the folder:
``<output_dir>/rfmkit-owner.json`` records the params file's name (its file name without ``.yaml``), language
and currency. A later batch from a params file with another name, language or currency is refused before any
work, with the fix: give it an ``output_dir`` of its own (the bundled ``monthly_zh.yaml`` writes to
``reports/monthly_zh``). Renaming a params file, or switching its language or currency, therefore needs a new
folder too (or deleting the owner file, which hands the folder over with the runs in it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from analysis.data.io import write_json
from analysis.errors import ParamsError
from analysis.params import RunParams

#: The owner file, in the output folder.
OWNER_FILE = "rfmkit-owner.json"


@dataclass(frozen=True)
class Owner:
    """A params file as the owner of an output folder: ``name`` (file name without extension), ``language``
    and ``currency`` of its reports."""

    name: str
    language: str
    currency: str

    def describe(self) -> str:
        """``'monthly' (en, $)``."""
        return f"'{self.name}' ({self.language}, {self.currency})"


def owner_of(params: RunParams, params_path: str | Path) -> Owner:
    """The owner a batch of ``params`` (read from ``params_path``) claims its output folder as."""
    return Owner(Path(params_path).stem, params.language, params.currency)


def read_owner(output_dir: str | Path) -> Owner | None:
    """The owner recorded in ``output_dir``, or None when the folder is unclaimed (or its owner file unreadable)."""
    path = Path(output_dir) / OWNER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Owner(str(data["name"]), str(data["language"]), str(data["currency"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def claim_output_dir(params: RunParams, params_path: str | Path) -> Owner:
    """Claim ``params.output_dir`` for the params file at ``params_path`` (see the module docstring).

    Raises
    ------
    ParamsError
        When the folder belongs to another params file, or to this one with another language or currency;
        the message names both and the fix.
    """
    out = Path(params.output_dir)
    me = owner_of(params, params_path)
    theirs = read_owner(out)
    if theirs is not None and theirs != me:
        raise ParamsError(
            f"{params_path}: output_dir {out} holds the reports of params {theirs.describe()}; the reports of "
            f"{me.describe()} would overwrite them and mix into one index. Give this params file an output_dir of "
            f"its own (e.g. output_dir: {out / me.name}), or delete {out / OWNER_FILE} to hand the folder over"
        )
    if theirs is None:
        write_json(asdict(me), out / OWNER_FILE)
    return me
