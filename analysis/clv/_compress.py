"""Fast grouping of summary rows into their distinct rows (the compression every CLV fit and
prediction starts with).

A million customers have only tens of thousands of distinct (x, t_x, T) histories, so every
likelihood and prediction is computed once per distinct row and gathered. Grouping is done on
integer codes, not with a pandas ``groupby`` on floats:

* a column whose values are all whole multiples of ``1 / step`` (frequency: step 1; t_x and T:
  day counts divided by the unit length, so step = the unit's length in days) is coded exactly by
  ``round(value * step)``: the code is used only when ``round(value * step) / step`` gives back
  every value bit for bit, so two rows share a code exactly when their values are equal;
* any other column is coded with :func:`pandas.factorize` (hashing);
* the per-column codes are made dense and combined into one integer key per row, which is
  counted with :func:`numpy.bincount` when the key space is small and hashed otherwise.

The result does not depend on which path was taken (only the order of the distinct rows does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: largest |value * step| coded through the lattice path (exactly representable integers)
_MAX_LATTICE = 2.0**51


@dataclass(frozen=True)
class Grouped:
    """Distinct rows of some columns, with per-column levels and codes.

    Attributes
    ----------
    values : dict of str to ndarray
        Each column's value in every distinct row (length ``n_unique``).
    levels : dict of str to ndarray
        Each column's distinct values (sorted on the lattice path, in order of first appearance
        otherwise).
    codes : dict of str to ndarray of int
        ``levels[c][codes[c]] == values[c]``.
    weights : ndarray
        Sum of the row weights of each distinct row.
    inverse : ndarray of int
        For each original row, the index of its distinct row (empty when not asked for).
    """

    values: dict[str, np.ndarray]
    levels: dict[str, np.ndarray]
    codes: dict[str, np.ndarray]
    weights: np.ndarray
    inverse: np.ndarray

    @property
    def n_unique(self) -> int:
        return len(self.weights)


def column_codes(values: np.ndarray, step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dense integer codes of ``values`` and the distinct values: ``levels[codes] == values``.

    ``step`` (e.g. 7.0 for times in weeks built from day counts) enables the exact lattice path
    described in the module docstring; without it, or when the values are not on the lattice,
    :func:`pandas.factorize` is used.
    """
    v = np.asarray(values, dtype=float)
    if step is not None and v.size:
        lattice = _lattice_codes(v, float(step))
        if lattice is not None:
            return lattice
    codes, levels = pd.factorize(v, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), np.asarray(levels, dtype=float)


def _lattice_codes(v: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray] | None:
    with np.errstate(all="ignore"):
        scaled = np.multiply(v, step)
        np.rint(scaled, out=scaled)
        lo, hi = float(scaled.min()), float(scaled.max())
        if not (abs(lo) < _MAX_LATTICE and abs(hi) < _MAX_LATTICE) or hi - lo > max(4 * v.size, 1 << 16):
            return None
        back = np.divide(scaled, step)
        if not np.array_equal(back, v):
            return None
    np.subtract(scaled, lo, out=scaled)
    raw = scaled.astype(np.int32 if hi - lo < 2**31 - 1 else np.int64)
    present = np.bincount(raw, minlength=int(hi - lo) + 1) > 0
    levels = (np.flatnonzero(present) + lo) / step
    if len(levels) == len(present):
        return raw, levels
    rank = dense_ranks(present, raw.dtype)[1]
    return rank[raw], levels


def dense_ranks(present: np.ndarray, dtype: type = np.int64) -> tuple[np.ndarray, np.ndarray]:
    """``(np.flatnonzero(present), rank)`` with ``rank[k]`` the position of ``k`` among the present keys (defined
    only where ``present``): a scatter over the present keys instead of a cumulative sum over the whole key space,
    several times cheaper when few keys of a large space are present."""
    keys = np.flatnonzero(present)
    rank = np.empty(len(present), dtype=dtype)
    rank[keys] = np.arange(len(keys), dtype=dtype)
    return keys, rank


def _group_keys(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> tuple[np.ndarray, list[int]] | None:
    """One integer key per row (mixed radix of the codes), or None when the key space is too large."""
    space = 1
    for size in sizes:
        space *= max(int(size), 1)
    if space >= 2**62:
        return None
    dtype = np.int32 if space < 2**31 else np.int64
    key = codes[0].astype(dtype, copy=True)
    for c, size in zip(codes[1:], sizes[1:], strict=True):
        key *= max(int(size), 1)
        key += c
    return key, [max(int(s), 1) for s in sizes]


def _decode(keys: np.ndarray, radices: list[int]) -> list[np.ndarray]:
    """Per-column codes of mixed-radix ``keys`` (inverse of :func:`_group_keys`)."""
    out = []
    rest = keys.astype(np.int64)
    for size in reversed(radices[1:]):
        rest, digit = np.divmod(rest, size)
        out.append(digit)
    out.append(rest)
    return out[::-1]


def group_rows(
    columns: Mapping[str, np.ndarray],
    steps: Mapping[str, float | None] | None = None,
    weights: np.ndarray | None = None,
    with_inverse: bool = True,
) -> Grouped:
    """Distinct rows of ``columns`` (equal-length arrays) with summed ``weights`` (default 1 each).

    ``with_inverse=False`` skips the row -> distinct row map (``inverse`` is then empty), which a
    fit does not need.
    """
    steps = steps or {}
    per_col = {c: column_codes(columns[c], steps.get(c)) for c in columns}
    return group_codes(per_col, weights, with_inverse)


def group_codes(
    per_col: Mapping[str, tuple[np.ndarray, np.ndarray]],
    weights: np.ndarray | None = None,
    with_inverse: bool = True,
) -> Grouped:
    """:func:`group_rows` from each column's (codes, levels) of :func:`column_codes`, made once and shared by
    several groupings (e.g. frequency's codes by the (x, t_x, T) and the (x, monetary_value) groupings)."""
    names = list(per_col)
    codes = [per_col[c][0] for c in names]
    sizes = [len(per_col[c][1]) for c in names]
    n = len(codes[0])
    w = None if weights is None else np.asarray(weights, dtype=float)
    keyed = _group_keys(codes, sizes)
    inverse = np.empty(0, dtype=np.int64)
    if keyed is not None and keyed[0].size and int(np.prod(keyed[1], dtype=float)) <= max(4 * n, 1 << 16):
        key, radices = keyed
        counts = np.bincount(key, weights=w, minlength=int(np.prod(radices)))
        present = np.bincount(key, minlength=len(counts)) > 0 if w is not None else counts > 0
        group_keys, remap = dense_ranks(present)
        total = counts[group_keys]
        if with_inverse:
            inverse = remap[key]
        group_codes = _decode(group_keys, radices)
    else:
        if keyed is not None:
            key, radices = keyed
            inv, group_keys = pd.factorize(key)
            group_codes = _decode(np.asarray(group_keys), radices)
        else:
            frame = pd.DataFrame({i: c for i, c in enumerate(codes)})
            inv = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
            first = np.empty(int(inv.max()) + 1 if n else 0, dtype=np.int64)
            first[inv] = np.arange(n)
            group_codes = [c[first] for c in codes]
        inverse = inv.astype(np.int64, copy=False)
        total = np.bincount(inverse, weights=w, minlength=len(group_codes[0])).astype(float)
    codes_u = dict(zip(names, group_codes, strict=True))
    levels = {c: per_col[c][1] for c in names}
    values = {c: levels[c][codes_u[c]] for c in names}
    return Grouped(values=values, levels=levels, codes=codes_u, weights=total.astype(float), inverse=inverse)


def each_row(
    columns: Mapping[str, np.ndarray],
    steps: Mapping[str, float | None] | None = None,
    weights: np.ndarray | None = None,
) -> Grouped:
    """The rows of ``columns`` as they are, in :class:`Grouped` form (row ``i`` is "distinct row" ``i``), for a
    model whose likelihood reduces its rows itself (Gamma-Gamma: to its distinct x and distinct total spends
    x m), so that grouping them first would be a second pass for nothing. A column with a ``steps`` entry gets
    its levels and codes (:func:`column_codes`); any other column is its own levels (codes ``0 .. n-1``)."""
    steps = steps or {}
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    values = {c: np.asarray(columns[c], dtype=float) for c in names}
    levels, codes = {}, {}
    for c in names:
        if c in steps:
            codes[c], levels[c] = column_codes(values[c], steps[c])
        else:
            codes[c], levels[c] = np.arange(n), values[c]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    return Grouped(values=values, levels=levels, codes=codes, weights=w, inverse=np.arange(n))


def unique_inverse(keys: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.unique(keys, return_inverse=True)`` for non-negative integer ``keys`` below ``space``: by counting
    when the key space is small (no sort), else by numpy's sort. Same result either way."""
    keys = np.asarray(keys)
    if keys.size and space <= max(4 * keys.size, 1 << 16):
        uniq, remap = dense_ranks(np.bincount(keys, minlength=int(space)) > 0)
        return uniq, remap[keys]
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, inv.reshape(-1)


def lattice_group(
    columns: Mapping[str, np.ndarray], steps: Mapping[str, float], weights: np.ndarray | None = None
) -> Grouped | None:
    """:func:`group_rows` with inverse in one counting pass when every column is on its lattice (see the module
    docstring) and the product of the columns' ranges is small: each column's lattice index (not made dense) is
    one digit of the row's key. The same :class:`Grouped` as :func:`group_rows` (rows in key order, levels the
    values present), or None when the columns do not allow it (the caller then uses :func:`group_rows`)."""
    names = list(columns)
    n = len(columns[names[0]])
    if n == 0:
        return None
    # the key is built in float64 (exact: whole numbers below 2**53) in one buffer, the columns read through two
    # scratch buffers: about ten passes over each column and no temporary arrays
    los, sizes = [], []
    fkey, buf, back, same = None, np.empty(n), np.empty(n), np.empty(n, dtype=bool)
    with np.errstate(all="ignore"):
        for c in names:
            v = np.asarray(columns[c], dtype=float)
            step = float(steps[c])
            if step == 1.0:
                np.rint(v, out=buf)
                np.equal(buf, v, out=same)
            else:
                np.multiply(v, step, out=buf)
                np.rint(buf, out=buf)
                np.divide(buf, step, out=back)
                np.equal(back, v, out=same)
            lo, hi = float(buf.min()), float(buf.max())
            if not (abs(lo) < _MAX_LATTICE and abs(hi) < _MAX_LATTICE) or not same.all():
                return None
            los.append(lo)
            sizes.append(int(hi - lo) + 1)
            if fkey is None:
                fkey = np.subtract(buf, lo)
            else:
                fkey *= sizes[-1]
                buf -= lo
                fkey += buf
    space = int(np.prod(sizes, dtype=float))
    if space > max(4 * n, 1 << 16):
        return None
    # numpy's index type for the key and the row -> distinct row map: bincount and gathers convert any other
    # integer type to it first (a 32-bit map costs a conversion pass at every gather through it)
    dtype = np.intp
    key = fkey.astype(dtype)
    w = None if weights is None else np.asarray(weights, dtype=float)
    counts = np.bincount(key, weights=w, minlength=space)
    present = np.bincount(key, minlength=space) > 0 if w is not None else counts > 0
    group_keys, remap = dense_ranks(present, dtype)
    inverse = remap[key]
    digits = _decode(group_keys, sizes)
    values, levels, codes = {}, {}, {}
    for c, digit, lo, size in zip(names, digits, los, sizes, strict=True):
        step = float(steps[c])
        used = np.bincount(digit, minlength=size) > 0
        levels[c] = (np.flatnonzero(used) + lo) / step
        codes[c] = dense_ranks(used)[1][digit]
        values[c] = levels[c][codes[c]]
    return Grouped(values=values, levels=levels, codes=codes, weights=counts[group_keys].astype(float), inverse=inverse)
