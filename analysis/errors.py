"""Typed errors. Every error the kit raises on purpose derives from :class:`RfmkitError`.

Messages name the file, the column (or the customers, or the parameter) involved and the fix, so
that the command line can print them without a traceback.
"""

from __future__ import annotations


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
