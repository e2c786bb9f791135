"""Save and load fitted CLV models as JSON (never pickles).

One format for a fitted model everywhere: :meth:`~analysis.clv._base.BaseFitter.to_dict` (model name, time unit,
parameters, log-likelihood, standard errors, covariance, customers, penalizer and any model extras). A model file
holds one such mapping; ``rfmkit clv``'s ``params.json`` holds one per model, each loadable with
:func:`model_from_dict`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.clv._base import BaseFitter
from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.data.io import json_safe, write_json
from analysis.errors import InputError

#: model name in the JSON -> class
MODELS: dict[str, type[BaseFitter]] = {cls.model_name: cls for cls in (BGNBD, ModifiedBGNBD, ParetoNBD, GammaGamma)}


def model_from_dict(state: dict[str, Any]) -> BaseFitter:
    """Rebuild any fitted model from its :meth:`~analysis.clv._base.BaseFitter.to_dict` output."""
    name = state.get("model") if isinstance(state, dict) else None
    if name not in MODELS:
        raise InputError(f"unknown CLV model {name!r} in saved parameters; known: {sorted(MODELS)}")
    return MODELS[name].from_dict(state)


def model_to_dict(model: BaseFitter) -> dict[str, Any]:
    """A fitted model as strict-JSON-able data (:meth:`~analysis.clv._base.BaseFitter.to_dict`, NaN as null)."""
    return json_safe(model.to_dict())


def save_model(model: BaseFitter, path: str | Path) -> Path:
    """Write a fitted model (:func:`model_to_dict`) to a JSON file, atomically."""
    return write_json(model_to_dict(model), path, sort_keys=False)


def load_model(path: str | Path) -> BaseFitter:
    """Load a model written by :func:`save_model` (the class is read from the file)."""
    path = Path(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read CLV model file {path}: {exc}") from None
    return model_from_dict(state)
