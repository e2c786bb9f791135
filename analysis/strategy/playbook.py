"""Strategy playbook: load and validate a playbook (the bundled default is ``analysis/strategy/playbook.yaml``).

A playbook maps each of the 11 RFM segments to a *play* (objective, action, channel, offer,
budget per customer, expected uplift) and may override that play for customers in a given
lifecycle stage (``lifecycle:``) or carrying an early-warning flag (``warnings:``).

File layout
-----------
.. code-block:: yaml

    version: 1
    currency: CNY            # label only; every amount in the file is in this currency
    segments:                # every one of the 11 segments must be present, no others
      Champions:
        id: reward_champions          # slug: lower-case letters, digits, "_"; used for file names
        objective: {en: Keep them delighted, zh: 保持满意度}
        action: {en: Invite to the VIP programme, zh: 邀请加入VIP计划}
        channel: {en: Email, zh: 邮件}
        offer: {en: Early access, zh: 新品抢先购}
        budget_per_customer: 5.0      # currency per targeted customer
        uplift_rate: 0.03             # expected incremental share of the value at stake
        control_share: 0.10           # optional: share held out as a control group (0 <= x < 1)
    lifecycle:               # optional overrides, keys among new/active/dormant/lost/reactivated
      lost: {...same fields...}
    warnings:                # optional overrides, keys among churn_warning, service_recovery
      churn_warning: {...}
      service_recovery:       # valuable but unhappy customers (needs the feedback input, grading.feedback)
        id: service_recovery
        audience: {abc_class: [A], satisfaction: [unhappy]}   # who it reaches: value tier × satisfaction
        ...

The ``service_recovery`` play needs an ``audience``: the ABC tiers (and, optionally, the value classes) it reaches
and the satisfaction bands of :mod:`analysis.grading.satisfaction` (``unhappy``: a mean score below
``grading.unhappy_below`` or a complaint in the scoring window). Without a feedback input the kit cannot tell who
is unhappy, and the action says so instead of reaching nobody silently.

Text shown to readers (``objective``, ``action``, ``channel``, ``offer``) is bilingual: a mapping
with both ``en`` and ``zh``. ``id`` is the machine name of the action; two entries may share an
``id`` only when they are identical (that is how one action covers several segments).

Precedence when a customer matches several entries: ``warnings`` (``service_recovery`` before
``churn_warning``: an unhappy customer's complaint is fixed before any retention offer) > ``lifecycle`` >
``segments``.

Expected return (see :mod:`analysis.strategy.actions`): ``uplift_rate`` × value at stake, where the value at
stake is the customer's CLV when the CLV models ran and their monetary value otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from analysis.customers.segments import SEGMENT_ORDER
from analysis.errors import ParamsError, PlaybookError, format_validation_error
from analysis.params import read_yaml_file

#: The 11 RFM segments, best first (the value order of :mod:`analysis.customers.segments`, also used by
#: :mod:`analysis.customers.migration`).
SEGMENTS: tuple[str, ...] = SEGMENT_ORDER
#: Lifecycle stages that may carry an override (see :mod:`analysis.customers.lifecycle`).
LIFECYCLE_STAGES: tuple[str, ...] = ("new", "active", "dormant", "lost", "reactivated")
#: Early-warning flags that may carry an override (see :mod:`analysis.strategy.churn`).
WARNING_FLAGS: tuple[str, ...] = ("service_recovery", "churn_warning")

DEFAULT_PLAYBOOK = Path(__file__).resolve().parent / "playbook.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A text shown to readers, in English and Chinese."""

    en: Annotated[str, Field(min_length=1)]
    zh: Annotated[str, Field(min_length=1)]


class Audience(_Model):
    """Who a satisfaction play reaches: customers in one of ``abc_class`` (ABC tiers), in one of ``value_class``
    (value classes, any when omitted) and in one of the ``satisfaction`` bands over the scoring window."""

    abc_class: Annotated[list[Literal["A", "B", "C"]], Field(min_length=1)] = ["A"]
    value_class: Annotated[list[str], Field(min_length=1)] | None = None
    satisfaction: Annotated[list[Literal["unhappy", "neutral", "happy"]], Field(min_length=1)] = ["unhappy"]


class Play(_Model):
    """One action of the playbook.

    Parameters
    ----------
    id : str
        Machine name (slug) of the action, used for CSV file names and grouping.
    objective, action, channel, offer : Text
        Bilingual texts.
    budget_per_customer : float
        Spend per targeted customer, in the playbook's currency (>= 0).
    uplift_rate : float, default=0.0
        Expected incremental share of the value at stake that the action earns or saves (0–1). The
        measurement of :mod:`analysis.strategy.experiment` reads it as the increase in the probability that
        a targeted customer buys again.
    control_share : float, default=0.10
        Share of the action's customers held out at random as a control group (0 ≤ share < 1; 0 holds out
        nobody, so the action's effect cannot be measured).
    audience : Audience, optional
        Who the play reaches (the ``service_recovery`` warning play only, where it is required).
    """

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)]
    objective: Text
    action: Text
    channel: Text
    offer: Text
    budget_per_customer: Annotated[float, Field(ge=0)]
    uplift_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    control_share: Annotated[float, Field(ge=0, lt=1)] = 0.10
    audience: Audience | None = None


class Playbook(_Model):
    """A validated playbook; see the module docstring for the file layout."""

    version: int = 1
    currency: str = "CNY"
    segments: dict[str, Play]
    lifecycle: dict[str, Play] = {}
    warnings: dict[str, Play] = {}

    @model_validator(mode="after")
    def _check_keys(self) -> Playbook:
        problems = _key_problems(self.segments, self.lifecycle, self.warnings)
        for section, plays in (("segments", self.segments), ("lifecycle", self.lifecycle), ("warnings", self.warnings)):
            for key, play in plays.items():
                if play.audience is not None and key != "service_recovery":
                    problems.append(f"{section}.{key}.audience: only the service_recovery play has an audience")
        recovery = self.warnings.get("service_recovery")
        if recovery is not None and recovery.audience is None:
            problems.append("warnings.service_recovery.audience: missing; name who it reaches, e.g. "
                            "{abc_class: [A], satisfaction: [unhappy]}")  # fmt: skip
        seen: dict[str, Play] = {}
        for play in self.plays():
            if play.id in seen and seen[play.id] != play:
                problems.append(f"action id '{play.id}' is used for different plays; give each a unique id")
            seen.setdefault(play.id, play)
        if problems:
            raise ValueError("\n".join(dict.fromkeys(problems)))
        return self

    def plays(self) -> list[Play]:
        """Every play, segments first, then lifecycle and warning overrides."""
        return [*self.segments.values(), *self.lifecycle.values(), *self.warnings.values()]

    def by_id(self) -> dict[str, Play]:
        """Plays keyed by their action ``id``."""
        return {p.id: p for p in self.plays()}


def _key_problems(segments: Any, lifecycle: Any, warnings: Any) -> list[str]:
    """Unknown or missing segment/stage/flag names (checked on raw data too, so that every
    problem is reported at once)."""
    problems: list[str] = []
    if isinstance(segments, dict):
        unknown = [s for s in segments if s not in SEGMENTS]
        if unknown:
            problems.append(f"unknown segment(s) {unknown}; valid segments are {list(SEGMENTS)}")
        missing = [s for s in SEGMENTS if s not in segments]
        if missing:
            problems.append(f"segment(s) {missing} have no play; every segment must be covered")
    if isinstance(lifecycle, dict):
        bad = [s for s in lifecycle if s not in LIFECYCLE_STAGES]
        if bad:
            problems.append(f"unknown lifecycle stage(s) {bad}; valid: {list(LIFECYCLE_STAGES)}")
    if isinstance(warnings, dict):
        bad = [s for s in warnings if s not in WARNING_FLAGS]
        if bad:
            problems.append(f"unknown warning flag(s) {bad}; valid: {list(WARNING_FLAGS)}")
    return problems


def parse_playbook(data: Any, source: str = "<playbook>") -> Playbook:
    """Validate an already-parsed playbook mapping.

    Parameters
    ----------
    data : Any
        The mapping read from YAML.
    source : str, default="<playbook>"
        Name used in error messages (the file path).

    Returns
    -------
    Playbook

    Raises
    ------
    PlaybookError
        Naming ``source``, each offending field or segment, and the fix.
    """
    if not isinstance(data, dict):
        raise PlaybookError(f"{source}: a playbook must be a YAML mapping with a 'segments:' key")
    known = _key_problems(data.get("segments"), data.get("lifecycle"), data.get("warnings"))
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        unknown = "unknown field; remove it or check its spelling"
        raise PlaybookError(format_validation_error(exc, str(source), "playbook", unknown, known)) from None
    return playbook


def load_playbook(path: str | Path | None = None) -> Playbook:
    """Read and validate a playbook YAML file.

    Parameters
    ----------
    path : str or Path, optional
        The file; defaults to the bundled ``analysis/strategy/playbook.yaml``.

    Returns
    -------
    Playbook

    Raises
    ------
    PlaybookError
        If the file is missing, is not valid YAML, or fails validation (unknown segments or
        fields, a segment without a play, out-of-range numbers).
    """
    path = Path(path) if path is not None else DEFAULT_PLAYBOOK
    if not path.is_file():
        raise PlaybookError(f"{path}: playbook file not found; pass an existing YAML file")
    try:  # the kit's one reader of YAML settings: one-line errors for encodings, binary files, nesting, huge numbers
        data = read_yaml_file(path, "playbook")
    except ParamsError as err:
        raise PlaybookError(str(err)) from None
    return parse_playbook(data, source=str(path))
