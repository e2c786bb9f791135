"""Screenshots for the README and docs/, taken from a real batch in Debian's chromium (Playwright), as the browser
tests open the reports.

    python scripts/screenshots.py            # or: make screenshots

runs the `make report` batch (params/monthly.yaml, every run re-rendered with --force) into a fresh folder as a user
closes the loop (the months before the last; `rfmkit confirm-actions` for the month before the last, whose lists were
sent; then the last month, which measures them), opens the index and the latest month's all-regions report at
1280×800 in Debian's chromium and writes

    docs/report.png             the report's first screen
    docs/index.png              the index page's first screen
    docs/closing_the_loop.png   the section "Did last period's actions work?"
    docs/screenshots.json       what was captured: the fingerprint of the report template at capture time, each
                                image's sha256, page and viewport, the run's period and the code's version

tests/test_screenshots.py fails when an image is missing or was replaced by hand (its sha256 differs from the
manifest's), or when the report template (every file under analysis/report/templates/) has changed since the capture:
then run this script again. See docs/testing.md ("Screenshots").
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "analysis" / "report" / "templates"
DOCS = ROOT / "docs"
MANIFEST = DOCS / "screenshots.json"
VIEWPORT = {"width": 1280, "height": 800}
# the heading of notebooks/04_strategy.py's section on the previous period's actions (an English report)
LOOP_TITLE = "Did last period's actions work?"


def template_files() -> list[Path]:
    """Every file of the report template (the nbconvert template, its CSS and scripts, the index templates)."""
    return sorted(p for p in TEMPLATES.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def template_fingerprint() -> str:
    """sha256 over the template files' paths and contents: changes when any file under the templates changes."""
    h = hashlib.sha256()
    for path in template_files():
        h.update(path.relative_to(TEMPLATES).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


PATH_KEYS = {"path", "playbook", "key_file", "notebooks_dir"}


def _absolute_paths(node: Any, here: Path) -> Any:
    """The params with every relative file path made absolute against the params file's folder."""
    if isinstance(node, dict):
        return {
            k: str((here / v).resolve())
            if k in PATH_KEYS and isinstance(v, str) and v and not Path(v).is_absolute()
            else _absolute_paths(v, here)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolute_paths(v, here) for v in node]
    return node


def _batch(params_path: Path, work: Path, jobs: int | None, rfmkit: Path) -> tuple[Path, list[str]]:
    """Run the batch of ``params_path`` into ``work/reports``, every run rendered now, as a user closes the loop: the
    months before the last, then ``rfmkit confirm-actions`` for the month before the last (its CRM lists were sent),
    then the last month, which measures them. Returns the reports folder and the commands run."""
    import pandas as pd
    import yaml

    params = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params = _absolute_paths(params, params_path.resolve().parent)
    params["output_dir"] = str(work / "reports")
    copy = work / params_path.name
    copy.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8")
    months = pd.period_range(str(params["periods"]["start"])[:7], str(params["periods"]["end"])[:7], freq="M")
    run = [str(rfmkit), "run", str(copy), "--force", "--no-progress", *(["--jobs", str(jobs)] if jobs else [])]
    steps = [[*run, "--period", str(months[-1])]]
    if len(months) > 1:
        before = f"{months[0]}..{months[-2]}" if len(months) > 2 else str(months[0])
        confirm = [str(rfmkit), "confirm-actions", str(copy), "--period", str(months[-2])]
        steps = [[*run, "--period", before], confirm, *steps]
    for cmd in steps:
        print("==>", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    shown = [" ".join(["rfmkit", *cmd[1:]]).replace(str(copy), params_path.name) for cmd in steps]
    return work / "reports", shown


def _latest_report(reports: Path) -> Path:
    periods = sorted(p for p in reports.iterdir() if p.is_dir() and p.name[:2] == "20")
    report = periods[-1] / "all" / "report.html"
    if not report.exists():
        raise SystemExit(f"error: no all-regions report in {periods[-1]}: set include_all_regions: true")
    return report


def _save_png(png: bytes, path: Path) -> None:
    """Write a screenshot as an 8-bit palette PNG (a fraction of the size; the text stays sharp)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def _capture(reports: Path, out: Path) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))  # the one browser set-up, shared with the browser tests
    from tests.browser import launch_chromium

    report = _latest_report(reports)
    images: list[dict[str, Any]] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport=VIEWPORT)

        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        _save_png(page.screenshot(full_page=False), out / "report.png")
        images.append(_entry(out / "report.png", reports, report, "the report's first screen"))

        page.goto((reports / "index.html").as_uri())
        page.wait_for_load_state("load")
        _save_png(page.screenshot(full_page=False), out / "index.png")
        images.append(_entry(out / "index.png", reports, reports / "index.html", "the index page's first screen"))

        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        clip = _section_clip(page, LOOP_TITLE)
        _save_png(page.screenshot(full_page=True, clip=clip), out / "closing_the_loop.png")
        images.append(_entry(out / "closing_the_loop.png", reports, report, "the section on last period's actions"))
        browser.close()
    return images


def _section_clip(page: Any, title: str) -> dict[str, float]:
    """The page area from the heading "Did last period's actions work?" to the next heading of its level (at most
    1,600 px), with any collapsed section around it opened."""
    box = page.evaluate(
        """(title) => {
            const heads = [...document.querySelectorAll('h1, h2, h3')];
            const head = heads.find(h => h.textContent.toLowerCase().includes(title.toLowerCase()));
            if (!head) return null;
            for (let d = head.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
            const level = head.tagName;
            const top = head.getBoundingClientRect().top + window.scrollY;
            // the next heading of the same or a higher level after it, in document order, that is shown
            const next = heads.slice(heads.indexOf(head) + 1).find(h => h.tagName <= level
                && !h.closest('details:not([open])') && h.getClientRects().length > 0);
            const box = head.closest('details');
            const end = box ? box.getBoundingClientRect().bottom + window.scrollY : top + 1600;
            const bottom = next ? Math.min(next.getBoundingClientRect().top + window.scrollY, end) : end;
            const main = head.parentElement.getBoundingClientRect();
            return {x: Math.max(0, main.left - 16), y: Math.max(0, top - 16),
                    width: Math.min(document.documentElement.clientWidth, main.width + 32),
                    height: Math.min(1600, bottom - top + 8)};
        }""",
        title,
    )
    if box is None:
        raise SystemExit(
            'error: the report has no section "Did last period\'s actions work?" (a month with the '
            "previous month's published actions is needed: params/monthly.yaml runs 2024-11..2024-12)"
        )
    return box


def _entry(image: Path, reports: Path, page: Path, what: str) -> dict[str, Any]:
    from PIL import Image

    with Image.open(image) as im:
        size = list(im.size)
    return {
        "file": image.name,
        "what": what,
        "page": page.relative_to(reports).as_posix(),
        "size": size,
        "sha256": sha256_file(image),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=ROOT / "params" / "monthly.yaml")
    parser.add_argument("--out", type=Path, default=DOCS, help="where the images and screenshots.json go")
    parser.add_argument("--jobs", type=int, default=None, help="parallel runs of the batch (default: the params')")
    parser.add_argument("--keep", type=Path, default=None, help="run the batch in this folder and keep it")
    parser.add_argument(
        "--rfmkit",
        type=Path,
        default=Path(sys.executable).with_name("rfmkit"),
        help="the rfmkit that runs the batch (default: this environment's; e.g. a runtime-only one of make report)",
    )
    args = parser.parse_args(argv)

    fingerprint = template_fingerprint()
    work = args.keep or Path(tempfile.mkdtemp(prefix="rfmkit-screenshots-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        reports, commands = _batch(args.params, work, args.jobs, args.rfmkit)
        if template_fingerprint() != fingerprint:
            raise SystemExit("error: the report template changed while the batch ran; run the script again")
        args.out.mkdir(parents=True, exist_ok=True)
        images = _capture(reports, args.out)
        period = _latest_report(reports).parent.parent.name
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    from analysis import __version__

    manifest = {
        "about": "Screenshots of a real batch by scripts/screenshots.py, checked by tests/test_screenshots.py",
        "template_sha256": fingerprint,
        "template_files": [p.relative_to(ROOT).as_posix() for p in template_files()],
        "captured": {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "params": args.params.resolve().relative_to(ROOT).as_posix()
            if args.params.resolve().is_relative_to(ROOT)
            else str(args.params),
            "period": period,
            "commands": commands,
            "rfmkit": __version__,
            "git_commit": _git("rev-parse", "HEAD"),
            "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
            "browser": "Debian chromium (Playwright), headless",
            "viewport": [VIEWPORT["width"], VIEWPORT["height"]],
        },
        "images": images,
    }
    (args.out / MANIFEST.name).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for image in images:
        print(f"==> {args.out / image['file']}  {image['size'][0]}×{image['size'][1]}  ({image['what']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
