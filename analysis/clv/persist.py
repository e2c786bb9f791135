"""Save and load fitted CLV models as JSON (never pickles)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.clv._base import BaseFitter
from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.errors import InputError

#: model name in the JSON -> class
MODELS: dict[str, type[BaseFitter]] = {cls.model_name: cls for cls in (BGNBD, ModifiedBGNBD, ParetoNBD, GammaGamma)}


def model_from_dict(state: dict[str, Any]) -> BaseFitter:
    """Rebuild any fitted model from its :meth:`~analysis.clv._base.BaseFitter.to_dict` output."""
    name = state.get("model") if isinstance(state, dict) else None
    if name not in MODELS:
        raise InputError(f"unknown CLV model {name!r} in saved parameters; known: {sorted(MODELS)}")
    return MODELS[name].from_dict(state)


def save_model(model: BaseFitter, path: str | Path) -> Path:
    """Write a fitted model's parameters, errors and time unit to a JSON file."""
    path = Path(path)
    path.write_text(model.to_json() + "\n", encoding="utf-8")
    return path


def load_model(path: str | Path) -> BaseFitter:
    """Load a model written by :func:`save_model` (the class is read from the file)."""
    path = Path(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read CLV model file {path}: {exc}") from None
    return model_from_dict(state)
