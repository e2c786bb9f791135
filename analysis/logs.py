"""Logging set-up for the command line (library modules only create loggers: ``logging.getLogger(__name__)``).

What is logged, under the ``analysis`` logger:

- WARNING: a kernel that failed to start and is retried, a worker replaced after it died or hung, a failed run;
- INFO: skipped (unchanged) runs, each run's and the batch's duration, the cleaning counts (rows in, clean,
  quarantined), the cleaned data reused;
- DEBUG: per-notebook timings, kernel starts, worker starts.

``rfmkit`` shows WARNING and above by default; ``-v`` adds INFO, ``-vv`` DEBUG, ``-q`` leaves only errors.

Python warnings (``warnings.warn``) reach the terminal of a command as one line of the kit's own words,
``warning: <message>`` (:func:`show_warning`), never Python's ``path/to/file.py:204: UserWarning: …`` followed by
the source line. A warning raised by a library the kit uses (pandas, NumPy, SciPy …) is not the kit's word to a
user: it is logged at DEBUG level (``-vv``), also on one line.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from pathlib import Path
from typing import Any, TextIO

#: The package's root logger name: every module logs under it.
LOGGER = "analysis"
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%H:%M:%S"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (it may be replaced, as by click's test runner)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def level_for(verbose: int = 0, quiet: bool = False) -> int:
    """The logging level for ``-v`` given ``verbose`` times, or ``-q``: WARNING by default."""
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


# ------------------------------------------------------------------------------------------ secrets

#: ``scheme://user:password@`` in a URL (a SQLAlchemy URL, an HTTP source): the password part.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^\s/]*)(?=@)")
#: Query parameters that carry a secret (``?password=…``, ``&token=…``, ``;key=…``), case-insensitive.
_SECRET_PARAM = re.compile(
    r"(?P<head>[?&;](?:password|passwd|pwd|pass|token|access_token|refresh_token|id_token|auth|authorization|"
    r"api[_-]?key|key|secret|client_secret|sig|signature|sas|credentials?)=)(?P<secret>[^&#;\s'\"]*)",
    re.IGNORECASE,
)
REDACTED = "***"


def redact_secrets(value: object) -> object:
    """``value`` (a text, or dicts and lists of them) with the secrets of connection strings replaced by ``***``:
    the password of ``scheme://user:password@host`` and the values of ``password``, ``token``, ``key``,
    ``secret``, ``signature``… query parameters. Used for everything the kit writes: manifests, quality files,
    logs (:class:`SecretsFilter`, installed by :func:`configure_logging`) and error messages."""
    if isinstance(value, str):
        if "=" not in value and "://" not in value:
            return value
        value = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, value)
        return _SECRET_PARAM.sub(lambda m: m.group("head") + REDACTED, value)
    if isinstance(value, dict):
        return {k: redact_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_secrets(v) for v in value)
    return value


class SecretsFilter(logging.Filter):
    """A logging filter that redacts connection-string secrets (:func:`redact_secrets`) in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        clean = redact_secrets(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def configure_logging(verbose: int = 0, quiet: bool = False) -> logging.Logger:
    """Send the package's log records to standard error at the level of ``-v``/``-q``, and Python warnings as one
    line each (:func:`show_warning`), for the command line only.

    Idempotent: called again, it replaces the handler it installed rather than adding another.
    """
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level_for(verbose, quiet))
    for h in list(logger.handlers):
        if getattr(h, "_rfmkit", False):
            logger.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    handler._rfmkit = True  # type: ignore[attr-defined]
    handler.addFilter(SecretsFilter())  # no password or token of a connection string in a log line
    logger.addHandler(handler)
    capture_warnings()
    return logger


#: The package folder: warnings raised from files under it are the kit's own.
_PACKAGE_DIR = Path(__file__).resolve().parent


def warning_line(message: Warning | str) -> str:
    """A warning's text on one line (whitespace, newlines included, collapsed to single spaces)."""
    return " ".join(str(message).split())


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """:func:`warnings.showwarning` for the command line: the kit's warnings as ``warning: <text>`` on standard
    error (unless ``-q``), other libraries' at DEBUG level; one line each, no file path or source line."""
    logger = logging.getLogger(LOGGER)
    text = warning_line(message)
    try:
        own = Path(filename).resolve().is_relative_to(_PACKAGE_DIR)
    except (OSError, ValueError):
        own = False
    if not own:
        logger.debug("%s (%s)", text, category.__name__)
        return
    if logger.getEffectiveLevel() <= logging.WARNING:
        print(f"warning: {text}", file=sys.stderr if file is None else file, flush=True)


def capture_warnings() -> Any:
    """Route Python warnings through :func:`show_warning` (for the command line only; library code never changes
    how warnings are shown). Returns the previous ``showwarning``."""
    previous = warnings.showwarning
    warnings.showwarning = show_warning
    return previous
