"""The layers contract of ``pyproject.toml`` (``[tool.importlinter]``): no upward import, no import cycle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _lint_imports() -> list[str]:
    script = Path(sys.executable).with_name("lint-imports")
    return [str(script)] if script.exists() else [shutil.which("lint-imports") or "lint-imports"]


def test_layers_and_no_cycles_hold() -> None:
    out = subprocess.run(
        [*_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_every_module_sits_in_a_layer() -> None:
    """A new top-level module or package gets a layer in the contract (else nothing checks its imports)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    named = {name.strip(" ()") for layer in layers for name in layer.replace(":", "|").split("|")}
    package = ROOT / "analysis"
    modules = {f"analysis.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    modules |= {f"analysis.{p.parent.name}" for p in package.glob("*/__init__.py")}
    assert modules - named == set(), "add these to [tool.importlinter] layers in pyproject.toml"
