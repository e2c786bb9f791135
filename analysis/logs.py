"""Logging set-up for the command line (library modules only create loggers: ``logging.getLogger(__name__)``).

What is logged, under the ``analysis`` logger:

- WARNING: a kernel that failed to start and is retried, a worker replaced after it died or hung, a failed run;
- INFO: skipped (unchanged) runs, each run's and the batch's duration, the cleaning counts (rows in, clean,
  quarantined), the cleaned data reused;
- DEBUG: per-notebook timings, kernel starts, worker starts.

``rfmkit`` shows WARNING and above by default; ``-v`` adds INFO, ``-vv`` DEBUG, ``-q`` leaves only errors.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

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


def configure_logging(verbose: int = 0, quiet: bool = False) -> logging.Logger:
    """Send the package's log records to standard error at the level of ``-v``/``-q`` (for the command line only).

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
    logger.addHandler(handler)
    return logger
