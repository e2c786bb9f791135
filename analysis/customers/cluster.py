"""K-means clustering of customers on R, F, M (and CLV), named by the 8-class value model.

Method
------
1. Features: ``recency_days``, ``frequency``, ``monetary`` and, when present and ``use_clv`` allows,
   ``clv`` (negative CLV clipped to 0). Each is ``log1p``-transformed, then standardised.
2. For each k in ``k_range`` (both ends included) k-means is fitted (``n_init`` starts,
   ``random_state``); the silhouette score is computed on one fixed-seed sample of at most
   ``sample_size`` customers (the same sample for every k). The k with the highest silhouette
   wins (the smallest k on ties).
3. Clusters are relabelled 0..k-1 by mean monetary value, highest first, so labels are stable.
4. Profile: size, share of customers, share of revenue, mean R/F/M (and CLV) in original units.
5. Name: the cluster's mean R/F/M in original units is compared with the mean over all customers
   (R high = mean recency_days below the overall mean; F high / M high = above the mean) and
   mapped to the 8-class value model (:func:`analysis.customers.segments.value_class_flags`, the rule the
   customers' classes use). Duplicate names get a suffix " 1", " 2", ... in label order (highest monetary first).
6. Stability: the chosen k is refitted with ``n_stability_seeds`` seeds (``random_state + i``,
   same ``n_init``) and the mean pairwise adjusted Rand index between the labelings is reported
   (1 = identical partitions; above ~0.8 is usually considered stable).

Large customer bases
--------------------
With more than ``fit_sample_size`` customers, steps 2 and 6 run on a sample of exactly
``fit_sample_size`` customers drawn without replacement with ``random_state`` (the silhouette
sample is then drawn from that sample); the standardisation is fitted on all customers. The
chosen k-means model then assigns every customer (``predict``), and the relabelling (3), profile
(4), names (5) and snake data use all customers' labels. K-means on a random sample recovers the
same centres up to sampling noise, so the partition barely changes while the fitting cost stops
growing with the customer count. At or below ``fit_sample_size`` every customer is used, as before.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from analysis.customers.segments import VALUE_CLASSES, value_class_flags
from analysis.errors import InputError, NotFittedError, ParamsError

RFM_FEATURES: tuple[str, ...] = ("recency_days", "frequency", "monetary")


class RFMClusterer:
    """K-means on log-standardised RFM(+CLV), k chosen by silhouette; see the module docstring.

    Parameters
    ----------
    k_range : tuple of int, default=(2, 8)
        Smallest and largest k tried (inclusive).
    n_init : int, default=10
        K-means starts per k.
    random_state : int, default=0
        Seed for k-means, the silhouette sample and the stability seeds.
    sample_size : int, default=5000
        Silhouette is computed on at most this many customers (fixed-seed sample).
    use_clv : {"auto", True, False}, default="auto"
        Include ``clv`` as a feature: when present ("auto"), always (True; error if missing), never.
    n_stability_seeds : int, default=5
        Seeds used for the stability check (0 or 1 skips it).
    fit_sample_size : int or None, default=50000
        K-means (every start for every k, and the stability refits) is fitted on a seeded sample of
        this many customers when there are more, then every customer is assigned to its nearest
        centre; ``None`` always fits on every customer. Must exceed the largest k.
    n_threads : int or None, default=1
        BLAS and OpenMP threads for k-means and silhouette. One thread is fast at RFM sizes and
        avoids oversubscription when runs execute in parallel processes; ``None`` lets
        scikit-learn use every core.

    Attributes
    ----------
    features_ : list of str
    k_ : int
        Chosen number of clusters.
    silhouette_scores_ : Series
        Silhouette per k tried.
    labels_ : Series of int
        Cluster per customer (index ``customer_id``), 0 = highest mean monetary.
    names_ : Series of str
        Cluster name per customer (English 8-class name, with suffix when duplicated).
    centers_ : DataFrame
        Cluster centres in the standardised log space (k × features).
    profile_ : DataFrame
        Per cluster: ``name``, ``value_class``, ``value_class_en``, ``customers``,
        ``customer_share``, ``revenue_share``, mean ``recency_days``, ``frequency``, ``monetary``
        (currency) and ``clv`` (currency, NaN without CLV).
    scaler_ : StandardScaler
    kmeans_ : KMeans
        The fitted model for ``k_`` (its own label numbering; its ``labels_`` cover the fit sample).
    label_map_ : ndarray of int
        Maps ``kmeans_`` labels to the monetary-ordered labels.
    stability_ : float
        Mean pairwise adjusted Rand index across seeds (NaN when skipped).
    has_clv_ : bool
    n_fit_ : int
        Customers k-means was fitted on (all customers, or ``fit_sample_size`` when there are more).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> c = pd.DataFrame({"recency_days": rng.integers(1, 400, 300),
    ...                   "frequency": rng.integers(1, 20, 300),
    ...                   "monetary": rng.gamma(2, 100, 300)})
    >>> m = RFMClusterer(k_range=(2, 4), n_init=3).fit(c)
    >>> 2 <= m.k_ <= 4
    True
    """

    def __init__(
        self,
        k_range: tuple[int, int] = (2, 8),
        n_init: int = 10,
        random_state: int = 0,
        sample_size: int = 5000,
        use_clv: bool | str = "auto",
        n_stability_seeds: int = 5,
        n_threads: int | None = 1,
        fit_sample_size: int | None = 50_000,
    ) -> None:
        self.k_range = k_range
        self.n_init = n_init
        self.random_state = random_state
        self.sample_size = sample_size
        self.use_clv = use_clv
        self.n_stability_seeds = n_stability_seeds
        self.n_threads = n_threads
        self.fit_sample_size = fit_sample_size

    # -- helpers -------------------------------------------------------------------------------
    def _features(self, customers: pd.DataFrame) -> list[str]:
        missing = [c for c in RFM_FEATURES if c not in customers.columns]
        if missing:
            raise InputError(f"customer frame: missing column(s) {missing}; score them with analysis.customers.rfm")
        has_clv = "clv" in customers.columns and bool(customers["clv"].notna().all())
        if self.use_clv is True and not has_clv:
            raise InputError("clustering: use_clv=True but 'clv' is missing or has gaps; run the CLV models")
        return [*RFM_FEATURES, "clv"] if has_clv and self.use_clv in (True, "auto") else list(RFM_FEATURES)

    @staticmethod
    def _transform_raw(customers: pd.DataFrame, features: list[str]) -> np.ndarray:
        x = customers[features].astype(float).to_numpy()
        if np.isnan(x).any():
            bad = [f for f, col in zip(features, np.isnan(x).any(axis=0), strict=True) if col]
            raise InputError(f"clustering: column(s) {bad} have missing values; drop or fill those customers")
        return np.log1p(np.clip(x, 0, None))

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise NotFittedError("RFMClusterer is not fitted yet; call fit(customers) first")

    # -- API -----------------------------------------------------------------------------------
    def fit(self, customers: pd.DataFrame, y: None = None) -> RFMClusterer:
        """Choose k, fit k-means and build the profile.

        Parameters
        ----------
        customers : DataFrame
            Customer frame (index ``customer_id``) with ``recency_days``, ``frequency``,
            ``monetary`` and optionally ``clv``.
        y : None
            Ignored (scikit-learn convention).

        Returns
        -------
        RFMClusterer
            ``self``.
        """
        with threadpool_limits(limits=self.n_threads):
            return self._fit(customers)

    def _fit(self, customers: pd.DataFrame) -> RFMClusterer:
        k_min, k_max = self.k_range
        if not 2 <= k_min <= k_max:
            raise ParamsError(f"clustering: k_range must satisfy 2 <= k_min <= k_max, got {self.k_range}")
        features = self._features(customers)
        n = len(customers)
        if n <= k_min:
            raise InputError(f"clustering: {n} customers is too few for k >= {k_min}")
        k_max = min(k_max, n - 1)
        m_fit = self.fit_sample_size
        if m_fit is not None and m_fit <= k_max:
            raise ParamsError(f"clustering: fit_sample_size must exceed the largest k ({k_max}), got {m_fit}")
        raw = self._transform_raw(customers, features)
        scaler = StandardScaler().fit(raw)
        x = scaler.transform(raw)
        # above fit_sample_size customers, k-means sees a seeded sample and then assigns everyone
        if m_fit is not None and n > m_fit:
            fit_rows = np.sort(np.random.default_rng(self.random_state).choice(n, size=m_fit, replace=False))
            x_fit = x[fit_rows]
        else:
            x_fit = x
        n_fit = len(x_fit)
        scores: dict[int, float] = {}
        models: dict[int, KMeans] = {}
        # one fixed-seed sample for every k, so the scores are comparable; distances computed once
        rng = np.random.default_rng(self.random_state)
        idx = np.sort(rng.choice(n_fit, size=min(self.sample_size, n_fit), replace=False))
        dist = pairwise_distances(x_fit[idx].astype(np.float32))
        for k in range(k_min, k_max + 1):
            km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(x_fit)
            models[k] = km
            if len(np.unique(km.labels_[idx])) < 2:
                scores[k] = -1.0
                continue
            scores[k] = float(silhouette_score(dist, km.labels_[idx], metric="precomputed"))
        k_best = max(scores, key=lambda k: (scores[k], -k))
        km = models[k_best]
        raw_labels = km.labels_ if n_fit == n else km.predict(x)

        # relabel by mean monetary (over all customers), highest first
        mon = customers["monetary"].astype(float).to_numpy()
        # every cluster keeps its own sample members (labels_ come from a final assignment step), so none is empty
        means = np.array([mon[raw_labels == j].mean() for j in range(k_best)])
        order = np.argsort(-means, kind="stable")
        remap = np.empty(k_best, dtype=int)
        remap[order] = np.arange(k_best)
        labels = remap[raw_labels]

        self.features_ = features
        self.has_clv_ = "clv" in features
        self.scaler_ = scaler
        self.kmeans_ = km
        self.label_map_ = remap
        self.k_ = k_best
        self.silhouette_scores_ = pd.Series(scores, name="silhouette").rename_axis("k")
        self.labels_ = pd.Series(labels, index=customers.index, name="cluster")
        self.centers_ = pd.DataFrame(km.cluster_centers_[order], columns=features).rename_axis("cluster")
        self.profile_ = self._profile(customers, labels, k_best)
        self.names_ = self.labels_.map(self.profile_["name"]).rename("cluster_name")
        self.stability_ = self._stability(x_fit, k_best, km.labels_)
        self.n_fit_ = n_fit
        # with a fit sample, every customer's label is the model's prediction for its features: snake_data reuses
        # them for customers with these same features
        self._predicted = (raw, labels) if n_fit < n else None
        return self

    def _profile(self, customers: pd.DataFrame, labels: np.ndarray, k: int) -> pd.DataFrame:
        cols = [*RFM_FEATURES, *(("clv",) if "clv" in customers.columns else ())]
        df = customers[cols].astype(float).assign(cluster=labels)
        g = df.groupby("cluster")
        prof = g[cols].mean().reindex(range(k))
        if "clv" not in prof.columns:
            prof["clv"] = np.nan
        prof.insert(0, "customers", g.size())
        prof.insert(1, "customer_share", prof["customers"] / len(df))
        total = df["monetary"].sum()
        prof.insert(2, "revenue_share", g["monetary"].sum() / total if total > 0 else np.nan)
        flags = value_class_flags(prof, df[list(RFM_FEATURES)].mean())
        names = [VALUE_CLASSES[tuple(map(bool, f))] for f in flags.itertuples(index=False)]
        prof.insert(0, "value_class", [z for z, _ in names])
        prof.insert(1, "value_class_en", [e for _, e in names])
        en = pd.Series([e for _, e in names], index=prof.index)
        dup = en.duplicated(keep=False)
        suffix = en.groupby(en).cumcount() + 1
        prof.insert(0, "name", np.where(dup, en + " " + suffix.astype(str), en))
        prof.index.name = "cluster"
        return prof

    def _stability(self, x: np.ndarray, k: int, first: np.ndarray) -> float:
        """Mean pairwise adjusted Rand index of the fits with seeds ``random_state + i``; the first of them is the
        chosen model's own fit on the same rows (``first``, its labels), not fitted again."""
        if self.n_stability_seeds < 2:
            return float("nan")
        labelings = [first] + [
            KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state + i).fit_predict(x)
            for i in range(1, self.n_stability_seeds)
        ]
        return float(np.mean([adjusted_rand_score(a, b) for a, b in combinations(labelings, 2)]))

    def predict(self, customers: pd.DataFrame) -> pd.Series:
        """Cluster of new customers (same features as at fit time).

        Returns
        -------
        Series of int
            Index ``customer_id``; labels in the fitted (monetary-ordered) numbering.
        """
        self._check_fitted()
        x = self.scaler_.transform(self._transform_raw(customers, self.features_))
        raw = self.kmeans_.predict(x)
        return pd.Series(self.label_map_[raw], index=customers.index, name="cluster")

    def fit_predict(self, customers: pd.DataFrame, y: None = None) -> pd.Series:
        """``fit(customers).labels_``."""
        return self.fit(customers).labels_

    def snake_data(self, customers: pd.DataFrame) -> pd.DataFrame:
        """Mean standardised (z-score of log1p) feature per cluster, long format for a snake plot.

        Returns
        -------
        DataFrame
            Columns ``cluster``, ``name``, ``feature``, ``value``.
        """
        self._check_fitted()
        raw = self._transform_raw(customers, self.features_)
        x = self.scaler_.transform(raw)
        seen = getattr(self, "_predicted", None)
        same = seen is not None and np.array_equal(raw, seen[0])  # the same features: the same predictions
        cluster = seen[1] if same else self.label_map_[self.kmeans_.predict(x)]
        df = pd.DataFrame(x, columns=self.features_, index=customers.index)
        df["cluster"] = cluster
        means = df.groupby("cluster").mean().reset_index()
        long = means.melt("cluster", var_name="feature", value_name="value")
        long["name"] = long["cluster"].map(self.profile_["name"])
        return long[["cluster", "name", "feature", "value"]]
