"""Pseudonymous customer ids for reports.

Reports travel by e-mail and file share, so by default they show a *pseudonym* instead of a customer's raw id: a
keyed hash, HMAC-SHA256(key, id), written as ``c-`` plus 12 base-32 characters (60 bits: for a million customers the
chance that any two share a pseudonym is about 1 in 2 million). The same key gives the same pseudonym in every
report, so a manager can follow a customer across months, and the CRM action lists carry both the real id and the
pseudonym, so a report row can be matched to a list row by whoever holds the lists. Without the key, a pseudonym
cannot be turned back into an id, nor can an id be checked against it.

The key comes from, in order: the environment variable ``RFMKIT_PSEUDONYM_KEY`` (the key itself, at least 16
characters), the file named by ``privacy.key_file`` in the params, or a key file the kit makes on first use in the
user's configuration folder (``$XDG_CONFIG_HOME/rfmkit/pseudonym.key``, else ``~/.config/rfmkit/pseudonym.key``,
mode 0600) — never inside ``reports/``. The key is never written into a report, a manifest or a log; only the
*source* of the key is (``key_source``). ``privacy.show_customer_ids: true`` shows raw ids instead.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import ParamsError

log = logging.getLogger(__name__)

KEY_ENV = "RFMKIT_PSEUDONYM_KEY"
PREFIX = "c-"
LENGTH = 12  # base-32 characters: 60 bits
MIN_KEY_BYTES = 16


def default_key_file() -> Path:
    """Where the kit keeps the key it makes when none is given (outside any report folder)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rfmkit" / "pseudonym.key"


@dataclass(frozen=True)
class PseudonymKey:
    """A secret key and where it came from (``env:RFMKIT_PSEUDONYM_KEY``, ``file:<path>``); only the source is shown."""

    secret: bytes
    source: str

    def __repr__(self) -> str:  # never print the secret
        return f"PseudonymKey(source={self.source!r})"


def _read_key_file(path: Path, origin: str) -> bytes:
    try:
        secret = path.read_bytes().strip()
    except OSError as err:
        raise ParamsError(
            f"{origin}: cannot read the pseudonym key file {path} ({err.strerror}); "
            f"point privacy.key_file at a readable file or set {KEY_ENV}"
        ) from None
    if len(secret) < MIN_KEY_BYTES:
        raise ParamsError(
            f"{path}: the pseudonym key is shorter than {MIN_KEY_BYTES} bytes; put a longer random key in it "
            f'(e.g. python -c "import secrets; print(secrets.token_hex(32))" > {path})'
        )
    return secret


def _make_key_file(path: Path) -> None:
    """Make a random key file (mode 0600) atomically: complete or absent, and never over an existing key.

    Kernels of one batch may all look for the key at once; the first link wins and the others read its key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return
        log.warning("made a new pseudonym key in %s (keep it: the same key gives the same pseudonyms)", path)
    finally:
        tmp.unlink(missing_ok=True)


def load_key(key_file: str | Path | None = None, *, create: bool = True) -> PseudonymKey:
    """The pseudonym key: from the environment, the given key file, or the kit's own key file (made when missing)."""
    env = os.environ.get(KEY_ENV)
    if env:
        if len(env.encode()) < MIN_KEY_BYTES:
            raise ParamsError(f"{KEY_ENV} is shorter than {MIN_KEY_BYTES} characters; set a longer random key")
        return PseudonymKey(env.encode(), f"env:{KEY_ENV}")
    if key_file:
        path = Path(key_file).expanduser()
        return PseudonymKey(_read_key_file(path, "privacy.key_file"), f"file:{path}")
    path = default_key_file()
    if not path.exists():
        if not create:
            raise ParamsError(f"no pseudonym key: set {KEY_ENV} or privacy.key_file")
        _make_key_file(path)
    return PseudonymKey(_read_key_file(path, str(path)), f"file:{path}")


def key_id(key: PseudonymKey) -> str:
    """A short name of the key that tells keys apart without revealing them (the HMAC of a fixed text): the batch's
    fingerprints include it, so a new key re-runs the reports."""
    return hmac.new(key.secret, b"rfmkit pseudonym key id", hashlib.sha256).hexdigest()[:12]


def pseudonym(customer_id: object, key: PseudonymKey) -> str:
    """The pseudonym of one id: ``c-`` + 12 base-32 characters of HMAC-SHA256(key, id as UTF-8 text)."""
    digest = hmac.new(key.secret, str(customer_id).encode("utf-8"), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest[:10]).decode("ascii").lower()[:LENGTH]


def pseudonyms(ids: pd.Series | pd.Index, key: PseudonymKey) -> pd.Series:
    """Pseudonyms for many ids, as a Series aligned with ``ids`` (computed once per distinct id)."""
    values = pd.Series(ids.to_numpy(), index=ids if isinstance(ids, pd.Index) else ids.index)
    distinct = pd.unique(values.astype(str))
    lookup = {v: pseudonym(v, key) for v in distinct}
    return values.astype(str).map(lookup).rename("customer")


def display_ids(frame: pd.DataFrame, key: PseudonymKey | None, show_raw: bool = False) -> pd.DataFrame:
    """``frame`` (indexed by ``customer_id``, or with that column) with ids replaced by pseudonyms for display.

    With ``show_raw`` (params ``privacy.show_customer_ids: true``) the frame is returned unchanged. The index or column
    is renamed ``customer`` so nobody mistakes a pseudonym for an id in the source system.
    """
    if show_raw:
        return frame
    if key is None:
        raise ParamsError("pseudonymous ids need a key; see analysis.privacy.load_key")
    out = frame.copy()
    if out.index.name == "customer_id":
        out.index = pd.Index(pseudonyms(out.index, key).to_numpy(), name="customer")
    if "customer_id" in out.columns:
        out["customer_id"] = pseudonyms(out["customer_id"], key).to_numpy()
        out = out.rename(columns={"customer_id": "customer"})
    return out


#: A Python string literal as ``repr`` writes one (how error messages list ids: ``(e.g. ['a', "b'c"])``).
_QUOTED = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")


def redact_ids(message: str, ids: Iterable[object], key: PseudonymKey | None = None) -> str:
    """``message`` with every customer id it quotes replaced by its pseudonym (or ``(a customer)`` without a key).

    Model and error messages list example ids as Python literals (``e.g. ['C1', 'C2']``); a message that reaches a
    report, a manifest or a log must not carry them (issue 19). Every quoted literal of the message whose value is
    one of ``ids`` is replaced; other text (column names, numbers) stays.
    """
    if "'" not in message and '"' not in message:
        return message  # no quoted literal: nothing to look up
    known = {str(i) for i in ids}
    if not known:
        return message

    def sub(m: re.Match[str]) -> str:
        try:
            value = ast.literal_eval(m.group(0))
        except (ValueError, SyntaxError):
            return m.group(0)
        if not isinstance(value, str) or value not in known:
            return m.group(0)
        return pseudonym(value, key) if key is not None else "(a customer)"

    return _QUOTED.sub(sub, message)


def public_message(err: BaseException | str, ids: Iterable[object], key_file: str | None = None) -> str:
    """The text of ``err`` as a report, a manifest or a log may show it: customer ids as pseudonyms
    (:func:`redact_ids`; the key as :func:`load_key` finds it, without making one)."""
    try:
        key: PseudonymKey | None = load_key(key_file, create=False)
    except ParamsError:
        key = None
    return redact_ids(str(err), ids, key)


#: Columns of raw rows (``quarantine.csv``) the kit adds: always shown.
_BOOKKEEPING = ("row_id", "reason")


def report_columns(
    columns: Iterable[object],
    mapping: dict[str, str] | None = None,
    show_columns: Iterable[str] = (),
    canonical: Iterable[str] = (),
) -> tuple[list[str], list[str]]:
    """Which columns of raw input rows a report may show, and which it must not: ``(shown, hidden)``.

    Shown: the kit's bookkeeping (``row_id``, ``reason``), the columns the analysis uses (mapped to a canonical
    column in ``columns:``, or named like one) and those listed in ``privacy.show_columns``. Hidden: every other
    column (an e-mail, a name, a phone number the export happened to carry) — a report names them, never shows
    their values. The customer id column is shown as pseudonyms (:func:`display_ids`). ``canonical``: the
    canonical column names (``analysis.params.CANONICAL_COLUMNS``), used when a column is named like one.
    """
    mapping = dict(mapping or {})
    used = set(mapping.values()) | {c for c in canonical if c not in mapping}
    allowed = used | set(_BOOKKEEPING) | {str(c) for c in show_columns}
    names = [str(c) for c in columns]
    return [c for c in names if c in allowed], [c for c in names if c not in allowed]
