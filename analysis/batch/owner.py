"""Which params file an output folder belongs to, so one params file's runs never overwrite another's.

A batch writes ``<output_dir>/<period>/<region>/`` and one ``<output_dir>/index.html``. Two params files that
share an ``output_dir`` (say ``monthly.yaml`` in English and ``monthly_zh.yaml`` in Chinese with ¥, or two teams'
``monthly.yaml`` in two folders) would overwrite each other's runs and mix them in one index. So the first batch
claims the folder: ``<output_dir>/rfmkit-owner.json`` records the owner's identity — the params file's resolved
path and a random id made at the claim — with its name, language and currency. A later batch from any other params
file (another path, even with the same file name), or from this one with another language or currency, is refused
before any work, with a message naming both params files and the fix: give it an ``output_dir`` of its own (the
bundled ``monthly_zh.yaml`` writes to ``reports/monthly_zh``), or delete the owner file to hand the folder over with
the runs in it. Moving a params file therefore needs the owner file deleted too (its runs then belong to it).

An owner file written before the identity was recorded (name, language, currency only) is taken over by the first
params file of that name, language and currency, which records its identity.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from analysis.data.io import write_json
from analysis.errors import ParamsError
from analysis.params import RunParams

#: The owner file, in the output folder.
OWNER_FILE = "rfmkit-owner.json"


@dataclass(frozen=True)
class Owner:
    """A params file as the owner of an output folder: ``params`` (its resolved path), ``id`` (random, made when it
    claimed the folder; empty in an owner file written before identities), ``name`` (file name without
    extension), ``language`` and ``currency`` of its reports."""

    name: str
    language: str
    currency: str
    params: str = ""
    id: str = ""

    def describe(self) -> str:
        """``'monthly' (en, $) from /path/monthly.yaml``."""
        where = f" from {self.params}" if self.params else ""
        return f"'{self.name}' ({self.language}, {self.currency}){where}"

    def same_params(self, other: Owner) -> bool:
        """Whether ``other`` is the same params file (by resolved path; by name for an owner file without one)."""
        if self.params and other.params:
            return self.params == other.params
        return self.name == other.name


def owner_of(params: RunParams, params_path: str | Path) -> Owner:
    """The owner a batch of ``params`` (read from ``params_path``) claims its output folder as (no id yet)."""
    path = Path(params_path).expanduser().resolve()
    return Owner(path.stem, params.language, params.currency, str(path))


def read_owner(output_dir: str | Path) -> Owner | None:
    """The owner recorded in ``output_dir``, or None when the folder is unclaimed (or its owner file unreadable)."""
    path = Path(output_dir) / OWNER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Owner(
            str(data["name"]),
            str(data["language"]),
            str(data["currency"]),
            str(data.get("params") or ""),
            str(data.get("id") or ""),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def claim_output_dir(params: RunParams, params_path: str | Path) -> Owner:
    """Claim ``params.output_dir`` for the params file at ``params_path`` (see the module docstring).

    Returns
    -------
    Owner
        The folder's owner, with its identity (``params``, ``id``) as recorded in the owner file.

    Raises
    ------
    ParamsError
        When the folder belongs to another params file (another path, whatever its name), or to this one with
        another language or currency; the message names both and the fix.
    """
    out = Path(params.output_dir)
    me = owner_of(params, params_path)
    theirs = read_owner(out)
    if theirs is not None and not theirs.same_params(me):
        same_name = " (a params file of the same name, in another place)" if theirs.name == me.name else ""
        raise ParamsError(
            f"{me.params}: output_dir {out} holds the reports of params {theirs.describe()}{same_name}; the reports "
            f"of {me.describe()} would overwrite them and mix into one index. Give this params file an output_dir of "
            f"its own (e.g. output_dir: {out / me.name}), or delete {out / OWNER_FILE} to hand the folder over"
        )
    if theirs is not None and (theirs.language, theirs.currency) != (me.language, me.currency):
        raise ParamsError(
            f"{me.params}: output_dir {out} holds the reports of params {theirs.describe()}; with "
            f"{me.language}, {me.currency} its reports would mix languages or currencies in one index. Give it an "
            f"output_dir of its own (e.g. output_dir: {out / (me.name + '_' + me.language)}), or delete "
            f"{out / OWNER_FILE} to hand the folder over"
        )
    if theirs is not None and theirs.params and theirs.id:
        return theirs
    claimed = Owner(me.name, me.language, me.currency, me.params, secrets.token_hex(8))
    write_json(
        {"name": claimed.name, "language": claimed.language, "currency": claimed.currency,
         "params": claimed.params, "id": claimed.id},
        out / OWNER_FILE,
    )  # fmt: skip
    return claimed
