"""Logging: what the batch and the kernels report through the standard ``logging`` module, and the CLI flags."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from analysis.batch.kernels import KernelStartError, NotebookJob, execute_notebooks
from analysis.batch.runner import run_batch
from analysis.cli import main
from analysis.logs import level_for


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("params_path = ''\nperiod = ''\nregion = ''\nrun_dir = ''\nclean_dir = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print('hello from', period)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def test_a_kernel_that_fails_to_start_is_retried_and_logged(tmp_path: Path, caplog) -> None:
    job = NotebookJob("01_cleaning", _notebook(tmp_path / "nb.ipynb"), tmp_path / "out.ipynb", {})
    caplog.set_level(logging.WARNING, logger="analysis")
    with pytest.raises(KernelStartError, match="2 attempts"):
        execute_notebooks([job], kernel_name="no-such-kernel", start_timeout=10)
    retries = [r for r in caplog.records if r.name == "analysis.batch.kernels" and r.levelno == logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in retries] == [
        "kernel 'no-such-kernel' failed to start (attempt 1 of 2)",
        "kernel 'no-such-kernel' failed to start (attempt 2 of 2)",
    ]
    assert retries[0].getMessage().endswith("retrying") and retries[1].getMessage().endswith("giving up")


@pytest.mark.slow
def test_a_batch_logs_its_run_with_timings_then_the_skip(tmp_path: Path, caplog) -> None:
    notebooks = tmp_path / "notebooks"
    _notebook(notebooks / "01_cleaning.ipynb")
    params = tmp_path / "p.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "source": {"format": "sample", "sample": {"customers": 200, "seed": 3}},
                "periods": {"start": "2024-12", "end": "2024-12"},
                "notebooks_dir": str(notebooks),
                "notebooks": ["01_cleaning"],
                "output_dir": str(tmp_path / "reports"),
                "execution": {"jobs": 1, "timeout_seconds": 120},
            }
        )
    )
    caplog.set_level(logging.DEBUG, logger="analysis")
    first = run_batch(params, regions=["all"], progress=False)
    assert [r.status for r in first.runs] == ["ok"]
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    assert any(
        n == "analysis.data.store" and m.startswith("cleaned the source in") and "rows in" in m for n, m in messages
    )
    assert any(n == "analysis.batch.runner" and m.startswith("run 2024-12/all ok in") for n, m in messages)
    # records logged in the worker process arrive here, under their own logger names
    assert any(n == "analysis.batch.kernels" and m.startswith("notebook 01_cleaning ran in") for n, m in messages)
    assert any(n == "analysis.batch.kernels" and m.startswith("kernel 'python3' started") for n, m in messages)

    caplog.clear()
    second = run_batch(params, regions=["all"], progress=False)
    assert [r.status for r in second.runs] == ["skipped"]
    skipped = [r for r in caplog.records if r.getMessage().startswith("run 2024-12/all skipped")]
    assert len(skipped) == 1 and skipped[0].levelno == logging.INFO
    assert any(r.getMessage().startswith("cleaned data unchanged, reused") for r in caplog.records)


@pytest.fixture
def package_logger():
    logger = logging.getLogger("analysis")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


def test_verbose_and_quiet_set_the_package_level(package_logger: logging.Logger) -> None:
    assert (level_for(), level_for(1), level_for(2), level_for(0, quiet=True)) == (
        logging.WARNING,
        logging.INFO,
        logging.DEBUG,
        logging.ERROR,
    )
    runner = CliRunner()
    assert runner.invoke(main, ["-vv", "datasets"]).exit_code == 0
    assert package_logger.level == logging.DEBUG
    assert runner.invoke(main, ["-q", "datasets"]).exit_code == 0
    assert package_logger.level == logging.ERROR
    handlers = [h for h in package_logger.handlers if getattr(h, "_rfmkit", False)]
    assert len(handlers) == 1  # configuring twice replaces the handler, never stacks them


def test_warnings_are_one_line_the_kits_shown_others_logged(capsys, caplog) -> None:
    """On the command line a warning of the kit is 'warning: <text>' on one line; a library's goes to DEBUG."""
    import analysis.clv.pipeline as kit_module
    from analysis.logs import show_warning

    caplog.set_level(logging.WARNING, logger="analysis")  # as rfmkit without -v/-q (an earlier -q test set ERROR)
    show_warning(UserWarning("Gamma-Gamma: r = 0.32;\n  the model\tassumes independence"), UserWarning,
                 kit_module.__file__, 204)  # fmt: skip
    assert capsys.readouterr().err == "warning: Gamma-Gamma: r = 0.32; the model assumes independence\n"
    with caplog.at_level(logging.DEBUG, logger="analysis"):
        show_warning(FutureWarning("a pandas deprecation"), FutureWarning, pytest.__file__, 1)
    assert "warning:" not in capsys.readouterr().err  # (a log handler of an earlier rfmkit call may echo the record)
    assert [r.getMessage() for r in caplog.records] == ["a pandas deprecation (FutureWarning)"]
