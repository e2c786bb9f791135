"""The batch: every period × region of a params file through the notebooks (:mod:`analysis.batch.runner`).

Importing this package keeps ``jsonschema`` (imported by ``nbformat`` in the batch's parent and in every worker)
from importing ``rfc3987_syntax`` when that optional package is installed (``jsonschema[format-nongpl]``, which
Jupyter installs): it builds a Lark grammar at import, ~4 CPU seconds per process, only to check the ``iri`` string
format, which no notebook schema uses. Without it ``jsonschema`` skips that one format check; nothing else changes.
"""

import sys

if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # an import of it raises ImportError
