"""Small checks of the batch runner's interface and of what a failed run keeps (no kernel started here)."""

from __future__ import annotations

import inspect

from analysis.batch.runner import execute_run


def test_execute_run_takes_the_validated_params_only() -> None:
    # the notebooks read the params as validated once (_executed/params.json), never the YAML file: no path to it
    assert list(inspect.signature(execute_run).parameters) == [
        "spec", "params_data", "clean_dir", "fingerprint", "on_event", "keep_kernel",
    ]  # fmt: skip
