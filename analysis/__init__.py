"""rfmkit: customer-value analysis from a raw transaction log.

The import package is ``analysis``; the distribution and the command are ``rfmkit``.
"""

from __future__ import annotations

__version__ = "0.1.0"
