"""Files the kit needs at run time, found inside the installed package (never relative to a checkout).

- the notebooks (:func:`notebooks_dir`): the top-level ``notebooks/`` folder of the repository, installed as the
  package ``analysis.notebooks`` (``package-dir`` in ``pyproject.toml``), so ``rfmkit run`` works from a wheel;
- the default playbook (``analysis/strategy/playbook.yaml``), the text catalogs (``analysis/text/*.yaml``), the report
  templates (``analysis/report/templates/``) and the bundled data (:mod:`analysis.datasets`) sit in their modules'
  folders and are shipped as package data.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_path(package: str, *parts: str) -> Path:
    """The file-system path of a resource of ``package`` (an installed folder, not a zip)."""
    return Path(str(files(package).joinpath(*parts)))


def notebooks_dir() -> Path:
    """The folder of the report notebooks shipped with the package (``01_cleaning.ipynb`` …).

    In a checkout (editable install) this is the repository's ``notebooks/`` folder itself; in an installed wheel,
    ``site-packages/analysis/notebooks``. The batch uses it when ``notebooks_dir`` is not set in the params.
    """
    return package_path("analysis.notebooks")


def resolve_notebooks_dir(configured: str | None) -> Path:
    """``notebooks_dir`` from the params when set, else the bundled notebooks (:func:`notebooks_dir`)."""
    return Path(configured) if configured else notebooks_dir()


#: Suffixes of the package files that decide what a run writes: code, catalogs and playbook (YAML), report
#: templates, their styles and script, and template configuration.
OUTPUT_SOURCE_SUFFIXES = (".py", ".yaml", ".j2", ".css", ".js", ".json")


def code_version(root: Path | None = None) -> str:
    """A hash of the package files that decide what a run writes (every file under ``analysis/`` — or ``root`` —
    whose suffix is in :data:`OUTPUT_SOURCE_SUFFIXES`: code, text catalogs, the playbook, report templates and the
    table script): a change re-cleans the data (:func:`analysis.data.store.source_key`) and re-runs reports (the
    batch's fingerprint, with the notebooks'), so a changed template or catalog never leaves an old report standing."""
    import hashlib

    from analysis import __version__

    h = hashlib.sha256(__version__.encode())
    root = root or Path(__file__).resolve().parent
    files = (p for p in root.rglob("*") if p.suffix in OUTPUT_SOURCE_SUFFIXES and "__pycache__" not in p.parts)
    for path in sorted(files):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
