"""Seeded K-means on prompt embeddings (numpy, k-means++ init, best of ``n_init`` runs), and ensembles of clusterings.

An ensemble stacks ``B`` clusterings of ``k`` clusters each (different seeds) into one (B * k, d)
centroid array; block ``b`` holds rows ``b * k`` to ``(b + 1) * k``. Averaging a cluster-based
estimate over the blocks smooths the arbitrary cluster boundaries of any single run.
"""

from __future__ import annotations

import numpy as np

from routellm_plugins.errors import ConfigError


def sq_distances(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (len(x), len(centroids))."""
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(centroids, dtype=np.float64)
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def assign(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid for each row of ``x``."""
    return np.argmin(sq_distances(x, centroids), axis=1)


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centers = [x[rng.integers(len(x))]]
    d = sq_distances(x, np.array(centers))[:, 0]
    for _ in range(1, k):
        total = d.sum()
        idx = rng.integers(len(x)) if total <= 0 else rng.choice(len(x), p=d / total)
        centers.append(x[idx])
        d = np.minimum(d, sq_distances(x, x[idx : idx + 1])[:, 0])
    return np.array(centers)


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 4, max_iter: int = 100, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Fit K-means; return (centroids (k, d) float32, labels (n,)). Deterministic for a given seed."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ConfigError(f"kmeans needs a non-empty (n, d) array, got shape {x.shape}")
    if not isinstance(k, (int, np.integer)) or k < 1 or k > len(x):
        raise ConfigError(f"number of clusters k must be an integer in [1, {len(x)}] (the number of prompts), got {k!r}")
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(max(1, n_init)):
        c = _plus_plus(x, int(k), rng)
        prev = np.inf
        for _ in range(max_iter):
            d = sq_distances(x, c)
            labels = np.argmin(d, axis=1)
            inertia = float(d[np.arange(len(x)), labels].sum())
            for j in range(len(c)):
                members = x[labels == j]
                if len(members):
                    c[j] = members.mean(0)
                else:  # re-seed an empty cluster at the point worst served
                    c[j] = x[int(np.argmax(d[np.arange(len(x)), labels]))]
            if prev - inertia <= tol * max(prev, 1e-12):
                break
            prev = inertia
        d = sq_distances(x, c)
        labels = np.argmin(d, axis=1)
        inertia = float(d[np.arange(len(x)), labels].sum())
        if best is None or inertia < best[0]:
            best = (inertia, c.copy(), labels)
    assert best is not None
    return best[1].astype(np.float32), best[2]


def parent_groups(centroids: np.ndarray, seed: int = 0) -> np.ndarray:
    """Group K clusters into about sqrt(K) parents (K-means on the centroids); one parent when K < 4."""
    c = np.asarray(centroids, dtype=np.float64)
    if len(c) < 4:
        return np.zeros(len(c), dtype=int)
    _, labels = kmeans(c, max(2, int(round(np.sqrt(len(c))))), seed=seed)
    return labels.astype(int)


def ensemble_seed(seed: int, block: int) -> int:
    """The K-means seed of clustering ``block`` of an ensemble started with ``seed``."""
    return int(seed) + 1000 * int(block)


def kmeans_ensemble(x: np.ndarray, k: int, n_clusterings: int = 1, *, seed: int = 0) -> np.ndarray:
    """``n_clusterings`` K-means runs (seeds :func:`ensemble_seed`) stacked: centroids (n_clusterings * k, d) float32.

    One clustering keeps the best of 4 initialisations; in an ensemble each member has one (the ensemble averages them).
    """
    if not isinstance(n_clusterings, (int, np.integer)) or n_clusterings < 1:
        raise ConfigError(f"n_clusterings must be an integer >= 1, got {n_clusterings!r}")
    n_init = 4 if n_clusterings == 1 else 1
    return np.concatenate([kmeans(x, k, seed=ensemble_seed(seed, b), n_init=n_init)[0] for b in range(int(n_clusterings))])


def blocks(centroids: np.ndarray, n_clusterings: int) -> list[np.ndarray]:
    """The centroid array of an ensemble split into its clusterings."""
    c = np.asarray(centroids)
    if n_clusterings < 1 or len(c) % n_clusterings:
        raise ConfigError(f"{len(c)} centroids cannot form {n_clusterings} clusterings of equal size")
    return np.split(c, n_clusterings)


def assign_ensemble(x: np.ndarray, centroids: np.ndarray, n_clusterings: int) -> np.ndarray:
    """Nearest centroid of each row in every clustering, shape (n_clusterings, len(x)), block-local indices."""
    return np.stack([assign(x, c) for c in blocks(centroids, n_clusterings)])
