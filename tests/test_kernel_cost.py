"""What keeps a batch kernel's CPU down without changing a report: one BLAS thread per kernel, one draw per chart."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analysis.batch.kernels import KERNEL_BLAS_THREADS, kernel_env

ROOT = Path(__file__).resolve().parents[1]


def test_kernels_get_one_blas_thread_unless_the_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KERNEL_BLAS_THREADS:
        monkeypatch.delenv(name, raising=False)
    env = kernel_env()
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1"
    assert env["PYDEVD_DISABLE_FILE_VALIDATION"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")  # a user's own setting wins
    monkeypatch.setenv("RFMKIT_SOME_SETTING", "kept")
    env = kernel_env()
    assert env["OPENBLAS_NUM_THREADS"] == "3" and env["RFMKIT_SOME_SETTING"] == "kept"


#: In a fresh interpreter (an IPython shell must not be left in the test process): the inline backend as a notebook
#: has it, the hooks put in order, then a cell that makes a chart. Prints whether IPython and matplotlib registered
#: the redraw first, the post-execute hooks after, and how many figures were still open each time pyplot's REPL hook
#: went to redraw them.
SCRIPT = textwrap.dedent(
    """
    from IPython.core.interactiveshell import InteractiveShell
    import matplotlib.pyplot as plt
    from matplotlib._pylab_helpers import Gcf
    from analysis.report.plots.style import _flush_before_redraw

    class Shell(InteractiveShell):
        def enable_gui(self, gui=None):  # a notebook kernel's inline backend has no GUI event loop to start
            pass

    shell = Shell.instance()
    shell.run_line_magic("matplotlib", "inline")
    names = lambda: [getattr(h, "__name__", "") for h in shell.events.callbacks["post_execute"]]
    before = names()
    _flush_before_redraw(shell)
    _flush_before_redraw(shell)  # a second call (every notebook's set-up makes one) changes nothing
    shell.run_line_magic("matplotlib", "inline")  # nor does the magic run again
    open_figures = []
    draw_all = plt.draw_all  # what pyplot's REPL hook calls
    plt.draw_all = lambda *a, **k: (open_figures.append(len(Gcf.get_all_fig_managers())), draw_all(*a, **k))[1]
    shell.run_cell("import matplotlib.pyplot as plt; plt.plot([1, 2])")
    print(before.index("_draw_all_if_interactive") < before.index("flush_figures"))
    print([n for n in names() if n in ("flush_figures", "_draw_all_if_interactive")], open_figures)
    """
)


@pytest.mark.slow  # a fresh interpreter importing IPython, matplotlib and seaborn: a few seconds
def test_a_chart_is_not_redrawn_after_its_cell() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=120, check=True
    ).stdout.splitlines()
    assert out[-2] == "True"  # as IPython and matplotlib set them up: the redraw first
    # now the figures are sent and closed first: the redraw finds none
    assert out[-1] == "['flush_figures', '_draw_all_if_interactive'] [0]"
