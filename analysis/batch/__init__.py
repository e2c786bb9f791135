"""The batch: every period × region of a params file through the notebooks (:mod:`analysis.batch.runner`)."""

from __future__ import annotations

import sys


def import_jsonschema_without_iri_grammar() -> None:
    """Import ``jsonschema`` (which ``nbformat`` imports) without its optional ``rfc3987_syntax`` support.

    When ``jsonschema[format-nongpl]`` is installed (Jupyter installs it), importing ``jsonschema`` builds a Lark
    grammar for the ``iri`` string format: about a CPU second in every process that imports ``nbformat`` (importing
    :mod:`analysis.batch.runner` costs 1.7 CPU s with it, 0.6 without), for a format no notebook schema uses. The
    batch's parent and its workers call this before importing ``nbformat`` (:mod:`analysis.batch.runner`,
    :mod:`analysis.batch.kernels`); ``jsonschema`` then skips that one format check in those processes. The block is
    lifted right after the import, so a later ``import rfc3987_syntax`` still works; notebook kernels and other
    importers of :mod:`analysis` are not affected.
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import jsonschema  # noqa: F401
    finally:
        if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
            del sys.modules["rfc3987_syntax"]
