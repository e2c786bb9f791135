"""Typed errors. Every error the kit raises on purpose derives from :class:`RfmkitError`.

Messages name the file, the column (or the customers, or the parameter) involved and the fix, so
that the command line can print them without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RfmkitError(Exception):
    """Root of every error raised on purpose by rfmkit."""


class InputError(RfmkitError, ValueError):
    """The input data cannot be used as it is (missing column, unreadable file, wrong type)."""


class MissingColumnError(InputError):
    """A required canonical column is missing after the column mapping was applied."""


class ParamsError(RfmkitError, ValueError):
    """A parameter file or value is invalid (unknown key, wrong type, out of range)."""


class SegmentRuleError(ParamsError):
    """A segment rule set does not cover every (R, F, M) score combination exactly once."""


class PlaybookError(ParamsError):
    """A strategy playbook names unknown segments or fields."""


class ModelError(RfmkitError, ValueError):
    """A model cannot be fitted or used on the data given (not identifiable, not converged)."""


class NotFittedError(ModelError, AttributeError):
    """An estimator was used before ``fit`` was called."""


class BatchError(RfmkitError, RuntimeError):
    """One or more runs of a batch failed; the message summarises which and why."""


def format_validation_error(err: Any, origin: str, what: str, unknown_key: str, known: Sequence[str] = ()) -> str:
    """One message for a pydantic ``ValidationError``: every problem on its own line, named by its key path.

    Parameters
    ----------
    err : pydantic.ValidationError
        The error raised by ``model_validate``.
    origin : str
        What was validated (a file name, ``parameters``, ``option``): the message starts with it.
    what : str
        The kind of thing, e.g. ``parameters`` or ``playbook``: ``"<origin>: invalid <what>:"``.
    unknown_key : str
        The message for a key the model does not know (``extra="forbid"``), saying how to fix it.
    known : sequence of str, optional
        Problems already found by the caller, listed first; a model-level message repeating one is left out.

    Returns
    -------
    str
        ``"<origin>: invalid <what>:"`` followed by ``"  - <key.path>: <problem>"`` lines.
    """
    lines = [f"{origin}: invalid {what}:"] + [f"  - {m}" for m in known]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = unknown_key if e["type"] == "extra_forbidden" else str(e["msg"]).removeprefix("Value error, ")
        parts = [m for m in msg.split("\n") if m.strip() and m not in known] if not loc else [msg]
        lines.extend(f"  - {loc + ': ' if loc else ''}{m}" for m in parts)
    return "\n".join(lines)
