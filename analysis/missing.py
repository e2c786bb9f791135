"""A result that was not computed for a good reason, with that reason.

A stage result that cannot be computed (clustering off, too few customers, CLV not identifiable, no previous
period, a comparison window before the data starts) is a :class:`Missing` value with a ``run.missing.*`` catalog
key, which the notebook shows; it is never a missing file that a later step trips over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Missing:
    """An optional result that was not computed, with the reason (a ``run.missing.*`` catalog key).

    A notebook asks ``ctx.has(result)`` (an optional result may be a DataFrame, whose truth is ambiguous) and shows
    ``ctx.note(result)`` otherwise; ``reason(language)`` is the sentence.
    """

    key: str
    values: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return False

    def reason(self, language: str) -> str:
        """The reason in ``language``."""
        from analysis.text import t

        return t(f"run.missing.{self.key}", language, **self.values)
