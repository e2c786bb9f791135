"""The screenshots in the README and docs/ exist, are the ones scripts/screenshots.py took from a real batch, and were
taken with the report template as it is now (docs/screenshots.json records the template's fingerprint)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "docs" / "screenshots.json"
REFRESH = "run `make screenshots` (python scripts/screenshots.py) and commit docs/*.png and docs/screenshots.json"


def _script():
    spec = importlib.util.spec_from_file_location("rfmkit_screenshots", ROOT / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _manifest() -> dict:
    assert MANIFEST.exists(), f"no {MANIFEST.relative_to(ROOT)}: {REFRESH}"
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def test_screenshots_were_taken_with_the_current_report_template() -> None:
    script = _script()
    manifest = _manifest()
    now = [p.relative_to(ROOT).as_posix() for p in script.template_files()]
    changed = sorted(set(now) ^ set(manifest["template_files"]))
    assert not changed, f"template files added or removed since the screenshots: {changed}; {REFRESH}"
    assert manifest["template_sha256"] == script.template_fingerprint(), (
        f"the report template (analysis/report/templates/) changed after the screenshots were taken; {REFRESH}"
    )


def test_each_screenshot_is_the_captured_image() -> None:
    manifest = _manifest()
    assert {image["file"] for image in manifest["images"]} >= {"report.png", "index.png", "closing_the_loop.png"}
    for image in manifest["images"]:
        path = ROOT / "docs" / image["file"]
        assert path.exists(), f"docs/{image['file']} is missing; {REFRESH}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == image["sha256"], (
            f"docs/{image['file']} is not the image scripts/screenshots.py captured; {REFRESH}"
        )
        with Image.open(path) as im:
            assert list(im.size) == image["size"]
            assert im.size[0] >= 800 and im.size[1] >= 400


def test_every_screenshot_shown_is_checked() -> None:
    """Each PNG the README or a docs page shows is in the manifest, so none can go stale unseen."""
    checked = {image["file"] for image in _manifest()["images"]}
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    shown = set()
    for page in pages:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", page.read_text(encoding="utf-8")):
            shown.add((page.parent / target).resolve().relative_to(ROOT / "docs").as_posix())
    assert "report.png" in shown  # the README's screenshot
    assert shown <= checked, f"screenshots shown but not captured by scripts/screenshots.py: {sorted(shown - checked)}"


def test_the_fingerprint_follows_every_template_file(tmp_path: Path, monkeypatch) -> None:
    script = _script()
    (tmp_path / "rfmkit" / "static").mkdir(parents=True)
    (tmp_path / "rfmkit" / "static" / "report.css").write_text("body {}")
    (tmp_path / "index.html.j2").write_text("{{ x }}")
    monkeypatch.setattr(script, "TEMPLATES", tmp_path)
    before = script.template_fingerprint()
    (tmp_path / "rfmkit" / "static" / "report.css").write_text("body { color: red }")
    assert script.template_fingerprint() != before
    (tmp_path / "rfmkit" / "static" / "report.css").write_text("body {}")
    assert script.template_fingerprint() == before
    (tmp_path / "rfmkit" / "static" / "tables.js").write_text("")
    assert script.template_fingerprint() != before
