"""The code version that fingerprints runs follows every package file that decides what a run writes."""

from __future__ import annotations

from pathlib import Path

from analysis.resources import code_version


def _package(root: Path) -> Path:
    (root / "report" / "templates" / "rfmkit" / "static").mkdir(parents=True)
    (root / "text").mkdir()
    (root / "stages.py").write_text("X = 1\n")
    (root / "report" / "templates" / "rfmkit" / "index.html.j2").write_text("{{ body }}")
    (root / "report" / "templates" / "rfmkit" / "static" / "tables.js").write_text("// sort\n")
    (root / "text" / "en.yaml").write_text("a: b\n")
    return root


def test_a_template_catalog_or_script_change_changes_the_version(tmp_path: Path) -> None:
    root = _package(tmp_path / "analysis")
    first = code_version(root)
    assert code_version(root) == first  # stable
    for name, text in [
        ("report/templates/rfmkit/index.html.j2", "<p>{{ body }}</p>"),
        ("report/templates/rfmkit/static/tables.js", "// sort and filter\n"),
        ("text/en.yaml", "a: c\n"),
        ("stages.py", "X = 2\n"),
    ]:
        before = code_version(root)
        (root / name).write_text(text)
        assert code_version(root) != before, name


def test_files_that_cannot_change_an_output_do_not_count(tmp_path: Path) -> None:
    root = _package(tmp_path / "analysis")
    first = code_version(root)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "stages.cpython-311.pyc").write_bytes(b"\0")
    (root / "notes.txt").write_text("scratch")
    assert code_version(root) == first


def test_the_package_version_is_a_short_hash() -> None:
    version = code_version()
    assert len(version) == 16 and int(version, 16) >= 0
