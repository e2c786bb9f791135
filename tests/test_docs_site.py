"""The documentation: the README stays short and its links resolve; the docs/ site builds with no broken link."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_MAX_BYTES = 15 * 1024

# [text](target) and ![alt](target), the target up to a space (an optional "title") or the closing parenthesis
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def _relative_targets(markdown: str) -> list[str]:
    """Link and image targets outside code that point into the repository (no scheme, no bare anchor)."""
    text = CODE.sub("", markdown)
    targets = [m.group(1) for m in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def test_readme_is_short_and_starts_with_the_two_commands() -> None:
    raw = README.read_bytes()
    assert len(raw) <= README_MAX_BYTES, f"README.md is {len(raw):,} bytes; move detail into docs/ (limit 15 KB)"
    first_block = re.search(r"```[a-z]*\n(.*?)```", raw.decode("utf-8"), re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands[:2] == ["make report", "make test"]


def test_readme_relative_links_exist() -> None:
    targets = _relative_targets(README.read_text(encoding="utf-8"))
    assert targets, "the README links to docs/ pages"
    missing = [t for t in targets if not (ROOT / t.split("#")[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_readme_architecture_picture_is_the_one_in_docs() -> None:
    """One picture: the README shows docs/architecture.md's, so the two cannot drift apart."""

    def picture(path: Path, after: str) -> str:
        text = path.read_text(encoding="utf-8")
        return re.search(r"```\n(.*?)```", text[text.index(after) :], re.S).group(1)

    assert picture(README, "## Architecture") == picture(ROOT / "docs" / "architecture.md", "# Architecture")


def test_link_check_finds_a_broken_link() -> None:
    """The README checker sees links and images but not code spans or web addresses."""
    text = "see [a](docs/a.md#x), ![b](docs/b.png), `[c](nope.md)`, [d](https://example.org), [e](#top)"
    assert _relative_targets(text) == ["docs/a.md#x", "docs/b.png"]


def test_every_docs_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav_files = {next(iter(entry.values())) for entry in config["nav"]}
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages <= nav_files, f"pages left out of mkdocs.yml's nav: {sorted(pages - nav_files)}"
    assert nav_files <= pages, f"nav entries without a file: {sorted(nav_files - pages)}"


def test_docs_site_builds_strict(tmp_path: Path) -> None:
    """`mkdocs build --strict` fails on a link to a missing page or anchor, or on a page left out of the nav."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "benchmarks.html").exists()
