"""Regions: how people write a run's region, the all-regions run, and the folder each region's runs live in.

A run covers one data region, or all regions together (:data:`ALL_REGIONS`). People write regions on the command
line (``--region``), in a notebook's ``region`` parameter and in ``params.regions``: there ``all`` means all regions
and ``region:all`` the data region literally named ``all`` (:func:`parse_region` reads what they wrote,
:func:`region_name` writes a region back). A sales rep's run (params ``reps``) is written ``rep:<name>``
(:func:`rep_run`): it holds only the rep's customers and deals, as a region's run holds only the region's (a data
region literally named ``rep:x`` is written ``region:rep:x``).

Folders (:func:`region_folder`): the all-regions run lives in ``all`` (reserved). A region whose name is already a
plain folder name (letters, digits, ``.``, ``-``, ``_``, not starting with ``.`` or ``_``, not a reserved or Windows
device name) keeps it: ``North`` → ``North``. Any other name becomes a slug plus ``~`` and six hex characters of its
SHA-256: ``a/b`` → ``a_b~c1f0e2``, ``a b`` → ``a_b~6c4e11``, a region literally named ``all`` → ``all~…``. Plain
names never contain ``~``, so a plain name can never equal a hashed one, and two hashed names differ unless their
SHA-256 prefixes do.
"""

from __future__ import annotations

import hashlib
import re

from analysis.filenames import is_device_name

#: The all-regions run. Not a text a data region can hold: cleaned text never contains control characters
#: (:data:`analysis.contract.CONTROL_CHARACTERS`), so a region literally named ``all`` is a region like any other.
ALL_REGIONS = "\x1fall"
#: How people write the all-regions run.
ALL_REGIONS_NAME = "all"
#: Prefix that makes a written region literal: ``region:all`` is the data region named ``all``.
LITERAL_REGION = "region:"
#: The folder of the all-regions run.
ALL_FOLDER = "all"
#: How people write a rep's run (params ``reps``): ``rep:<name>`` holds the rep's customers and deals only.
REP_PREFIX = "rep:"
#: A rep's run, as the runner holds it (a control character no cleaned text holds, like :data:`ALL_REGIONS`).
_REP_RUN = "\x1frep:"

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Folder names the batch uses itself (Windows device names are refused too: :mod:`analysis.filenames`).
_RESERVED = {ALL_FOLDER, "index.html"}


def parse_region(written: str | None) -> str:
    """The run region a person wrote: ``all`` (or nothing) → :data:`ALL_REGIONS`; ``region:<name>`` → ``<name>``
    (so a data region literally named ``all`` is written ``region:all``); anything else is a data region."""
    if written is None or written in ("", ALL_REGIONS_NAME, ALL_REGIONS):
        return ALL_REGIONS
    written = str(written)
    if written.startswith(REP_PREFIX) and len(written) > len(REP_PREFIX):
        return rep_run(written[len(REP_PREFIX) :])
    return written[len(LITERAL_REGION) :] if written.startswith(LITERAL_REGION) else written


def rep_run(rep: str) -> str:
    """The run of sales rep ``rep`` (params ``reps``; written ``rep:<name>``): the rep's customers and deals."""
    return _REP_RUN + str(rep)


def run_rep(region: str) -> str | None:
    """The sales rep of a rep's run (:func:`rep_run`), or None for a region's or the all-regions run."""
    return region[len(_REP_RUN) :] if isinstance(region, str) and region.startswith(_REP_RUN) else None


def region_name(region: str) -> str:
    """How to write ``region`` so :func:`parse_region` reads it back: ``all`` for all regions, ``region:all`` for
    the data region named ``all`` (and for any name that starts with ``region:``), else the name itself."""
    if region == ALL_REGIONS:
        return ALL_REGIONS_NAME
    if (rep := run_rep(region)) is not None:
        return REP_PREFIX + rep
    if region == ALL_REGIONS_NAME or region.startswith((LITERAL_REGION, REP_PREFIX)):
        return LITERAL_REGION + region
    return region


def region_folder(region: str, *, all_regions: bool = False) -> str:
    """The folder name of a run's region (``all`` for the all-regions run); see the module docstring."""
    if all_regions:
        return ALL_FOLDER
    name = str(region)
    if _PLAIN.match(name) and name.lower() not in _RESERVED and not is_device_name(name):
        return name
    slug = re.sub(r"[^\w.-]+", "_", name, flags=re.ASCII).strip("._")[:40] or "region"
    return f"{slug}~{hashlib.sha256(name.encode('utf-8')).hexdigest()[:6]}"


def region_slug(region: str) -> str:
    """The run folder name of a run region (``all`` for :data:`ALL_REGIONS`, ``rep~<folder of the name>`` for a rep's
    run): distinct regions always get distinct folders (:func:`region_folder`; plain names never hold ``~``)."""
    if (rep := run_rep(region)) is not None:
        return "rep~" + region_folder(rep)
    return region_folder(region, all_regions=region == ALL_REGIONS)
