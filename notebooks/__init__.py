"""The report notebooks, installed as the package ``analysis.notebooks`` (see ``analysis.resources``).

This folder is mapped into the package by ``package-dir`` in ``pyproject.toml``; it holds no code.
"""
